// End to end, BGP beyond the first case (issue 9; MetalLB e2e "BGP" group): an advertisement's
// communities (literal and Community alias) and node selectors reach the router; ETP=Local is
// advertised only from nodes with a ready endpoint and follows new endpoints; one pool announced
// by Layer 2 and BGP at once; and BFD: with a BFDProfile on the BGPPeer, cutting a node's link
// makes the router drop that node's path through BFD (the hold time is 90 s, so nothing else
// could), and restoring it brings the path back. The peer is configured with dynamicASN: external
// (the router's AS is learned from its OPEN). Real controller, three real speakers, FRR
// (bgpd + bfdd) in the router, real apiserver and NATS cluster (test/lib/cluster.ts). Last, the
// MetalLB 0.16 fields the native speaker implements: asPathPrepend and the BGPPeer's localASN.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, MOORING_NS, NET } from '../../lib/cluster.js';

const NS = 'e2e-bgpf';
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
