import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEthernet, encodeEthernet, EtherType, fromHex, toHex } from './ethernet.js';
import { decodeIpv6 } from './ndp.js';
import { decodeRouterAdvertisement, encodeRouterAdvertisement } from './ra.js';

// A Router Advertisement FRR 8.4 sent on a `neighbor eth0 interface` link (tcpdump -xx).
const FRR_RA = fromHex(
  [
    '333300000001eaf4d4ca35da86dd',
    '600927bf00183aff',
    'fe80000000000000e8f4d4fffeca35da',
    'ff020000000000000000000000000001',
    '860052ea40000009',
    '0000000000000000',
    '0101eaf4d4ca35da',
  ].join(''),
);

function ipOf(frame: Uint8Array) {
  const eth = decodeEthernet(frame);
  assert.ok(eth.ok);
  const ip = decodeIpv6(eth.value.payload);
  assert.ok(ip.ok);
  return ip.value;
}

test("decodes FRR's Router Advertisement: its link-local source, lifetime and link-layer address", () => {
  const ra = decodeRouterAdvertisement(ipOf(FRR_RA));
  assert.ok(ra.ok);
  assert.deepEqual(ra.value, {
    src: 'fe80::e8f4:d4ff:feca:35da',
    curHopLimit: 64,
    managed: false,
    other: false,
    routerLifetime: 9,
    reachableTime: 0,
    retransTimer: 0,
    sourceLinkAddr: 'ea:f4:d4:ca:35:da',
  });
});

test('encodes the same RA byte for byte (checksum included), and ours decodes back', () => {
  const ip = encodeRouterAdvertisement('fe80::e8f4:d4ff:feca:35da', 'ff02::1', { routerLifetime: 9, sourceLinkAddr: 'ea:f4:d4:ca:35:da' });
  const frame = encodeEthernet({ dst: '33:33:00:00:00:01', src: 'ea:f4:d4:ca:35:da', etherType: EtherType.ipv6, payload: ip });
  // Only the flow label differs (FRR's kernel sets one; we send 0).
  const want = FRR_RA.slice();
  want.set([0x60, 0, 0, 0], 14);
  assert.equal(toHex(frame), toHex(want));
  const ours = decodeRouterAdvertisement(
    ipOf(
      encodeEthernet({
        dst: '33:33:00:00:00:01',
        src: '02:00:00:00:00:01',
        etherType: EtherType.ipv6,
        payload: encodeRouterAdvertisement('fe80::1', 'ff02::1'),
      }),
    ),
  );
  assert.ok(ours.ok);
  assert.deepEqual(ours.value, {
    src: 'fe80::1',
    curHopLimit: 64,
    managed: false,
    other: false,
    routerLifetime: 0,
    reachableTime: 0,
    retransTimer: 0,
  });
});

test('other ICMPv6 messages are not ours; invalid RAs are errors to count and drop (RFC 4861 §6.1.2)', () => {
  const base = ipOf(FRR_RA);
  const mutate = (f: (b: Uint8Array) => void): Uint8Array => {
    const b = FRR_RA.slice();
    f(b);
    return b;
  };
  // An echo request (type 128): well formed, not an RA.
  const echo = decodeRouterAdvertisement({ ...base, payload: Uint8Array.of(128, 0, 0, 0) });
  assert.deepEqual(echo, { ok: true, value: undefined });
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['bad checksum', mutate((b) => (b[0x38] = 0x53)), /bad checksum/],
    ['hop limit 64', mutate((b) => (b[21] = 64)), /hop limit 64/],
  ];
  for (const [desc, frame, re] of cases) {
    const r = decodeRouterAdvertisement(ipOf(frame));
    assert.ok(!r.ok, desc);
    assert.match(r.error, re, desc);
  }
  // Built with a correct checksum but invalid otherwise.
  const built = (src: string, extra: Uint8Array = new Uint8Array(0), code = 0) => {
    const p = encodeRouterAdvertisement(src, 'ff02::1');
    const ip = new Uint8Array(p.length + extra.length);
    ip.set(p);
    ip.set(extra, p.length);
    ip[5] = (ip[5] as number) + extra.length;
    ip[41] = code;
    const d = decodeIpv6(ip);
    assert.ok(d.ok);
    // Re-checksum after the change.
    const m = d.value.payload;
    m[2] = 0;
    m[3] = 0;
    let sum = 0;
    const words = [...d.value.srcBytes, ...d.value.dstBytes];
    for (let i = 0; i < 32; i += 2) sum += ((words[i] as number) << 8) | (words[i + 1] as number);
    sum += m.length + 58;
    for (let i = 0; i < m.length; i += 2) sum += ((m[i] as number) << 8) | (m[i + 1] ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const ck = ~sum & 0xffff;
    m[2] = ck >> 8;
    m[3] = ck & 0xff;
    return decodeRouterAdvertisement(d.value);
  };
  assert.match(String((built('fe80::1', new Uint8Array(0), 1) as { error?: string }).error), /code 1/);
  assert.match(String((built('2001:db8::1') as { error?: string }).error), /not link-local/);
  assert.match(String((built('fe80::1', Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0)) as { error?: string }).error), /option length 0/);
  assert.match(String((built('fe80::1', Uint8Array.of(1, 2, 0, 0, 0, 0, 0, 0)) as { error?: string }).error), /overruns/);
  assert.ok(built('fe80::1').ok);
});
