// End to end, a multi-hop BGPPeer with a BFDProfile (MetalLB's FRR mode gives such a peer a
// multi-hop BFD session, RFC 5883): the nodes peer with the router's loopback address
// (`ebgpMultiHop: true`), the router's bgpd with `ebgp-multihop` and `update-source` its loopback,
// so bgpd asks bfdd for multi-hop sessions (UDP 4784), once each BGP session is established (FRR
// registers multi-hop BFD only then, so our multi-hop BGP sessions do not wait for BFD). Checks
// that the route goes out via all three nodes, that the speakers' BFD comes Up with FRR's
// multi-hop sessions, and that cutting a node's link drops its path through BFD long before the
// 90 s hold time. Real controller, three real speakers, FRR (bgpd + bfdd), real apiserver and
// NATS cluster (test/lib/cluster.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, MOORING_NS, NET, defaultFrrConf } from '../../lib/cluster.js';

const NS = 'e2e-mhop';
/** The router's loopback address, the nodes' BGP and BFD peer (off the segment, routed). */
const LOOPBACK = '203.0.113.254';
const hops = (...i: number[]) => i.map((k) => NET.nodes[k]!.v4).sort();

describe('e2e multi-hop BGP peer with BFD (RFC 5883)', { timeout: 420_000 }, () => {
  let c: Cluster | undefined;
  const dump = () => c?.dump() ?? '';
  const hopsNow = (ip: string) => JSON.stringify(c?.routerNextHops(ip));
  const bfdPeers = () =>
    JSON.stringify(c?.bfdd?.peers()?.map((p) => ({ peer: p.peer, status: p.status, multihop: (p as { multihop?: boolean }).multihop })));

  before(async () => {
    c = await Cluster.start({
      frrConf: defaultFrrConf({ nodes4: [' neighbor NODES ebgp-multihop 2', ` neighbor NODES update-source ${LOOPBACK}`] }),
      bfd: { receiveMs: 300, transmitMs: 300, multiplier: 5 },
    });
    c.router.exec('ip', ['addr', 'add', `${LOOPBACK}/32`, 'dev', 'lo']);
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
metadata: { name: router-loopback, namespace: ${MOORING_NS} }
spec: { myASN: ${NET.nodeAsn}, peerASN: ${NET.router.asn}, peerAddress: ${LOOPBACK}, ebgpMultiHop: true, holdTime: 90s, keepaliveTime: 30s, bfdProfile: steady }
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: plain, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.bgpv4}"] }
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: { name: plain, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [plain] }
`);
  });

  after(async () => {
    await c?.cleanup();
  });

  it('the route goes out via all three nodes, and BFD comes Up on multi-hop sessions with each', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'web');
    await cl.createEndpointSlice(NS, 'web', [{ ip: '198.51.100.230', node: 'n1' }]);
    const [ip = ''] = await cl.waitLbIngress(NS, 'web', 1, 90_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${dump()}`);
    });
    await cl
      .waitFor(`${ip} routed via all three nodes`, () => cl.routerNextHops(ip).join() === hops(0, 1, 2).join(), 90_000, 200)
      .catch((e: Error) => {
        throw new Error(`${e.message}; hops now ${hopsNow(ip)}; bfdd: ${bfdPeers()}\n${dump()}`);
      });
    await cl
      .waitFor('FRR BFD Up with all three nodes', () => NET.nodes.every((n) => cl.bfdd?.peer(n.v4)?.status === 'up'), 90_000, 200)
      .catch((e: Error) => {
        throw new Error(`${e.message}; bfdd: ${bfdPeers()}\n${dump()}`);
      });
    assert.ok(
      cl.bfdd?.peers()?.every((p) => (p as { multihop?: boolean }).multihop === true),
      `FRR's sessions are multi-hop: ${bfdPeers()}`,
    );
  });

  it("a cut link drops that node's path through multi-hop BFD, long before the 90 s hold time; back with the link", async () => {
    assert.ok(c);
    const [ip = ''] = await c.waitLbIngress(NS, 'web', 1, 10_000);
    await c.bfdLinkCut(ip, 0);
  });
});
