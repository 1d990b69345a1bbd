import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEthernet, encodeEthernet, fromHex, toHex, EtherType, isMac } from './ethernet.js';

// Captured with tcpdump in a namespace pair: the Linux kernel resolving 203.0.113.2.
const ARP_REQUEST_FRAME = fromHex(`
  ffffffffffff   # destination: broadcast
  02000000000a   # source MAC
  0806           # EtherType ARP
  0001 0800 06 04 0001 02000000000a cb007101 000000000000 cb007102   # ARP payload (see arp.test.ts)
`);

test('ethernet: decodes a captured broadcast ARP frame', () => {
  const r = decodeEthernet(ARP_REQUEST_FRAME);
  assert.ok(r.ok);
  assert.equal(r.value.dst, 'ff:ff:ff:ff:ff:ff');
  assert.equal(r.value.src, '02:00:00:00:00:0a');
  assert.equal(r.value.etherType, EtherType.arp);
  assert.equal(r.value.vlan, undefined);
  assert.equal(r.value.payload.length, 28);
});

test('ethernet: 802.1Q tag is decoded and round-trips', () => {
  const tagged = fromHex(`
    333300000001 020000000001   # dst all-nodes multicast, src
    8100 0064                   # 802.1Q TPID, TCI: PCP 0, VID 100
    86dd                        # inner EtherType IPv6
    6000                        # first payload bytes
  `);
  const r = decodeEthernet(tagged);
  assert.ok(r.ok);
  assert.equal(r.value.vlan, 100);
  assert.equal(r.value.etherType, EtherType.ipv6);
  assert.equal(toHex(encodeEthernet(r.value)), toHex(tagged));
});

test('ethernet: errors, not throws, on short and 802.3 frames', () => {
  assert.equal(decodeEthernet(new Uint8Array(13)).ok, false);
  assert.equal(decodeEthernet(fromHex('ffffffffffff 020000000001 8100 00')).ok, false);
  assert.equal(decodeEthernet(fromHex('ffffffffffff 020000000001 0040 aaaa')).ok, false);
});

test('ethernet: encode/decode round trip (property)', () => {
  const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
  fc.assert(
    fc.property(
      mac,
      mac,
      fc.integer({ min: 0x0600, max: 0xffff }).filter((t) => t !== 0x8100),
      fc.uint8Array({ maxLength: 64 }),
      (dst, src, etherType, payload) => {
        assert.ok(isMac(dst));
        const r = decodeEthernet(encodeEthernet({ dst, src, etherType, payload }));
        assert.ok(r.ok);
        assert.deepEqual({ ...r.value, payload: Array.from(r.value.payload) }, { dst, src, etherType, payload: Array.from(payload) });
      },
    ),
  );
});

test('ethernet: decode never throws (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      const r = decodeEthernet(b);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 2000 },
  );
});
