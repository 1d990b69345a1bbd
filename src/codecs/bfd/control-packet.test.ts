import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BfdDiag, BfdState, checkForSession, decodeControl, encodeControl, type BfdControlPacket } from './control-packet.js';

// Copies into a fresh Uint8Array: Buffer.slice is a view, and fixtures must stay pristine.
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+|#[^\n]*/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// A Down packet as FRR bfdd sends it before it learns the peer (slow 1 s TX, 300 ms RX).
const downHello = hex(`
  20        # Vers 1 (001), Diag 0 (00000)
  40        # Sta Down (01), P0 F0 C0 A0 D0 M0
  03        # Detect Mult 3
  18        # Length 24
  00000001  # My Discriminator 1
  00000000  # Your Discriminator 0 (unknown yet)
  000f4240  # Desired Min TX 1,000,000 us
  000493e0  # Required Min RX 300,000 us
  0000c350  # Required Min Echo RX 50,000 us
`);

// An Up packet polling for a timer change, diag "neighbor signaled session down" left over.
const upPoll = hex(`
  23        # Vers 1, Diag 3 (neighbor signaled session down)
  e8        # Sta Up (11), P1 F0 C1 A0 D0 M0
  05        # Detect Mult 5
  18        # Length 24
  c0ffee01  # My Discriminator
  0000002a  # Your Discriminator 42
  000186a0  # Desired Min TX 100,000 us
  000186a0  # Required Min RX 100,000 us
  00000000  # Required Min Echo RX 0 (no echo)
`);

// Final reply with a simple-password authentication section (A set).
const finalAuth = hex(`
  20        # Vers 1, Diag 0
  d4        # Sta Up (11), P0 F1 C0 A1 D0 M0
  03        # Detect Mult 3
  1f        # Length 31 = 24 + 7
  00000007  # My Discriminator 7
  00000009  # Your Discriminator 9
  0000c350  # Desired Min TX 50,000 us
  0000c350  # Required Min RX 50,000 us
  00000000  # Required Min Echo RX 0
  01        # Auth Type 1 (simple password)
  07        # Auth Len 7
  01        # Auth Key ID 1
  73656372  # Password "secr"
`);

// Captured from FRR bfdd 8.4.4 in the interop lab (test/integration/bfd): tcpdump -x on the
// bridge, UDP payload only. Peer configured with receive/transmit 100 ms, multiplier 3.
const frr = {
  // Down, diag 3, still carrying our previous (restarted) discriminator: we must discard it
  // (§6.8.6 Your Discriminator selects no session); both intervals slow (1 s) while not Up.
  downStale: hex('23 40 03 18 8a8fe918 d59ed591 000f4240 000f4240 0000c350'),
  // Init (10), diag 3 left over, our new discriminator.
  init: hex('23 80 03 18 8a8fe918 6b3eb550 000f4240 000f4240 0000c350'),
  // Up (11) + Poll (P): FRR moves to its profile intervals (100,000 us).
  upPoll: hex('20 e0 03 18 8a8fe918 6b3eb550 000186a0 000186a0 0000c350'),
  // Up + Final: answers our Poll.
  upFinal: hex('20 d0 03 18 8a8fe918 6b3eb550 000186a0 000186a0 0000c350'),
  // Up, steady state.
  up: hex('20 c0 03 18 8a8fe918 6b3eb550 000186a0 000186a0 0000c350'),
};

test('decode: packets captured from FRR bfdd', () => {
  const d = (b: Uint8Array) => {
    const r = decodeControl(b);
    assert.ok(r.ok);
    return r.value;
  };
  assert.deepEqual(
    [frr.downStale, frr.init, frr.upPoll, frr.upFinal, frr.up].map((b) => {
      const v = d(b);
      return [v.state, v.diag, v.poll, v.final, v.desiredMinTxUs];
    }),
    [
      [BfdState.down, 3, false, false, 1_000_000],
      [BfdState.init, 3, false, false, 1_000_000],
      [BfdState.up, 0, true, false, 100_000],
      [BfdState.up, 0, false, true, 100_000],
      [BfdState.up, 0, false, false, 100_000],
    ],
  );
  const up = d(frr.up);
  assert.equal(up.myDiscr, 0x8a8fe918);
  assert.equal(up.yourDiscr, 0x6b3eb550);
  assert.equal(up.requiredMinEchoRxUs, 50_000);
  assert.equal(checkForSession(d(frr.downStale), { localDiscr: 0x6b3eb550, authType: 0 }), 'yourDiscrMismatch');
  for (const b of Object.values(frr)) assert.equal(toHex(encodeControl(d(b))), toHex(b));
});

test('decode: FRR-style Down hello, every field', () => {
  const r = decodeControl(downHello);
  assert.ok(r.ok);
  assert.deepEqual(r.value, {
    version: 1,
    diag: 0,
    state: BfdState.down,
    poll: false,
    final: false,
    cpi: false,
    demand: false,
    multipoint: false,
    detectMult: 3,
    myDiscr: 1,
    yourDiscr: 0,
    desiredMinTxUs: 1_000_000,
    requiredMinRxUs: 300_000,
    requiredMinEchoRxUs: 50_000,
  });
});

test('decode: Up with Poll and C bits, diag 3', () => {
  const r = decodeControl(upPoll);
  assert.ok(r.ok);
  assert.equal(r.value.state, BfdState.up);
  assert.equal(r.value.diag, BfdDiag.neighborSignaledSessionDown);
  assert.equal(r.value.poll, true);
  assert.equal(r.value.final, false);
  assert.equal(r.value.cpi, true);
  assert.equal(r.value.myDiscr, 0xc0ffee01);
  assert.equal(r.value.yourDiscr, 42);
  assert.equal(r.value.detectMult, 5);
  assert.equal(r.value.desiredMinTxUs, 100_000);
});

test('decode: Final with authentication section', () => {
  const r = decodeControl(finalAuth);
  assert.ok(r.ok);
  assert.equal(r.value.final, true);
  assert.deepEqual(r.value.auth, { type: 1, length: 7, data: hex('0173656372') });
});

test('round trip: fixtures re-encode byte for byte', () => {
  for (const f of [downHello, upPoll, finalAuth]) {
    const r = decodeControl(f);
    assert.ok(r.ok);
    assert.equal(toHex(encodeControl(r.value)), toHex(f));
  }
});

test('decode: trailing bytes beyond Length are ignored', () => {
  const r = decodeControl(new Uint8Array([...downHello, 0xde, 0xad]));
  assert.ok(r.ok);
  assert.equal(r.value.myDiscr, 1);
});

// §6.8.6 discard rules, each named after its clause.
const mutate = (base: Uint8Array, f: (b: Uint8Array) => void): Uint8Array => {
  const b = base.slice();
  f(b);
  return b;
};
const discardCases: Array<{ desc: string; input: Uint8Array; wantErr: string }> = [
  { desc: 'payload shorter than the mandatory section', input: downHello.slice(0, 23), wantErr: 'short' },
  {
    desc: '§6.8.6 version is not 1',
    input: mutate(downHello, (b) => {
      b[0] = 0x40;
    }),
    wantErr: 'version',
  },
  {
    desc: '§6.8.6 version 0',
    input: mutate(downHello, (b) => {
      b[0] = 0x00;
    }),
    wantErr: 'version',
  },
  {
    desc: '§6.8.6 Length < 24 with A clear',
    input: mutate(downHello, (b) => {
      b[3] = 23;
    }),
    wantErr: 'length',
  },
  {
    desc: '§6.8.6 Length < 26 with A set',
    input: mutate(downHello, (b) => {
      b[1] = 0x44;
      b[3] = 25;
    }),
    wantErr: 'length',
  },
  {
    desc: '§6.8.6 Length > payload',
    input: mutate(downHello, (b) => {
      b[3] = 25;
    }),
    wantErr: 'lengthExceedsPayload',
  },
  {
    desc: '§6.8.6 Detect Mult zero',
    input: mutate(downHello, (b) => {
      b[2] = 0;
    }),
    wantErr: 'detectMultZero',
  },
  {
    desc: '§6.8.6 Multipoint bit set',
    input: mutate(downHello, (b) => {
      b[1] = 0x41;
    }),
    wantErr: 'multipoint',
  },
  {
    desc: '§6.8.6 My Discriminator zero',
    input: mutate(downHello, (b) => {
      b[7] = 0;
    }),
    wantErr: 'myDiscrZero',
  },
  {
    desc: '§6.8.6 Your Discriminator zero in Init',
    input: mutate(downHello, (b) => {
      b[1] = 0x80;
    }),
    wantErr: 'yourDiscrZeroWithState',
  },
  {
    desc: '§6.8.6 Your Discriminator zero in Up',
    input: mutate(downHello, (b) => {
      b[1] = 0xc0;
    }),
    wantErr: 'yourDiscrZeroWithState',
  },
  {
    desc: '§4.2 Auth Len does not fit Length',
    input: mutate(finalAuth, (b) => {
      b[25] = 8;
    }),
    wantErr: 'authLength',
  },
];
for (const c of discardCases) {
  test(`decode discards: ${c.desc}`, () => {
    const r = decodeControl(c.input);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, c.wantErr);
  });
}

test('decode accepts: §6.8.6 Your Discriminator zero in AdminDown', () => {
  const r = decodeControl(
    mutate(downHello, (b) => {
      b[1] = 0x00;
    }),
  );
  assert.ok(r.ok);
  assert.equal(r.value.state, BfdState.adminDown);
});

test('checkForSession: §6.8.6 session-level rules', () => {
  const up = decodeControl(upPoll);
  const auth = decodeControl(finalAuth);
  const down = decodeControl(downHello);
  assert.ok(up.ok && auth.ok && down.ok);
  // Your Discriminator nonzero selects the session: mismatch discards.
  assert.equal(checkForSession(up.value, { localDiscr: 43, authType: 0 }), 'yourDiscrMismatch');
  assert.equal(checkForSession(up.value, { localDiscr: 42, authType: 0 }), undefined);
  // Your Discriminator zero: session chosen by addresses; accepted here.
  assert.equal(checkForSession(down.value, { localDiscr: 5, authType: 0 }), undefined);
  // A bit set without authentication in use.
  assert.equal(checkForSession(auth.value, { localDiscr: 9, authType: 0 }), 'authNotInUse');
  // A bit clear with authentication in use.
  assert.equal(checkForSession(up.value, { localDiscr: 42, authType: 1 }), 'authRequired');
  assert.equal(checkForSession(auth.value, { localDiscr: 9, authType: 1 }), undefined);
});

const arbPacket: fc.Arbitrary<BfdControlPacket> = fc.record({
  version: fc.constant(1),
  diag: fc.integer({ min: 0, max: 31 }),
  state: fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<0 | 1 | 2 | 3>,
  poll: fc.boolean(),
  final: fc.boolean(),
  cpi: fc.boolean(),
  demand: fc.boolean(),
  multipoint: fc.constant(false),
  detectMult: fc.integer({ min: 1, max: 255 }),
  myDiscr: fc.integer({ min: 1, max: 0xffffffff }),
  yourDiscr: fc.integer({ min: 1, max: 0xffffffff }),
  desiredMinTxUs: fc.integer({ min: 0, max: 0xffffffff }),
  requiredMinRxUs: fc.integer({ min: 0, max: 0xffffffff }),
  requiredMinEchoRxUs: fc.integer({ min: 0, max: 0xffffffff }),
});

test('property: encode → decode round trip for valid packets', () => {
  fc.assert(
    fc.property(arbPacket, (p) => {
      const r = decodeControl(encodeControl(p));
      assert.ok(r.ok);
      assert.deepEqual(r.value, { ...p }); // fc.record builds null-prototype objects
    }),
    { numRuns: 500 },
  );
});

test('property: decode never throws and returns a value or an error', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (b) => {
      const r = decodeControl(b);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 2000 },
  );
  // Near-valid inputs: flip bytes of a valid packet so the deeper rules are exercised.
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (flips) => {
      const b = finalAuth.slice();
      for (const [i, v] of flips) b[i] = v;
      const r = decodeControl(b);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 2000 },
  );
});
