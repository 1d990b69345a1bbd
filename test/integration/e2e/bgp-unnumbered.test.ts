// End to end, BGP unnumbered through the real speaker (issue 19): node n1 gets a second link to
// the router, eth1, with nothing but IPv6 link-local addresses on either end; the router's FRR
// peers over it with `neighbor <if> interface remote-as external`; a BGPPeer with
// `interface: eth1` (and no peerAddress) selects n1. The native speaker must run it (no
// peerRefused, ConfigurationState valid), show it Established in its BGPSessionState, and the
// Service's IPv4 VIP must reach FRR's table and the router's kernel via n1's fe80:: address on
// that link (RFC 8950), carry traffic from the client behind the router, and go when the Service
// is deleted. Real controller and speakers, apiserver and NATS (test/lib/cluster.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, MOORING_NS, NET } from '../../lib/cluster.js';

const NS = 'e2e-unnum';

describe('e2e BGP unnumbered: a BGPPeer with interface, native speaker, FRR neighbor <if> interface', { timeout: 300_000 }, () => {
  let c: Cluster | undefined;
  let routerIf = '';
  let n1Lla = '';
  const dump = () => c?.dump() ?? '';

  before(async () => {
    c = await Cluster.start();
    const n1 = c.nodes[0];
    assert.ok(n1 && c.frr);
    // The unnumbered link: n1's eth1 ↔ a router port, link-local addresses only.
    routerIf = c.lab.link(n1, 'eth1', c.router, undefined, []);
    n1Lla = await c.waitFor(
      "n1's eth1 link-local address",
      () => /inet6 (fe80:[0-9a-f:]+)\//.exec(n1.exec('ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth1', 'scope', 'link']))?.[1],
      10_000,
      100,
    );
    c.frr.vtysh(
      'configure terminal',
      `router bgp ${NET.router.asn}`,
      `neighbor ${routerIf} interface remote-as external`,
      'address-family ipv4 unicast',
      `neighbor ${routerIf} activate`,
      'exit-address-family',
      'address-family ipv6 unicast',
      `neighbor ${routerIf} activate`,
    );
    c.serveOnNodes();
    c.startMooring();
    await c.admin.apply(`
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: unnumbered, namespace: ${MOORING_NS} }
spec:
  myASN: ${NET.nodeAsn}
  peerASN: ${NET.router.asn}
  interface: eth1
  nodeSelectors: [{ matchLabels: { kubernetes.io/hostname: n1 } }]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: unnumbered, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.bgpv4}"] }
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: { name: unnumbered, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [unnumbered] }
`);
  });

  after(async () => {
    await c?.cleanup();
  });

  it('runs the peer on n1 (Established in BGPSessionState), the VIP reaches the router via fe80:: on the link and carries traffic, then is withdrawn', async () => {
    assert.ok(c?.frr);
    const cl = c;
    const frr = c.frr;
    await cl.createLbService(NS, 'web');
    await cl.createEndpointSlice(NS, 'web', [{ ip: '198.51.100.230', node: 'n1' }]);
    const [ip = ''] = await cl.waitLbIngress(NS, 'web', 1, 90_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${dump()}`);
    });
    await cl
      .waitFor(`FRR session over ${routerIf} Established`, () => frr.peerState(routerIf) === 'Established', 90_000, 250)
      .catch((e: Error) => {
        throw new Error(`${e.message}; neighbor ${JSON.stringify(frr.neighbor(routerIf))}\n${dump()}`);
      });
    const nb = frr.neighbor(routerIf) as { bgpNeighborAddr?: string; neighborCapabilities?: Record<string, unknown> };
    assert.equal(nb.bgpNeighborAddr, n1Lla);
    assert.equal(nb.neighborCapabilities?.extendedNexthop, 'advertisedAndReceived');
    await cl
      .waitFor(
        `${ip}/32 in FRR via n1's fe80::`,
        () => frr.paths('ipv4', `${ip}/32`).some((p) => p.nexthops?.some((h) => h.ip === n1Lla)),
        60_000,
        250,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}; paths ${JSON.stringify(frr.paths('ipv4', `${ip}/32`))}\n${dump()}`);
      });
    const route = await cl.waitFor(
      `${ip} in the router FIB over ${routerIf}`,
      () => {
        const r = cl.router.exec('ip', ['route', 'show', `${ip}/32`], { allowFail: true }).trim();
        return r.includes(`dev ${routerIf}`) ? r : undefined;
      },
      30_000,
      250,
    );
    assert.match(route, new RegExp(`via (inet6 ${n1Lla}|169\\.254\\.0\\.1) dev ${routerIf}`));
    console.log(`unnumbered e2e: router FIB "${route}"`);
    // The client behind the router reaches the VIP over the unnumbered link: n1 answers.
    assert.equal(await cl.waitFor(`ext reaches ${ip}`, () => cl.reach(cl.ext, ip), 30_000, 250), 'n1');
    // The speaker's status object for the session.
    type State = { status?: Record<string, unknown> };
    const st = await cl.waitFor(
      'n1 BGPSessionState for the unnumbered peer Established',
      async () =>
        (await cl.admin.items<State>('mooring.io/v1alpha1', 'BGPSessionState', { namespace: MOORING_NS }))
          .map((o) => o.status)
          .find((s) => s?.node === 'n1' && s.peer === 'unnumbered' && s.bgpStatus === 'Established' && Number(s.prefixesSent) > 0),
      60_000,
      250,
    );
    console.log(`unnumbered e2e: BGPSessionState ${JSON.stringify(st)}`);
    // Deleted: withdrawn from FRR and the router's kernel; the session stays up.
    await cl.deleteService(NS, 'web');
    await cl.waitFor(`${ip}/32 withdrawn`, () => frr.paths('ipv4', `${ip}/32`).length === 0, 60_000, 250);
    await cl.waitFor(
      `${ip} gone from the router FIB`,
      () => cl.router.exec('ip', ['route', 'show', `${ip}/32`], { allowFail: true }).trim() === '',
      30_000,
      250,
    );
    assert.equal(frr.peerState(routerIf), 'Established');
  });
});
