import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { fromHex, toHex, decodeEthernet } from './ethernet.js';
import {
  decodeIpv6,
  decodeNdp,
  encodeNdp,
  icmpv6Checksum,
  multicastMac,
  normalizeIpv6,
  parseIpv6,
  solicitedNodeBytes,
  ALL_NODES,
  type NdpOut,
} from './ndp.js';

// All three captured with tcpdump between two Linux namespaces (02:..:0a = fe80::ff:fe00:a,
// 02:..:0b = 2001:db8:6::2), `ndisc6 2001:db8:6::2` and a kernel DAD probe.
const NS_PACKET = `
  6 00 43d1a     # version 6, traffic class 0, flow label 0x43d1a
  0020           # payload length 32
  3a             # next header ICMPv6
  ff             # hop limit 255
  fe80000000000000 000000fffe00000a   # source fe80::ff:fe00:a
  ff02000000000000 00000001ff000002   # destination: solicited-node ff02::1:ff00:2
  87             # type 135 Neighbor Solicitation
  00             # code
  4c47           # checksum
  00000000       # reserved
  20010db800060000 0000000000000002   # target 2001:db8:6::2
  01 01 02000000000a                  # option: source link-layer address, 1x8 bytes
`;
const NA_PACKET = `
  6 00 00000     # version 6, no traffic class / flow label
  0020 3a ff     # payload 32, ICMPv6, hop limit 255
  20010db800060000 0000000000000002   # source: the target itself
  fe80000000000000 000000fffe00000a   # destination: the soliciting source
  88             # type 136 Neighbor Advertisement
  00             # code
  ba8b           # checksum
  60000000       # flags: R=0 S=1 O=1, reserved
  20010db800060000 0000000000000002   # target
  02 01 02000000000b                  # option: target link-layer address
`;
const DAD_NS_PACKET = `
  6000 0000 0020 3a ff                # v6, payload 32, ICMPv6, hop limit 255
  0000000000000000 0000000000000000   # source :: (DAD)
  ff02000000000000 00000001ff00000b   # solicited-node of the tentative address
  87 00 6e30 00000000                 # NS, code 0, checksum, reserved
  fe80000000000000 000000fffe00000b   # target fe80::ff:fe00:b
  0e 01 58aa3c536bda                  # option 14: DAD nonce (RFC 7527), skipped
`;

function ndp(hex: string) {
  const ip = decodeIpv6(fromHex(hex));
  assert.ok(ip.ok, ip.ok ? '' : ip.error);
  return { ip: ip.value, msg: decodeNdp(ip.value) };
}

test('ndp: decodes the captured NS with its source link-layer option', () => {
  const { ip, msg } = ndp(NS_PACKET);
  assert.equal(ip.src, 'fe80::ff:fe00:a');
  assert.equal(ip.dst, 'ff02::1:ff00:2');
  assert.equal(ip.hopLimit, 255);
  assert.deepEqual(msg, { ok: true, value: { kind: 'ns', target: '2001:db8:6::2', sourceLinkAddr: '02:00:00:00:00:0a' } });
});

test('ndp: decodes the captured kernel NA (solicited, override)', () => {
  const { msg } = ndp(NA_PACKET);
  assert.deepEqual(msg, {
    ok: true,
    value: { kind: 'na', target: '2001:db8:6::2', router: false, solicited: true, override: true, targetLinkAddr: '02:00:00:00:00:0b' },
  });
});

test('ndp: decodes a DAD NS from :: and skips the nonce option', () => {
  const { ip, msg } = ndp(DAD_NS_PACKET);
  assert.equal(ip.src, '::');
  assert.deepEqual(msg, { ok: true, value: { kind: 'ns', target: 'fe80::ff:fe00:b' } });
});

test('ndp: encodes the kernel NA byte for byte (checksum included)', () => {
  const out = encodeNdp('2001:db8:6::2', 'fe80::ff:fe00:a', {
    kind: 'na',
    target: '2001:db8:6::2',
    solicited: true,
    override: true,
    targetLinkAddr: '02:00:00:00:00:0b',
  });
  assert.equal(toHex(out), toHex(fromHex(NA_PACKET)));
});

test('ndp: checksum matches the captured NS', () => {
  const b = fromHex(NS_PACKET);
  const body = b.slice(40);
  body[2] = 0;
  body[3] = 0;
  assert.equal(icmpv6Checksum(b.subarray(8, 24), b.subarray(24, 40), body), 0x4c47);
});

test('ndp: a full captured Ethernet frame decodes down to NDP', () => {
  const frame = fromHex(`333300000002 02000000000b 86dd ${NA_PACKET}`);
  const eth = decodeEthernet(frame);
  assert.ok(eth.ok);
  const ip = decodeIpv6(eth.value.payload);
  assert.ok(ip.ok);
  assert.equal(decodeNdp(ip.value).ok, true);
});

function mutate(hex: string, at: number, value: number): Uint8Array {
  const b = fromHex(hex);
  b[at] = value;
  return b;
}

const bad: Array<{ desc: string; bytes: Uint8Array; wantErr: RegExp }> = [
  { desc: 'hop limit 64 (off-link forgery)', bytes: mutate(NS_PACKET, 7, 64), wantErr: /hop limit 64/ },
  { desc: 'corrupted checksum', bytes: mutate(NS_PACKET, 42, 0), wantErr: /checksum/ },
  { desc: 'corrupted target (checksum catches it)', bytes: mutate(NS_PACKET, 63, 9), wantErr: /checksum/ },
  { desc: 'option length 0', bytes: fixSum(mutate(NS_PACKET, 65, 0)), wantErr: /option length 0/ },
  { desc: 'option overruns', bytes: fixSum(mutate(NS_PACKET, 65, 2)), wantErr: /overruns/ },
  { desc: 'code 1', bytes: fixSum(mutate(NS_PACKET, 41, 1)), wantErr: /code 1/ },
  { desc: 'multicast target', bytes: fixSum(mutate(NS_PACKET, 48, 0xff)), wantErr: /multicast target/ },
  { desc: 'NS from :: with source link-layer option', bytes: fixSum(zeroSource(fromHex(NS_PACKET))), wantErr: /from ::/ },
];

function zeroSource(b: Uint8Array): Uint8Array {
  b.fill(0, 8, 24);
  return b;
}
function fixSum(b: Uint8Array): Uint8Array {
  const body = b.subarray(40);
  body[2] = 0;
  body[3] = 0;
  const ck = icmpv6Checksum(b.subarray(8, 24), b.subarray(24, 40), body);
  body[2] = ck >> 8;
  body[3] = ck & 0xff;
  return b;
}

for (const c of bad) {
  test(`ndp: rejects ${c.desc}`, () => {
    const ip = decodeIpv6(c.bytes);
    assert.ok(ip.ok);
    const r = decodeNdp(ip.value);
    assert.ok(!r.ok);
    assert.match(r.error, c.wantErr);
  });
}

test('ipv6: rejects short, wrong version, and overlong payload length', () => {
  assert.equal(decodeIpv6(new Uint8Array(39)).ok, false);
  assert.equal(decodeIpv6(mutate(NS_PACKET, 0, 0x40)).ok, false);
  assert.equal(decodeIpv6(mutate(NS_PACKET, 5, 0x40)).ok, false);
});

test('ndp: other ICMPv6 types are well formed but not ours', () => {
  // Router solicitation captured from the kernel (type 133).
  const rs = fromHex(`
    6000 0000 0010 3a ff fe80000000000000 000000fffe00000b ff020000000000000000000000000002
    85 00 7b18 00000000 0101 02000000000b   # RS, code 0, checksum, reserved, SLLA option
  `);
  const ip = decodeIpv6(rs);
  assert.ok(ip.ok);
  assert.deepEqual(decodeNdp(ip.value), { ok: true, value: { kind: 'other', type: 133 } });
});

test('ndp: solicited-node address and multicast MAC', () => {
  const a = parseIpv6('2001:db8:6::50');
  assert.ok(a);
  const sn = solicitedNodeBytes(a);
  assert.equal(toHex(sn), 'ff0200000000000000000001ff000050');
  assert.equal(multicastMac(sn), '33:33:ff:00:00:50');
  assert.equal(normalizeIpv6('2001:DB8:6:0:0:0:0:50'), '2001:db8:6::50');
  assert.equal(normalizeIpv6('203.0.113.1'), undefined);
});

test('ndp: NS and NA round trip (property)', () => {
  const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
  const unicast = fc
    .ipV6()
    .map((s) => normalizeIpv6(s)!)
    .filter((s) => !s.startsWith('ff'));
  const msg: fc.Arbitrary<NdpOut> = fc.oneof(
    fc.record({ kind: fc.constant('ns' as const), target: unicast, sourceLinkAddr: mac }),
    fc.record({
      kind: fc.constant('na' as const),
      target: unicast,
      router: fc.boolean(),
      solicited: fc.constant(false),
      override: fc.boolean(),
      targetLinkAddr: mac,
    }),
  );
  // A source of :: with a link-layer option is invalid by RFC 4861 §7.1.1 (covered above).
  fc.assert(
    fc.property(
      unicast.filter((s) => s !== '::'),
      msg,
      (src, m) => {
        const ip = decodeIpv6(encodeNdp(src, ALL_NODES, m));
        assert.ok(ip.ok);
        assert.equal(ip.value.src, src);
        const r = decodeNdp(ip.value);
        assert.deepEqual(r, { ok: true, value: m.kind === 'na' ? { ...m, router: m.router ?? false } : { ...m } });
      },
    ),
  );
});

test('ndp: decode never throws (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
      const ip = decodeIpv6(b);
      if (ip.ok) assert.equal(typeof decodeNdp(ip.value).ok, 'boolean');
    }),
    { numRuns: 2000 },
  );
  // Valid headers with random ICMPv6 bodies and fixed checksums reach the option parser.
  fc.assert(
    fc.property(fc.constantFrom(135, 136), fc.uint8Array({ minLength: 0, maxLength: 80 }), (type, tail) => {
      const b = new Uint8Array(40 + 4 + tail.length);
      b.set(fromHex(NS_PACKET).subarray(0, 40));
      b[4] = (4 + tail.length) >> 8;
      b[5] = (4 + tail.length) & 0xff;
      b[40] = type;
      b.set(tail, 44);
      const ip = decodeIpv6(fixSum(b));
      assert.ok(ip.ok);
      assert.equal(typeof decodeNdp(ip.value).ok, 'boolean');
    }),
    { numRuns: 2000 },
  );
});

test('ipv6 text: parse and RFC 5952 format agree with ipaddr.js (property)', () => {
  // Dotted-quad tails are left out: ipaddr.js reads every one as IPv4-mapped (::0.0.0.0 becomes
  // ::ffff:0:0), RFC 4291 §2.2 does not; they are checked by hand below.
  fc.assert(
    fc.property(
      fc.ipV6().filter((s) => !s.includes('.')),
      (s) => {
        const ref = ipaddr.IPv6.parse(s);
        const b = parseIpv6(s);
        assert.deepEqual(Array.from(b ?? []), ref.toByteArray());
        assert.equal(normalizeIpv6(s), ref.toRFC5952String());
      },
    ),
    { numRuns: 3000 },
  );
  for (const bad of [
    '',
    ':',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    'g::1',
    '12345::1',
    '1:2:3:4:5:6:7',
    '::1.2.3.256',
    '203.0.113.1',
    '1:2:3:4:5:6:7:8::',
    '::ffff:1.2.3',
  ]) {
    assert.equal(parseIpv6(bad), undefined, bad);
  }
  assert.equal(normalizeIpv6('::0.0.0.0'), '::');
  assert.equal(normalizeIpv6('::ffff:203.0.113.1'), '::ffff:cb00:7101');
  assert.equal(normalizeIpv6('1:2:3:4:5:6:1.2.3.4'), '1:2:3:4:5:6:102:304');
  assert.equal(normalizeIpv6('1:0:0:1:0:0:0:1'), '1:0:0:1::1'); // longest run wins
  assert.equal(normalizeIpv6('1:0:0:1:0:0:1:1'), '1::1:0:0:1:1'); // first of equal runs
  assert.equal(normalizeIpv6('1:0:1:1:1:1:1:1'), '1:0:1:1:1:1:1:1'); // a single 0 is not compressed
});
