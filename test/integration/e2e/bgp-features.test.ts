// End to end, BGP beyond the first case (issue 9; MetalLB e2e "BGP" group): an advertisement's
// communities (literal and Community alias) and node selectors reach the router; ETP=Local is
// advertised only from nodes with a ready endpoint and follows new endpoints; one pool announced
// by Layer 2 and BGP at once; and BFD: with a BFDProfile on the BGPPeer, cutting a node's link
// makes the router drop that node's path through BFD (the hold time is 90 s, so nothing else
// could), and restoring it brings the path back. The peer is configured with dynamicASN: external
// (the router's AS is learned from its OPEN). Real controller, three real speakers, FRR
// (bgpd + bfdd) in the router, real apiserver and NATS cluster (test/lib/cluster.ts). Last, the
// MetalLB 0.16 fields the native speaker implements: asPathPrepend and the BGPPeer's localASN. And
// the metallb_* metrics the real processes serve, against MetalLB v0.16.2's list.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Cluster, MOORING_NS, NET } from '../../lib/cluster.js';
import {
  METALLB_BFD_METRICS,
  METALLB_CONTROLLER_METRICS,
  METALLB_SPEAKER_METRICS,
  metallbRows,
  parsePrometheusText,
} from '../../../src/api/metallb-metrics.js';

const NS = 'e2e-bgpf';
const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
const hops = (...i: number[]) => i.map((k) => NET.nodes[k]!.v4).sort();
const lastOctet = (ip: string) => Number(ip.split('.')[3]);

describe('e2e BGP features: communities, node selectors, ETP=Local, L2+BGP, BFD', { timeout: 420_000 }, () => {
  let c: Cluster | undefined;
  const dump = () => c?.dump() ?? '';
  const hopsNow = (ip: string) => JSON.stringify(c?.routerNextHops(ip));

  before(async () => {
    // BFD at 300 ms × 5 on the router's side and in the BFDProfile: 1.5 s detection, robust on a
    // loaded 2-core machine.
    c = await Cluster.start({ bfd: { receiveMs: 300, transmitMs: 300, multiplier: 5 } });
    c.serveOnNodes();
    c.startMooring();
    await c.admin.apply(`
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: { name: steady, namespace: ${MOORING_NS} }
spec: { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 5 }
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: router, namespace: ${MOORING_NS} }
spec: { myASN: ${NET.nodeAsn}, dynamicASN: external, peerAddress: ${NET.router.seg4}, holdTime: 90s, keepaliveTime: 30s, bfdProfile: steady }
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: { name: communities, namespace: ${MOORING_NS} }
spec: { communities: [{ name: tagged, value: "64500:200" }] }
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: plain, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.bgpv4}"] }
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: tagged, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.bgpb}"], autoAssign: false }
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: both, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.both}"], autoAssign: false }
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: { name: plain, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [plain, both] }
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: { name: tagged, namespace: ${MOORING_NS} }
spec:
  ipAddressPools: [tagged]
  communities: ["64500:100", tagged]
  nodeSelectors: [{ matchExpressions: [{ key: kubernetes.io/hostname, operator: In, values: [n2, n3] }] }]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: both, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [both] }
`);
  });

  after(async () => {
    await c?.cleanup();
  });

  it("sends the advertisement's communities (literal and alias) from the selected nodes only", async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'tagged', {}, { annotations: { 'metallb.io/address-pool': 'tagged' } });
    await cl.createEndpointSlice(NS, 'tagged', [{ ip: '198.51.100.220', node: 'n1' }]);
    const [ip = ''] = await cl.waitLbIngress(NS, 'tagged', 1, 90_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${dump()}`);
    });
    assert.ok(lastOctet(ip) >= 176 && lastOctet(ip) < 192, `${ip} not in ${NET.pools.bgpb}`);
    await cl
      .waitFor(`${ip} routed via n2 and n3 only`, () => cl.routerNextHops(ip).join() === hops(1, 2).join(), 90_000, 200)
      .catch((e: Error) => {
        throw new Error(`${e.message}; hops now ${hopsNow(ip)}\n${dump()}`);
      });
    const paths = cl.frr?.paths('ipv4', `${ip}/32`) ?? [];
    assert.equal(paths.length, 2);
    for (const p of paths) assert.equal(p.community?.string, '64500:100 64500:200', JSON.stringify(p));
    const statusNodes = await cl.waitFor(
      'ServiceBGPStatus on n2 and n3',
      async () => {
        const n = (await cl.bgpStatuses(NS, 'tagged')).map((s) => (s as { status?: { node?: string } }).status?.node).sort();
        return n.join() === 'n2,n3' ? n : undefined;
      },
      30_000,
      200,
    );
    assert.deepEqual(statusNodes, ['n2', 'n3']);
  });

  it('with externalTrafficPolicy Local, advertises only from nodes with a ready endpoint', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'local', { externalTrafficPolicy: 'Local' });
    await cl.createEndpointSlice(NS, 'local', [{ ip: '198.51.100.221', node: 'n2' }]);
    const [ip = ''] = await cl.waitLbIngress(NS, 'local', 1, 60_000);
    await cl
      .waitFor(`${ip} routed via n2 only`, () => cl.routerNextHops(ip).join() === hops(1).join(), 60_000, 200)
      .catch((e: Error) => {
        throw new Error(`${e.message}; hops now ${hopsNow(ip)}\n${dump()}`);
      });
    assert.equal(await cl.waitFor(`ext reaches ${ip}`, () => cl.reach(cl.ext, ip)), 'n2');
    // A second endpoint on n3 (not ready first: it does not count until it is).
    await cl.createEndpointSlice(NS, 'local', [{ ip: '198.51.100.222', node: 'n3', ready: false, serving: false }], 'local-n3');
    await cl.createEndpointSlice(NS, 'local', [{ ip: '198.51.100.223', node: 'n1', ready: true }], 'local-n1');
    await cl
      .waitFor(`${ip} routed via n1 and n2`, () => cl.routerNextHops(ip).join() === hops(0, 1).join(), 60_000, 200)
      .catch((e: Error) => {
        throw new Error(`${e.message}; hops now ${hopsNow(ip)}\n${dump()}`);
      });
  });

  it('announces one pool by Layer 2 and BGP at once', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'both', {}, { annotations: { 'metallb.io/address-pool': 'both' } });
    await cl.createEndpointSlice(NS, 'both', [{ ip: '198.51.100.224', node: 'n1' }]);
    const [ip = ''] = await cl.waitLbIngress(NS, 'both', 1, 60_000);
    assert.ok(lastOctet(ip) >= 160 && lastOctet(ip) < 176, `${ip} not in ${NET.pools.both}`);
    await cl
      .waitFor(`${ip} routed via all three nodes`, () => cl.routerNextHops(ip).join() === hops(0, 1, 2).join(), 60_000, 200)
      .catch((e: Error) => {
        throw new Error(`${e.message}; hops now ${hopsNow(ip)}\n${dump()}`);
      });
    const mac = await cl.waitFor(`ARP answer for ${ip} on the segment`, () => cl.arping(ip, 1), 60_000, 100);
    assert.ok(
      NET.nodes.some((n) => n.mac === mac),
      `${mac} is not a node's MAC`,
    );
    await cl.waitFor(
      'ServiceL2Status and three ServiceBGPStatus',
      async () => (await cl.l2Statuses(NS, 'both')).length === 1 && (await cl.bgpStatuses(NS, 'both')).length === 3,
      30_000,
      200,
    );
    assert.ok(await cl.waitFor(`ext reaches ${ip}`, () => cl.reach(cl.ext, ip)));
  });

  it("the real speakers' and controller's /metrics carry MetalLB v0.16.2's metallb_* names, types and labels, literally", async () => {
    assert.ok(c);
    const cl = c;
    const scrape = (host: string) => {
      const text = cl.client.exec('curl', ['-s', '--max-time', '10', `http://${host}:7472/metrics`]);
      const r = parsePrometheusText(text);
      assert.deepEqual(r.orphans, [], `${host}: samples without TYPE`);
      return r.metrics;
    };
    // One node owns the L2 address (only its layer2 counters have samples): the union of the three
    // speakers must be MetalLB's list, and no speaker serves a metallb_* name outside it.
    const union = new Map<string, { type: string; labels: Set<string> }>();
    for (const n of NET.nodes) {
      for (const [name, m] of scrape(n.v4)) {
        if (!name.startsWith('metallb_')) continue;
        const u = union.get(name) ?? { type: m.type, labels: new Set<string>() };
        assert.equal(u.type, m.type, `${name} on ${n.name}`);
        for (const l of m.labels) u.labels.add(l);
        union.set(name, u);
      }
    }
    // This lab's peer has a BFD profile: MetalLB's FRR-mode BFD metrics (peer, vrf) are served too.
    const rows = [...union].map(([n, v]) => [n, v.type, [...v.labels].join('|')] as const).sort((a, b) => a[0].localeCompare(b[0]));
    assert.deepEqual(
      rows,
      [...METALLB_SPEAKER_METRICS, ...METALLB_BFD_METRICS].sort((a, b) => a[0].localeCompare(b[0])),
    );
    assert.deepEqual(
      metallbRows(scrape(NET.api4)),
      [...METALLB_CONTROLLER_METRICS].sort((a, b) => a[0].localeCompare(b[0])),
    );
  });

  it("BFD down withdraws the node's routes at the router long before the 90 s hold time; back when the link is", async () => {
    assert.ok(c);
    const cl = c;
    const [ip = ''] = await cl.waitLbIngress(NS, 'both', 1, 10_000);
    await cl
      .waitFor('BFD Up with all three nodes', () => NET.nodes.every((n) => cl.bfdd?.peer(n.v4)?.status === 'up'), 60_000, 200)
      .catch((e: Error) => {
        throw new Error(`${e.message}; bfdd: ${JSON.stringify(cl.bfdd?.peers())}\n${dump()}`);
      });
    await cl.bfdLinkCut(ip, 0);
  });

  it('a session the router shuts down shows in its BGPSessionState (state, last down reason) and as a BGPSessionDown Event; up again likewise', async () => {
    assert.ok(c);
    const cl = c;
    const frr = cl.frr;
    assert.ok(frr);
    const n1 = NET.nodes[0]!;
    type State = { status?: Record<string, unknown> };
    const stateOf = async () =>
      (await cl.admin.items<State>('mooring.io/v1alpha1', 'BGPSessionState', { namespace: MOORING_NS })).find(
        (o) => o.status?.node === n1.name && o.status?.peer === 'router',
      )?.status;
    const established = await cl
      .waitFor(
        // The BFD test before this one cut n1's link: its session and BFD come back in either order.
        'n1 BGPSessionState Established with prefixes sent and BFD up',
        async () => {
          const st = await stateOf();
          return st?.bgpStatus === 'Established' && Number(st.prefixesSent) > 0 && st.bfdStatus === 'up' ? st : undefined;
        },
        60_000,
        250,
      )
      .catch(async (e: Error) => {
        throw new Error(`${e.message}; now ${JSON.stringify(await stateOf())}\n${dump()}`);
      });
    assert.equal(established.peerAddress, `${NET.router.seg4}:179`);
    assert.equal(established.bfdStatus, 'up');
    assert.equal(established.vrf, '');
    // `mooringctl routes n1 router`: what n1 sends the router, from the live speaker, every attribute.
    const [bothIp = ''] = await cl.waitLbIngress(NS, 'both', 1, 10_000);
    type RoutesView = {
      node: string;
      peers: Array<{ peer: string; state: string; localAsn: number; routes: Array<Record<string, unknown>> }>;
    };
    const routesOf = () =>
      cl.client.exec(process.execPath, [
        '--import',
        'tsx',
        join(REPO_ROOT, 'src/bin/mooringctl.ts'),
        'routes',
        n1.name,
        'router',
        '--speaker',
        `http://${n1.v4}:7472`,
        '-o',
        'json',
      ]);
    // The status object is written from counters polled every few seconds: wait until it counts
    // what the live speaker shows (the session came back from the BFD test a moment ago).
    let routesJson = '';
    let counted: Record<string, unknown> | undefined;
    await cl
      .waitFor(
        'as many routes in `mooringctl routes` as BGPSessionState counts',
        async () => {
          routesJson = routesOf();
          counted = await stateOf();
          const v = JSON.parse(routesJson) as RoutesView;
          return v.peers[0]?.routes.length === Number(counted?.prefixesSent);
        },
        60_000,
        500,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}; status ${JSON.stringify(counted)}; routes ${routesJson}`);
      });
    const view = JSON.parse(routesJson) as RoutesView;
    assert.equal(view.node, n1.name);
    assert.deepEqual(
      view.peers.map((p) => [p.peer, p.state, p.localAsn]),
      [['router', 'established', NET.nodeAsn]],
    );
    assert.deepEqual(
      view.peers[0]?.routes.find((r) => r.prefix === `${bothIp}/32`),
      { prefix: `${bothIp}/32`, nextHop: n1.v4, origin: 'igp', asPath: [NET.nodeAsn], communities: [], largeCommunities: [] },
      routesJson,
    );
    const text = cl.client.exec(process.execPath, [
      '--import',
      'tsx',
      join(REPO_ROOT, 'src/bin/mooringctl.ts'),
      'routes',
      n1.name,
      '--speaker',
      `http://${n1.v4}:7472`,
    ]);
    assert.match(
      text,
      new RegExp(`^  ${bothIp.replace(/\./g, '\\.')}/32  next-hop ${n1.v4.replace(/\./g, '\\.')}  as-path ${NET.nodeAsn}  origin igp`, 'm'),
    );
    // Events of this peer written before the shutdown (the BFD test's down and up among them): the
    // ones this test waits for are new Events, or the same Event counted again.
    const n1Events = async (reason: string) =>
      (await cl.events(MOORING_NS, 'BGPPeer', 'router')).filter(
        (e) => e.reason === reason && String(e.message).includes(`node "${n1.name}"`),
      );
    const seenKey = (e: Record<string, unknown>) => `${String((e.metadata as { name?: string } | undefined)?.name)}#${String(e.count)}`;
    const before = new Set([...(await n1Events('BGPSessionDown')), ...(await n1Events('BGPSessionUp'))].map(seenKey));
    frr.vtysh('configure terminal', `router bgp ${NET.router.asn}`, `neighbor ${n1.v4} shutdown`);
    try {
      const down = await cl
        .waitFor(
          'n1 BGPSessionState down with the NOTIFICATION as reason',
          async () => {
            const st = await stateOf();
            return st?.bgpStatus !== 'Established' && st?.lastDownReason === 'notificationReceived' ? st : undefined;
          },
          60_000,
          250,
        )
        .catch(async (e: Error) => {
          throw new Error(`${e.message}; now ${JSON.stringify(await stateOf())}\n${dump()}`);
        });
      assert.match(String(down.lastDownDetail), /Cease/i);
      assert.equal(down.prefixesSent, 0);
      const ev = await cl
        .waitFor(
          'a new BGPSessionDown Event on BGPPeer router for n1 naming the NOTIFICATION',
          async () =>
            (await n1Events('BGPSessionDown')).find(
              (e) => !before.has(seenKey(e)) && /down: notificationReceived: .*Cease/i.test(String(e.message)),
            ),
          90_000, // held up to a minute by the Event limiter if the BFD test used the burst
          250,
        )
        .catch(async (e: Error) => {
          throw new Error(`${e.message}; n1's Down Events ${JSON.stringify(await n1Events('BGPSessionDown'))}`);
        });
      assert.equal(ev.type, 'Warning');
    } finally {
      frr.vtysh('configure terminal', `router bgp ${NET.router.asn}`, `no neighbor ${n1.v4} shutdown`);
    }
    await cl.waitFor('n1 Established again', async () => (await stateOf())?.bgpStatus === 'Established', 90_000, 250);
    // The speaker's Event limiter allows 3 Events per peer and reason, then one a minute, holding
    // (never dropping) the rest: the BFD test's flaps may have used this node's burst, so the Up
    // can be held for up to a minute.
    await cl
      .waitFor(
        'a new BGPSessionUp Event for n1 (or the last one counted again)',
        async () => (await n1Events('BGPSessionUp')).some((e) => !before.has(seenKey(e))),
        90_000,
        250,
      )
      .catch(async (e: Error) => {
        throw new Error(
          `${e.message}; before ${JSON.stringify([...before])}; n1's Up Events ${JSON.stringify(await n1Events('BGPSessionUp'))}`,
        );
      });
    // One object per node for the one peer.
    const all = await cl.admin.items<State>('mooring.io/v1alpha1', 'BGPSessionState', { namespace: MOORING_NS });
    assert.deepEqual(all.map((o) => o.status?.node).sort(), ['n1', 'n2', 'n3']);
  });

  // Runs last: it changes the BGPPeer (sessions restart) and the router's peer group.
  it('asPathPrepend puts the local AS in front of the AS_PATH; localASN opens the session and fills the path instead of myASN', async () => {
    assert.ok(c);
    const cl = c;
    const frr = cl.frr;
    assert.ok(frr);
    const [ip = ''] = await cl.waitLbIngress(NS, 'both', 1, 10_000);
    const pathsOf = () => (frr.paths('ipv4', `${ip}/32`) ?? []).map((p) => p.aspath?.string ?? '');
    const ref = (kind: string, name: string, v = 'v1beta1') => ({ apiVersion: `metallb.io/${v}`, kind, name, namespace: MOORING_NS });
    const patched = await cl.admin.patch(ref('BGPAdvertisement', 'plain'), { spec: { asPathPrepend: 2 } }, { patchType: 'merge' });
    assert.equal(patched.code, 200, JSON.stringify(patched.body));
    const want = (asn: number) => [asn, asn, asn].join(' ');
    await cl
      .waitFor(
        `three paths with AS_PATH ${want(NET.nodeAsn)}`,
        () => {
          const ps = pathsOf();
          return ps.length === 3 && ps.every((a) => a === want(NET.nodeAsn));
        },
        60_000,
        200,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}; paths now ${JSON.stringify(pathsOf())}\n${dump()}`);
      });
    // localASN 64600: the router must accept any external AS on the node group, then sees 64600 in
    // OPEN (remoteAs) and alone in the AS_PATH (replace-as: myASN 64512 appears nowhere).
    frr.vtysh('configure terminal', `router bgp ${NET.router.asn}`, 'neighbor NODES remote-as external');
    const peer = await cl.admin.patch(ref('BGPPeer', 'router', 'v1beta2'), { spec: { localASN: 64600 } }, { patchType: 'merge' });
    assert.equal(peer.code, 200, JSON.stringify(peer.body));
    await cl
      .waitFor(
        'every node session from AS 64600, paths 64600 64600 64600',
        () => {
          const ps = pathsOf();
          return (
            NET.nodes.every((n) => frr.neighbor(n.v4)?.remoteAs === 64600 && frr.peerState(n.v4) === 'Established') &&
            ps.length === 3 &&
            ps.every((a) => a === want(64600))
          );
        },
        90_000,
        250,
      )
      .catch((e: Error) => {
        throw new Error(
          `${e.message}; paths now ${JSON.stringify(pathsOf())}; remoteAs ${JSON.stringify(NET.nodes.map((n) => frr.neighbor(n.v4)?.remoteAs))}\n${dump()}`,
        );
      });
  });
});
