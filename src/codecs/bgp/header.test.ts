import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex } from './bytes.js';
import { Framer, unframe } from './header.js';
import { keepalive, encodeNotification, encodeRouteRefresh } from './simple.js';
import { buildAnnouncements } from './update.js';
import { ErrorCode, HeaderSubcode, MessageType } from './types.js';
import { must } from './test-helpers.js';

const KEEPALIVE = fromHex(`
  ffffffffffffffffffffffffffffffff  # marker
  0013                              # length 19
  04                                # type KEEPALIVE
`);

test('keepalive encodes to the fixture', () => {
  assert.deepEqual(keepalive(), KEEPALIVE);
});

test('framer returns the same messages whatever the chunking, byte at a time included', () => {
  const msgs = [
    keepalive(),
    encodeNotification({ code: 6, subcode: 2, data: Uint8Array.of(1, 2, 3) }),
    encodeRouteRefresh({ afi: 2, safi: 1 }),
    ...must(
      buildAnnouncements(
        1,
        Array.from({ length: 1500 }, (_, i) => `203.0.${(i >> 8) & 0xff}.${i & 0xff}/32`),
        { origin: 0, asPath: [{ type: 2, asns: [64512] }], nextHop: '198.51.100.2' },
        { as4: true },
      ),
    ),
  ];
  const stream = Uint8Array.from(msgs.flatMap((m) => Array.from(m)));
  const expected = msgs.map((m) => ({ type: m[18], len: m.length - 19 }));
  for (const size of [1, 2, 7, 19, 20, 4096, stream.length]) {
    const f = new Framer();
    const got: Array<{ type: number | undefined; len: number }> = [];
    for (let i = 0; i < stream.length; i += size) {
      for (const r of f.push(stream.subarray(i, i + size))) {
        assert.ok(r.ok);
        got.push({ type: r.value.type, len: r.value.body.length });
      }
    }
    assert.deepEqual(got, expected, `chunk size ${size}`);
    assert.equal(f.pending, 0);
  }
});

test('framer stops the stream at a header error with the right NOTIFICATION', () => {
  const cases = [
    { desc: 'bad marker', hex: 'fffffffffffffffffffffffffffffffe 0013 04', subcode: HeaderSubcode.connectionNotSynchronized },
    { desc: 'length 18', hex: 'ffffffffffffffffffffffffffffffff 0012 04', subcode: HeaderSubcode.badMessageLength },
    { desc: 'length 4097', hex: 'ffffffffffffffffffffffffffffffff 1001 02', subcode: HeaderSubcode.badMessageLength },
    { desc: 'keepalive with body', hex: 'ffffffffffffffffffffffffffffffff 0014 04 00', subcode: HeaderSubcode.badMessageLength },
    { desc: 'type 9', hex: 'ffffffffffffffffffffffffffffffff 0013 09', subcode: HeaderSubcode.badMessageType },
  ];
  for (const c of cases) {
    const f = new Framer();
    const r = f.push(Uint8Array.from([...KEEPALIVE, ...fromHex(c.hex)]));
    assert.equal(r.length, 2, c.desc);
    assert.ok(r[0]?.ok);
    const e = r[1];
    assert.ok(e && !e.ok, c.desc);
    assert.equal(e.error.code, ErrorCode.messageHeader);
    assert.equal(e.error.subcode, c.subcode, c.desc);
    // The stream stays dead.
    const again = f.push(KEEPALIVE);
    assert.ok(again[0] && !again[0].ok);
  }
});

test('unframe checks the length field against the buffer', () => {
  const r = unframe(Uint8Array.from([...KEEPALIVE, 0]));
  assert.ok(!r.ok);
  const k = unframe(KEEPALIVE);
  assert.ok(k.ok && k.value.type === MessageType.keepalive);
});
