// RFC 8950 extended next hop: the OPEN capability (code 5) and IPv4 NLRI in MP_REACH_NLRI with a
// 16- or 32-octet IPv6 next hop, as FRR sends and expects on an unnumbered (`neighbor eth0
// interface`) session; malformed input handled as RFC 5492 / RFC 7606 say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, hex } from './bytes.js';
import { unframe } from './header.js';
import { decodeOpen, encodeOpen, CapabilityCode, type Open } from './open.js';
import { decodeUpdate, buildAnnouncements, buildWithdrawals } from './update.js';
import { Afi, ErrorCode, Treatment, UpdateSubcode } from './types.js';
import { must } from './test-helpers.js';

// OPEN body as FRR 8.4 sends it to an unnumbered neighbor (AS 64513, hold 180, id 198.51.100.1).
const UNNUMBERED_OPEN = fromHex(`
  04 fc01 00b4 c6336401             # version 4, AS 64513, hold 180, id 198.51.100.1
  1c 02 1a                          # opt params 28: capabilities, length 26
  01 04 0001 00 01                  # MP: IPv4 unicast
  01 04 0002 00 01                  # MP: IPv6 unicast
  05 06 0001 0001 0002              # extended next hop: IPv4 unicast over IPv6
  41 04 0000fc01                    # 4-octet AS 64513
`);

test('decodes the extended next hop capability (code 5) of an unnumbered OPEN', () => {
  const r = decodeOpen(UNNUMBERED_OPEN);
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value.capabilities.extendedNextHop, [{ afi: 1, safi: 1, nextHopAfi: 2 }]);
  assert.equal(r.value.capabilities.unknown, undefined);
  assert.equal(r.value.capabilities.malformed, undefined);
});

test('encodes the extended next hop capability byte for byte, and round-trips several tuples', () => {
  const o: Omit<Open, 'version'> = {
    asn: 64513,
    holdTime: 180,
    routerId: '198.51.100.1',
    capabilities: {
      multiprotocol: [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
      routeRefresh: false,
      extendedNextHop: [{ afi: 1, safi: 1, nextHopAfi: 2 }],
      fourOctetAs: 64513,
    },
  };
  assert.equal(hex(encodeOpen(o)), hex(UNNUMBERED_OPEN));
  const several = {
    ...o,
    capabilities: {
      ...o.capabilities,
      extendedNextHop: [
        { afi: 1, safi: 1, nextHopAfi: 2 },
        { afi: 1, safi: 128, nextHopAfi: 2 },
      ],
    },
  };
  const back = decodeOpen(encodeOpen(several));
  assert.ok(back.ok);
  assert.deepEqual(back.value.capabilities.extendedNextHop, several.capabilities.extendedNextHop);
});

test('a malformed extended next hop capability is dropped (not negotiated) and reported, the OPEN stands', () => {
  for (const value of ['', '0001 0001 00', '0001 0001 0002 0001']) {
    const len = value.replace(/\s/g, '').length / 2;
    const caps = `05 ${len.toString(16).padStart(2, '0')} ${value} 41 04 0000fc01`;
    const capLen = len + 2 + 6;
    const body = fromHex(
      `04 fc01 00b4 c6336401 ${(capLen + 2).toString(16).padStart(2, '0')} 02 ${capLen.toString(16).padStart(2, '0')} ${caps}`,
    );
    const r = decodeOpen(body);
    assert.ok(r.ok, `length ${len}: ${JSON.stringify(r)}`);
    assert.equal(r.value.capabilities.extendedNextHop, undefined, `length ${len}`);
    assert.equal(r.value.capabilities.malformed?.[0]?.code, CapabilityCode.extendedNextHop);
    assert.match(r.value.capabilities.malformed?.[0]?.reason ?? '', new RegExp(`length ${len} is not a positive multiple of 6`));
    assert.equal(r.value.asn, 64513);
  }
});

// IPv4 NLRI with a 32-octet next hop (global + link-local), as FRR sends over unnumbered.
const V4_OVER_V6 = fromHex(`
  0000                              # withdrawn routes length 0
  003a                              # total path attribute length 58
  40 01 01 00                       # ORIGIN IGP
  40 02 06 02 01 0000fc00           # AS_PATH 64512
  80 0e 2a                          # MP_REACH_NLRI, length 42
    0001 01                         #   AFI IPv4, SAFI unicast
    20 20010db8000400000000000000000011 fe80000000000000000000fffe000011  # NH len 32
    00                              #   reserved
    20 cb00710a                     #   203.0.113.10/32
`);

test('builds IPv4 NLRI in MP_REACH_NLRI with a global + link-local next hop, byte for byte (RFC 8950)', () => {
  const msgs = must(
    buildAnnouncements(
      Afi.ipv4,
      ['203.0.113.10/32'],
      { origin: 0, asPath: [{ type: 2, asns: [64512] }], nextHop: '2001:db8:4::11' },
      { as4: true },
      'fe80::ff:fe00:11',
    ),
  );
  assert.equal(msgs.length, 1);
  const f = unframe(msgs[0] as Uint8Array);
  assert.ok(f.ok);
  assert.equal(hex(f.value.body), hex(V4_OVER_V6));
  const d = decodeUpdate(f.value.body, { as4: true });
  assert.ok(d.ok);
  assert.deepEqual(d.value.nlri, []);
  assert.equal(d.value.attrs.nextHop, undefined);
  assert.deepEqual(d.value.attrs.mpReach, { afi: 1, safi: 1, nextHops: ['2001:db8:4::11', 'fe80::ff:fe00:11'], nlri: ['203.0.113.10/32'] });
});

test('IPv4 and IPv6 NLRI with a link-local-only next hop: 16 octets; many prefixes pack into full messages', () => {
  for (const [afi, prefixes] of [
    [Afi.ipv4, Array.from({ length: 2000 }, (_, i) => `203.0.113.${i % 256}/32`).filter((p, i, a) => a.indexOf(p) === i)],
    [Afi.ipv6, Array.from({ length: 600 }, (_, i) => `2001:db8:${(i + 1).toString(16)}::/64`)],
  ] as const) {
    const msgs = must(buildAnnouncements(afi, prefixes, { origin: 0, asPath: [], nextHop: 'fe80::1' }, { as4: true }));
    const got: string[] = [];
    for (const m of msgs) {
      assert.ok(m.length <= 4096);
      const f = unframe(m);
      assert.ok(f.ok);
      const d = decodeUpdate(f.value.body, { as4: true });
      assert.ok(d.ok);
      assert.equal(d.value.attrs.mpReach?.afi, afi);
      assert.deepEqual(d.value.attrs.mpReach?.nextHops, ['fe80::1']);
      got.push(...(d.value.attrs.mpReach?.nlri ?? []));
    }
    assert.deepEqual(got, prefixes);
  }
});

test('refuses a second next hop that is not link-local, and an IPv4 next hop with a link-local one', () => {
  const r1 = buildAnnouncements(
    Afi.ipv4,
    ['203.0.113.10/32'],
    { origin: 0, asPath: [], nextHop: '2001:db8::1' },
    { as4: true },
    '2001:db8::2',
  );
  assert.ok(!r1.ok);
  assert.match(r1.error.message, /not an IPv6 link-local address: "2001:db8::2"/);
  const r2 = buildAnnouncements(
    Afi.ipv4,
    ['203.0.113.10/32'],
    { origin: 0, asPath: [], nextHop: '198.51.100.1' },
    { as4: true },
    'fe80::1',
  );
  assert.ok(!r2.ok);
  assert.match(r2.error.message, /needs an IPv6 NEXT_HOP/);
  const r3 = buildAnnouncements(Afi.ipv4, ['203.0.113.10/32'], { origin: 0, asPath: [], nextHop: 'fe8::1' }, { as4: true }, 'fe8::2');
  assert.ok(!r3.ok, 'fe8::/16 is not fe80::/10');
});

test('withdrawing IPv4 prefixes of an extended next hop session uses the classic field (valid for IPv4 unicast)', () => {
  const [m] = must(buildWithdrawals(Afi.ipv4, ['203.0.113.10/32']));
  const f = unframe(m as Uint8Array);
  assert.ok(f.ok);
  const d = decodeUpdate(f.value.body, { as4: true });
  assert.ok(d.ok);
  assert.deepEqual(d.value.withdrawn, ['203.0.113.10/32']);
});

test('malformed IPv4 MP_REACH_NLRI next hop lengths reset the session (RFC 7606 §7.11), never install', () => {
  const attrs = (mp: string) => {
    const b = fromHex(mp);
    return fromHex(
      `0000 ${(10 + b.length).toString(16).padStart(4, '0')} 40 01 01 00 40 02 00 80 0e ${b.length.toString(16).padStart(2, '0')} ${mp}`,
    );
  };
  const cases = [
    { desc: 'next hop length 24', mp: `0001 01 18 ${'00'.repeat(24)} 00 20 cb00710a` },
    { desc: 'next hop length 8', mp: `0001 01 08 ${'00'.repeat(8)} 00 20 cb00710a` },
    { desc: 'next hop overruns the attribute', mp: `0001 01 20 fe80000000000000` },
    { desc: 'NLRI prefix longer than 32 bits', mp: `0001 01 10 fe800000000000000000000000000001 00 21 cb00710a00` },
  ];
  for (const c of cases) {
    const r = decodeUpdate(attrs(c.mp), { as4: true });
    assert.ok(!r.ok, c.desc);
    assert.equal(r.error.treatment, Treatment.sessionReset, c.desc);
    assert.equal(r.error.code, ErrorCode.update, c.desc);
    assert.equal(r.error.subcode, UpdateSubcode.optionalAttribute, c.desc);
  }
  // A well-formed one with a 16-octet link-local next hop decodes.
  const good = decodeUpdate(attrs(`0001 01 10 fe800000000000000000000000000001 00 20 cb00710a`), { as4: true });
  assert.ok(good.ok);
  assert.deepEqual(good.value.attrs.mpReach?.nextHops, ['fe80::1']);
});
