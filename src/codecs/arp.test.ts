import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, toHex } from './ethernet.js';
import { decodeArp, encodeArp, parseIpv4, ArpOp, type ArpPacket } from './arp.js';

// Captured with tcpdump: Linux 203.0.113.1 asking for 203.0.113.2, and the kernel's reply.
const REQUEST = `
  0001           # hardware type: Ethernet
  0800           # protocol type: IPv4
  06             # hardware address length
  04             # protocol address length
  0001           # opcode: request
  02000000000a   # sender MAC
  cb007101       # sender IP 203.0.113.1
  000000000000   # target MAC: unknown
  cb007102       # target IP 203.0.113.2
`;
const REPLY = `
  0001 0800 06 04   # Ethernet / IPv4 / 6 / 4
  0002              # opcode: reply
  02000000000b      # sender MAC (the answer)
  cb007102          # sender IP 203.0.113.2
  02000000000a      # target MAC: the asker
  cb007101          # target IP 203.0.113.1
`;

test('arp: decodes a captured request', () => {
  const r = decodeArp(fromHex(REQUEST));
  assert.deepEqual(r, {
    ok: true,
    value: {
      op: ArpOp.request,
      senderMac: '02:00:00:00:00:0a',
      senderIp: '203.0.113.1',
      targetMac: '00:00:00:00:00:00',
      targetIp: '203.0.113.2',
    },
  });
});

test('arp: encodes the captured reply byte for byte', () => {
  const p: ArpPacket = {
    op: ArpOp.reply,
    senderMac: '02:00:00:00:00:0b',
    senderIp: '203.0.113.2',
    targetMac: '02:00:00:00:00:0a',
    targetIp: '203.0.113.1',
  };
  assert.equal(toHex(encodeArp(p)), toHex(fromHex(REPLY)));
});

test('arp: Ethernet padding after the 28 bytes is ignored', () => {
  const padded = new Uint8Array(46);
  padded.set(fromHex(REQUEST));
  assert.ok(decodeArp(padded).ok);
});

const bad: Array<{ desc: string; hex: string; wantErr: RegExp }> = [
  { desc: 'truncated', hex: '0001 0800 06 04 0001 02000000000a cb00', wantErr: /need 28/ },
  { desc: 'hardware type 6 (IEEE 802)', hex: REQUEST.replace(/0001 +# hardware type: Ethernet/, '0006'), wantErr: /hardware type 6/ },
  { desc: 'protocol IPv6', hex: REQUEST.replace(/0800 +# protocol type: IPv4/, '86dd'), wantErr: /protocol type 0x86dd/ },
  { desc: 'hlen 8', hex: REQUEST.replace(/06 +# hardware address length/, '08'), wantErr: /lengths 8\/4/ },
  { desc: 'opcode 3 (RARP)', hex: REQUEST.replace(/0001 +# opcode: request/, '0003'), wantErr: /opcode 3/ },
];
for (const c of bad) {
  test(`arp: rejects ${c.desc}`, () => {
    const r = decodeArp(fromHex(c.hex));
    assert.ok(!r.ok);
    assert.match(r.error, c.wantErr);
  });
}

test('arp: parseIpv4', () => {
  assert.deepEqual(Array.from(parseIpv4('203.0.113.50') ?? []), [203, 0, 113, 50]);
  assert.equal(parseIpv4('256.0.0.1'), undefined);
  assert.equal(parseIpv4('2001:db8::1'), undefined);
});

test('arp: round trip (property)', () => {
  const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
  const ip = fc.ipV4();
  fc.assert(
    fc.property(fc.constantFrom(ArpOp.request, ArpOp.reply), mac, ip, mac, ip, (op, senderMac, senderIp, targetMac, targetIp) => {
      const p: ArpPacket = { op, senderMac, senderIp, targetMac, targetIp };
      assert.deepEqual(decodeArp(encodeArp(p)), { ok: true, value: p });
    }),
  );
});

test('arp: decode never throws (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      const r = decodeArp(b);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 2000 },
  );
  // Mostly valid headers with random tails reach the deeper checks.
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 20, maxLength: 40 }), (tail) => {
      const b = new Uint8Array(8 + tail.length);
      b.set(fromHex('0001 0800 0604 0001'));
      b.set(tail, 8);
      assert.equal(typeof decodeArp(b).ok, 'boolean');
    }),
  );
});
