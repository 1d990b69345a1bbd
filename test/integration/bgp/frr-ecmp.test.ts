// Interop with FRR bgpd + zebra: a router namespace and three node namespaces on one bridge, each
// node running our bgp-speaker with an IPv4 and an IPv6 session (eBGP 64512 → 64513). Checks,
// from FRR's JSON and the router's kernel table: sessions Established in both families, a /32 and
// a /128 announced by all three nodes installed as 3-way ECMP, communities and large communities
// on the path, and withdrawal (one node, then all).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { Frr, Speaker, kernelNextHops } from '../../lib/bgp.js';

const R4 = '198.51.100.1';
const R6 = '2001:db8:4::1';
const NODES = [11, 12, 13].map((n) => ({ v4: `198.51.100.${n}`, v6: `2001:db8:4::${n}`, name: `node-${n}` }));
const VIP4 = '203.0.113.129';
const VIP6 = '2001:db8:4:ff::1';

const lab = new Lab('bg');
let r: Netns;
let frr: Frr;
const speakers: Speaker[] = [];

function speakerConfig(n: (typeof NODES)[number], ips: string[]) {
  // Hold 30 s: generous on a shared, noisy machine (the hold timer is tested in frr-session).
  const peer = { myAsn: 64512, peerAsn: 64513, holdTime: 30, retryInitialMs: 500, retryMaxMs: 2000 };
  return {
    node: { name: n.name },
    peers: [
      { ...peer, name: 'r4', peerAddress: R4, families: ['ipv4'] },
      { ...peer, name: 'r6', peerAddress: R6, families: ['ipv6'] },
    ],
    advertisements: [{ name: 'all', communities: ['65000:100', 'large:64512:1:2'] }],
    services: ips.length > 0 ? [{ key: 'default/web', ips, pool: 'p1' }] : [],
  };
}

before(async () => {
  requireRoot();
  requireTools('ip', 'vtysh');
  r = lab.netns('r');
  lab.bridge(r, 'br0');
  r.exec('ip', ['addr', 'add', `${R4}/26`, 'dev', 'br0']);
  r.exec('ip', ['addr', 'add', `${R6}/64`, 'dev', 'br0', 'nodad']);
  r.exec('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
  const conf = [
    'router bgp 64513',
    ` bgp router-id ${R4}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' no bgp network import-check',
    ...NODES.flatMap((n) => [
      ` neighbor ${n.v4} remote-as 64512`,
      ` neighbor ${n.v4} timers 10 30`,
      ` neighbor ${n.v6} remote-as 64512`,
      ` neighbor ${n.v6} timers 10 30`,
    ]),
    ' address-family ipv4 unicast',
    '  maximum-paths 8',
    ...NODES.map((n) => `  neighbor ${n.v4} activate`),
    ' exit-address-family',
    ' address-family ipv6 unicast',
    '  maximum-paths 8',
    ...NODES.map((n) => `  neighbor ${n.v6} activate`),
    ' exit-address-family',
  ].join('\n');
  frr = Frr.start(lab, r, conf);
  NODES.forEach((n, i) => {
    const ns = lab.netns(`n${i + 1}`);
    lab.link(ns, 'eth0', r, 'br0', [`${n.v4}/26`, `${n.v6}/64`]);
    speakers.push(Speaker.start(lab, ns, speakerConfig(n, [VIP4, VIP6])));
  });
});

after(async () => {
  await lab.cleanup();
});

test('sessions reach Established for IPv4 and IPv6 peers on all three nodes', async () => {
  try {
    await waitFor(
      'FRR sees 6 Established sessions',
      () => NODES.every((n) => frr.peerState(n.v4) === 'Established' && frr.peerState(n.v6) === 'Established'),
      120_000,
      250,
    );
  } catch (e) {
    console.error(
      frr.log.slice(-40).join('\n'),
      '\n',
      speakers.map((s) => [...s.events.slice(-8).map((x) => JSON.stringify(x)), ...s.stderr.slice(-10)].join('\n')).join('\n---\n'),
    );
    throw e;
  }
  for (const s of speakers) {
    await waitFor(
      'speaker logs sessionUp for both peers',
      () => ['r4', 'r6'].every((p) => s.find((e) => e.event === 'sessionUp' && e.peer === p)),
      10_000,
    );
  }
  const up = speakers[0]?.find((e) => e.event === 'sessionUp' && e.peer === 'r4') as {
    negotiated: { holdTime: number; routerId: string; as4: boolean };
  };
  assert.equal(up.negotiated.holdTime, 30);
  assert.equal(up.negotiated.routerId, NODES[0]?.v4, 'router ID falls back to the local IPv4 address');
  assert.equal(up.negotiated.as4, true);
});

test('a /32 and a /128 from all three nodes are installed as 3-way ECMP in the router kernel', async () => {
  const want4 = NODES.map((n) => n.v4).sort();
  const want6 = NODES.map((n) => n.v6).sort();
  await waitFor(
    '3 IPv4 next hops in the kernel',
    () => JSON.stringify(kernelNextHops(r, `${VIP4}/32`)) === JSON.stringify(want4),
    30_000,
    250,
  );
  await waitFor(
    '3 IPv6 next hops in the kernel',
    () => JSON.stringify(kernelNextHops(r, `${VIP6}/128`)) === JSON.stringify(want6),
    30_000,
    250,
  );
  const paths = frr.paths('ipv4', `${VIP4}/32`);
  assert.equal(paths.length, 3);
  assert.ok(
    paths.every((p) => p.multipath || p.bestpath?.overall),
    'all three paths are used',
  );
});

test('communities and large communities are visible on the paths', () => {
  for (const [afi, pfx] of [
    ['ipv4', `${VIP4}/32`],
    ['ipv6', `${VIP6}/128`],
  ] as const) {
    const paths = frr.paths(afi, pfx);
    assert.equal(paths.length, 3, `${pfx}: 3 paths`);
    for (const p of paths) {
      assert.equal(p.community?.string, '65000:100');
      assert.equal(p.largeCommunity?.string, '64512:1:2');
      assert.equal(p.aspath?.string, '64512');
    }
  }
});

test('ROUTE-REFRESH from the router: the speaker re-sends its routes, the ECMP set is unchanged', async () => {
  const n = NODES[0] as (typeof NODES)[number];
  const s = speakers[0] as Speaker;
  const before = s.events.filter((e) => e.event === 'routesSent' && e.peer === 'r4').length;
  frr.vtysh(`clear bgp ipv4 unicast ${n.v4} soft in`);
  await waitFor(
    'speaker answered the ROUTE-REFRESH',
    () => s.find((e) => e.event === 'routeRefresh' && e.peer === 'r4' && e.afi === 1),
    15_000,
    100,
  );
  await waitFor('routes re-sent', () => s.events.filter((e) => e.event === 'routesSent' && e.peer === 'r4').length > before, 15_000, 100);
  assert.equal(frr.peerState(n.v4), 'Established');
  assert.equal(kernelNextHops(r, `${VIP4}/32`).length, 3);
});

test('withdrawal: one node drops to 2-way ECMP, then all nodes remove the route', async () => {
  const [s1, s2, s3] = speakers as [Speaker, Speaker, Speaker];
  s1.reconfigure(speakerConfig(NODES[0] as (typeof NODES)[number], []));
  const rest4 = NODES.slice(1)
    .map((n) => n.v4)
    .sort();
  const rest6 = NODES.slice(1)
    .map((n) => n.v6)
    .sort();
  await waitFor('2 IPv4 next hops left', () => JSON.stringify(kernelNextHops(r, `${VIP4}/32`)) === JSON.stringify(rest4), 15_000, 100);
  await waitFor('2 IPv6 next hops left', () => JSON.stringify(kernelNextHops(r, `${VIP6}/128`)) === JSON.stringify(rest6), 15_000, 100);
  s2.reconfigure(speakerConfig(NODES[1] as (typeof NODES)[number], []));
  s3.reconfigure(speakerConfig(NODES[2] as (typeof NODES)[number], []));
  await waitFor(
    'IPv4 route gone from the kernel',
    () => kernelNextHops(r, `${VIP4}/32`).length === 0 && !r.exec('ip', ['route', 'show', `${VIP4}/32`]).trim(),
    15_000,
    100,
  );
  await waitFor('IPv6 route gone from the kernel', () => !r.exec('ip', ['-6', 'route', 'show', `${VIP6}/128`]).trim(), 15_000, 100);
  assert.equal(frr.paths('ipv4', `${VIP4}/32`).length, 0);
  // Sessions stay up through withdrawals.
  assert.ok(NODES.every((n) => frr.peerState(n.v4) === 'Established' && frr.peerState(n.v6) === 'Established'));
});
