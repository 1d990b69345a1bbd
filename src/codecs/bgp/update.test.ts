import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex } from './bytes.js';
import { unframe } from './header.js';
import { decodeMessage } from './message.js';
import { decodeUpdate, encodeUpdate, buildAnnouncements, buildWithdrawals, endOfRib, endOfRibFamily, type Update } from './update.js';
import { parseCommunity, parseLargeCommunity } from './attributes.js';
import { Afi, ErrorCode, Treatment, UpdateSubcode } from './types.js';
import { must } from './test-helpers.js';

const V4_UPDATE = fromHex(`
  ffffffffffffffffffffffffffffffff  # marker
  004d                              # length 77
  02                                # type UPDATE
  0000                              # withdrawn routes length 0
  0031                              # total path attribute length 49
  40 01 01 00                       # ORIGIN IGP
  40 02 06 02 01 0000fde8           # AS_PATH: AS_SEQUENCE of 1, AS 65000 (4-octet)
  40 03 04 c6336402                 # NEXT_HOP 198.51.100.2
  40 05 04 00000064                 # LOCAL_PREF 100
  c0 08 04 fde80064                 # COMMUNITIES 65000:100
  c0 20 0c 0000fde8 00000001 00000002  # LARGE_COMMUNITY 65000:1:2
  20 cb0071 81                      # NLRI 203.0.113.129/32
`);

test('decodes an IPv4 UPDATE field by field', () => {
  const f = unframe(V4_UPDATE);
  assert.ok(f.ok);
  const m = decodeMessage(f.value, { as4: true });
  assert.ok(m.ok && m.value.type === 'update');
  assert.deepEqual(m.value.nlri, ['203.0.113.129/32']);
  assert.deepEqual(m.value.attrs, {
    origin: 0,
    asPath: [{ type: 2, asns: [65000] }],
    nextHop: '198.51.100.2',
    localPref: 100,
    communities: [parseCommunity('65000:100')],
    largeCommunities: [[65000, 1, 2]],
  });
  // Re-encoding gives the same bytes.
  assert.deepEqual(must(encodeUpdate(m.value, { as4: true })), f.value.body);
});

const V6_UPDATE = fromHex(`
  0000                              # withdrawn routes length 0
  0055                              # total path attribute length 85
  40 01 01 00                       # ORIGIN IGP
  40 02 06 02 01 0000fde8           # AS_PATH 65000
  80 0e 36                          # MP_REACH_NLRI, length 54
    0002 01                         #   AFI IPv6, SAFI unicast
    20 20010db8000400000000000000000002 fe800000000000000000000000000002  # NH len 32: global + link-local
    00                              #   reserved
    80 20010db8000400ff0000000000000001  # 2001:db8:4:ff::1/128
  80 0f 0c                          # MP_UNREACH_NLRI, length 12
    0002 01                         #   AFI IPv6, SAFI unicast
    40 20010db80004ff01             #   2001:db8:4:ff01::/64
`);

test('decodes an IPv6 UPDATE with MP_REACH (two next hops) and MP_UNREACH', () => {
  const r = decodeUpdate(V6_UPDATE, { as4: true });
  assert.ok(r.ok);
  assert.deepEqual(r.value.attrs.mpReach, { afi: 2, safi: 1, nextHops: ['2001:db8:4::2', 'fe80::2'], nlri: ['2001:db8:4:ff::1/128'] });
  assert.deepEqual(r.value.attrs.mpUnreach, { afi: 2, safi: 1, withdrawn: ['2001:db8:4:ff01::/64'] });
});

test('2-octet AS_PATH when 4-octet AS was not negotiated, AS4_PATH round trip', () => {
  const u: Update = {
    withdrawn: [],
    nlri: ['203.0.113.130/32'],
    attrs: { origin: 0, asPath: [{ type: 2, asns: [4200000001] }], nextHop: '198.51.100.3' },
  };
  const body = must(encodeUpdate(u, { as4: false }));
  const r = decodeUpdate(body, { as4: false });
  assert.ok(r.ok);
  assert.deepEqual(r.value.attrs.asPath, [{ type: 2, asns: [23456] }]);
  assert.deepEqual(r.value.attrs.as4Path, [{ type: 2, asns: [4200000001] }]);
});

test('RFC 7606 treatments', () => {
  const base = (attrs: string, nlri = '20 cb007181') =>
    fromHex(`0000 ${fromHex(attrs).length.toString(16).padStart(4, '0')} ${attrs} ${nlri}`);
  const ok = '40 01 01 00  40 02 00  40 03 04 c6336402';
  const cases: Array<{ desc: string; body: Uint8Array; treatment: Treatment | 'ok'; subcode?: number; discarded?: number }> = [
    { desc: 'well formed', body: base(ok), treatment: 'ok' },
    {
      desc: 'ORIGIN value 3',
      body: base('40 01 01 03  40 02 00  40 03 04 c6336402'),
      treatment: Treatment.treatAsWithdraw,
      subcode: UpdateSubcode.invalidOrigin,
    },
    {
      desc: 'NEXT_HOP length 3',
      body: base('40 01 01 00  40 02 00  40 03 03 c63364'),
      treatment: Treatment.treatAsWithdraw,
      subcode: UpdateSubcode.attributeLength,
    },
    {
      desc: 'missing NEXT_HOP',
      body: base('40 01 01 00  40 02 00'),
      treatment: Treatment.treatAsWithdraw,
      subcode: UpdateSubcode.missingWellKnown,
    },
    {
      desc: 'AS_PATH segment overrun',
      body: base('40 01 01 00  40 02 04 02 05 fde8  40 03 04 c6336402'),
      treatment: Treatment.treatAsWithdraw,
      subcode: UpdateSubcode.malformedAsPath,
    },
    {
      desc: 'COMMUNITIES length 3',
      body: base(`${ok} c0 08 03 000000`),
      treatment: Treatment.treatAsWithdraw,
      subcode: UpdateSubcode.optionalAttribute,
    },
    {
      desc: 'ORIGIN with optional flag',
      body: base('c0 01 01 00  40 02 00  40 03 04 c6336402'),
      treatment: Treatment.treatAsWithdraw,
      subcode: UpdateSubcode.attributeFlags,
    },
    { desc: 'ATOMIC_AGGREGATE length 1', body: base(`${ok} 40 06 01 00`), treatment: 'ok', discarded: 1 },
    { desc: 'repeated COMMUNITIES', body: base(`${ok} c0 08 04 00000001 c0 08 04 00000002`), treatment: 'ok', discarded: 1 },
    { desc: 'MP_REACH next hop overrun', body: base(`${ok} 80 0e 05 0002 01 20 00`), treatment: Treatment.sessionReset },
    {
      desc: 'repeated MP_UNREACH',
      body: base(`${ok} 80 0f 03 000201 80 0f 03 000201`),
      treatment: Treatment.sessionReset,
      subcode: UpdateSubcode.malformedAttributeList,
    },
    {
      desc: 'NLRI prefix length 33',
      body: base(ok, '21 cb007181 00'),
      treatment: Treatment.sessionReset,
      subcode: UpdateSubcode.invalidNetworkField,
    },
    {
      desc: 'attribute length beyond the field',
      body: base('40 01 01 00  40 02 00  40 03 09 c6336402'),
      treatment: Treatment.treatAsWithdraw,
      subcode: UpdateSubcode.attributeLength,
    },
    {
      desc: 'unknown well-known attribute',
      body: base(`${ok} 40 63 00`),
      treatment: Treatment.sessionReset,
      subcode: UpdateSubcode.unrecognizedWellKnown,
    },
    {
      desc: 'withdrawn length overruns',
      body: fromHex('0010 0000'),
      treatment: Treatment.sessionReset,
      subcode: UpdateSubcode.malformedAttributeList,
    },
  ];
  for (const c of cases) {
    const r = decodeUpdate(c.body, { as4: true });
    if (c.treatment === 'ok') {
      assert.ok(r.ok, c.desc);
      assert.equal(r.value.discarded?.length ?? 0, c.discarded ?? 0, c.desc);
      continue;
    }
    assert.ok(!r.ok, c.desc);
    assert.equal(r.error.code, ErrorCode.update, c.desc);
    assert.equal(r.error.treatment, c.treatment, c.desc);
    if (c.subcode !== undefined) assert.equal(r.error.subcode, c.subcode, c.desc);
    if (c.treatment === Treatment.treatAsWithdraw) assert.deepEqual(r.error.withdraw, ['203.0.113.129/32'], c.desc);
  }
});

test('End-of-RIB markers for both families', () => {
  for (const afi of [Afi.ipv4, Afi.ipv6]) {
    const f = unframe(endOfRib(afi));
    assert.ok(f.ok);
    const r = decodeUpdate(f.value.body, { as4: true });
    assert.ok(r.ok);
    assert.equal(endOfRibFamily(r.value), afi);
  }
  assert.equal(endOfRib(Afi.ipv4).length, 23);
});

test('builder packs many prefixes per UPDATE under 4096 bytes, and every prefix comes back once', () => {
  const v4 = Array.from({ length: 10000 }, (_, i) => `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}/32`);
  const v6 = Array.from({ length: 3000 }, (_, i) => `2001:db8:4:ff::${(i + 1).toString(16)}/128`);
  const attrs = {
    origin: 0,
    asPath: [{ type: 2, asns: [64512] }],
    localPref: 100,
    communities: [parseCommunity('65000:1') as number],
    largeCommunities: [parseLargeCommunity('large:1:2:3')!],
  };
  for (const [afi, list, nh] of [
    [Afi.ipv4, v4, '198.51.100.2'],
    [Afi.ipv6, v6, '2001:db8:4::2'],
  ] as const) {
    const msgs = must(buildAnnouncements(afi, list, { ...attrs, nextHop: nh }, { as4: true }));
    const got: string[] = [];
    for (const m of msgs) {
      assert.ok(m.length <= 4096);
      const f = unframe(m);
      assert.ok(f.ok);
      const r = decodeUpdate(f.value.body, { as4: true });
      assert.ok(r.ok);
      got.push(...r.value.nlri, ...(r.value.attrs.mpReach?.nlri ?? []));
      assert.equal(r.value.attrs.localPref, 100);
      if (afi === Afi.ipv6) assert.deepEqual(r.value.attrs.mpReach?.nextHops, [nh]);
      else assert.equal(r.value.attrs.nextHop, nh);
    }
    assert.deepEqual(got, list);
    const perMsg = list.length / msgs.length;
    // /32: 5 bytes each -> ~800 per message; /128: 17 bytes -> ~235.
    assert.ok(perMsg >= (afi === Afi.ipv4 ? 700 : 200), `${perMsg} per UPDATE`);
    const wd = must(buildWithdrawals(afi, list));
    const back: string[] = [];
    for (const m of wd) {
      assert.ok(m.length <= 4096);
      const f = unframe(m);
      assert.ok(f.ok);
      const r = decodeUpdate(f.value.body, { as4: true });
      assert.ok(r.ok);
      back.push(...r.value.withdrawn, ...(r.value.attrs.mpUnreach?.withdrawn ?? []));
    }
    assert.deepEqual(back, list);
  }
});

test('encoders refuse a prefix that does not parse or is of the wrong family, and name it', () => {
  const attrs = { origin: 0, asPath: [], nextHop: '198.51.100.2' };
  const a = buildAnnouncements(Afi.ipv4, ['203.0.113.7/32', '203.0.113.300/32', '2001:db8::1/128', '203.0.113.0/33'], attrs, { as4: true });
  assert.equal(a.ok, false);
  if (!a.ok) {
    assert.deepEqual(a.error.prefixes, ['203.0.113.300/32', '2001:db8::1/128', '203.0.113.0/33']);
    for (const p of a.error.prefixes) assert.ok(a.error.message.includes(`"${p}"`), a.error.message);
  }
  const w = buildWithdrawals(Afi.ipv6, ['2001:db8:4::/64', 'bogus']);
  assert.equal(w.ok, false);
  if (!w.ok) {
    assert.deepEqual(w.error.prefixes, ['bogus']);
    assert.match(w.error.message, /withdrawn routes: not an IPv6 prefix: "bogus"/);
  }

  const base: Update = { withdrawn: [], nlri: ['203.0.113.130/32'], attrs: { origin: 0, asPath: [], nextHop: '198.51.100.3' } };
  const cases: Array<[Update, RegExp]> = [
    [{ ...base, nlri: ['203.0.113.130/40'] }, /NLRI: not an IPv4 prefix: "203\.0\.113\.130\/40"/],
    [{ ...base, withdrawn: ['2001:db8::/32'] }, /withdrawn routes: not an IPv4 prefix: "2001:db8::\/32"/],
    [{ ...base, attrs: { ...base.attrs, nextHop: '198.51.100.256' } }, /NEXT_HOP: not an IPv4 address: "198\.51\.100\.256"/],
    [
      {
        withdrawn: [],
        nlri: [],
        attrs: {
          origin: 0,
          asPath: [],
          mpReach: { afi: Afi.ipv6, safi: 1, nextHops: ['2001:db8:4::2'], nlri: ['2001:db8:4::/64', '203.0.113.0/24'] },
        },
      },
      /MP_REACH_NLRI: not an IPv6 prefix: "203\.0\.113\.0\/24"/,
    ],
    [
      {
        withdrawn: [],
        nlri: [],
        attrs: { origin: 0, asPath: [], mpReach: { afi: Afi.ipv6, safi: 1, nextHops: ['2001:db8:4::zz'], nlri: ['2001:db8:4::/64'] } },
      },
      /MP_REACH_NLRI next hop: not an IP address: "2001:db8:4::zz"/,
    ],
    [
      { withdrawn: [], nlri: [], attrs: { mpUnreach: { afi: Afi.ipv6, safi: 1, withdrawn: ['2001:db8:4::/129'] } } },
      /MP_UNREACH_NLRI: not an IPv6 prefix: "2001:db8:4::\/129"/,
    ],
  ];
  for (const [u, re] of cases) {
    const r = encodeUpdate(u, { as4: true });
    assert.equal(r.ok, false, `${re}`);
    if (!r.ok) assert.match(r.error.message, re);
  }
});

test('a prepended AS_PATH (local AS eleven times) encodes byte for byte, 4-octet and 2-octet with AS4_PATH', () => {
  const asns = Array.from({ length: 11 }, () => 4200000001);
  const u: Update = {
    withdrawn: [],
    nlri: ['203.0.113.131/32'],
    attrs: { origin: 0, asPath: [{ type: 2, asns }], nextHop: '198.51.100.3' },
  };
  const as4 = must(encodeUpdate(u, { as4: true }));
  // 40 02 2e: well-known transitive AS_PATH of 46 bytes = segment type 2, count 11, 11 × fa56ea01.
  const hex = Buffer.from(as4).toString('hex');
  assert.ok(hex.includes(`40022e020b${'fa56ea01'.repeat(11)}`), hex);
  const r4 = decodeUpdate(as4, { as4: true });
  assert.ok(r4.ok);
  assert.deepEqual(r4.value.attrs.asPath, [{ type: 2, asns }]);
  const as2 = must(encodeUpdate(u, { as4: false }));
  const r2 = decodeUpdate(as2, { as4: false });
  assert.ok(r2.ok);
  assert.deepEqual(r2.value.attrs.asPath, [{ type: 2, asns: asns.map(() => 23456) }]);
  assert.deepEqual(r2.value.attrs.as4Path, [{ type: 2, asns }]);
});
