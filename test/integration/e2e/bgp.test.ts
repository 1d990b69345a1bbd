// End to end, BGP (issue 9; MetalLB e2e "BGP" group, first case): the real controller and three
// real speakers (src/bin) with deploy/rbac's ServiceAccounts peer with FRR in the router
// (test/lib/cluster.ts). A LoadBalancer Service's IP is routed by the router's kernel over 3-way
// ECMP to the nodes, the external client behind the router reaches it, and every node reports a
// ServiceBGPStatus. SIGKILL of one speaker removes exactly its path; the client still reaches the IP.
// A session the router shuts down is shown by the node's BGPSessionState (state, the typed reason)
// and a BGPSessionDown Event, then BGPSessionUp: the same objects and words from both backends.
// Run for both BGP backends (MOORING_BGP_BACKENDS=native,frr by default): with --bgp-backend=frr the
// speakers configure an FRR of their own in each node namespace (test/lib/cluster.ts
// frrBackendArgs) and the same routes must reach the router; there a peer change is applied by a
// reload that leaves the other session up, and a VRF peer is rendered and taken by FRR.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, MOORING_NS, NET, type Proc } from '../../lib/cluster.js';
import type { Frr } from '../../lib/bgp.js';

const NS = 'e2e-bgp';
const ALL_HOPS = NET.nodes.map((n) => n.v4).sort();

const BACKENDS = (process.env.MOORING_BGP_BACKENDS ?? 'native,frr').split(',') as Array<'native' | 'frr'>;

for (const backend of BACKENDS)
  describe(
    `e2e BGP (${backend} backend): 3-way ECMP at the router, withdrawal, speaker loss (native) or peer change (FRR)`,
    { timeout: 300_000 },
    () => {
      let c: Cluster | undefined;
      const speakers: Proc[] = [];
      let controller: Proc;

      before(async () => {
        c = await Cluster.start();
        c.serveOnNodes();
        const started = c.startMooring({ bgpBackend: backend });
        controller = started.controller;
        speakers.push(...started.speakers);
        await c.admin.apply(`
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: bgp, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.bgpv4}", "${NET.pools.bgpv6}"] }
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: { name: bgp, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [bgp] }
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: router, namespace: ${MOORING_NS} }
spec: { myASN: ${NET.nodeAsn}, peerASN: ${NET.router.asn}, peerAddress: ${NET.router.seg4}, holdTime: 9s }
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: router6, namespace: ${MOORING_NS} }
spec: { myASN: ${NET.nodeAsn}, peerASN: ${NET.router.asn}, peerAddress: "${NET.router.seg6}", holdTime: 9s }
`);
      });

      after(async () => {
        await c?.cleanup();
      });

      const dump = () => c?.dump() ?? '';
      let ip = '';

      it('routes the service IP over the three nodes and the external client reaches it', async () => {
        assert.ok(c);
        const cl = c;
        await cl.createLbService(NS, 'web');
        await cl.createEndpointSlice(NS, 'web', [{ ip: '198.51.100.201', node: NET.nodes[0]!.name }]);
        [ip = ''] = await cl.waitLbIngress(NS, 'web', 1, 90_000).catch((e: Error) => {
          throw new Error(`${e.message}\n${dump()}`);
        });
        assert.ok(
          ip.startsWith('203.0.113.1') && Number(ip.split('.')[3]) >= 128 && Number(ip.split('.')[3]) < 160,
          `${ip} not in ${NET.pools.bgpv4}`,
        );
        await cl
          .waitFor(`3 next hops for ${ip} in the router's kernel`, () => cl.routerNextHops(ip).join() === ALL_HOPS.join(), 90_000, 200)
          .catch((e: Error) => {
            throw new Error(
              `${e.message}; hops now ${JSON.stringify(cl.routerNextHops(ip))}\nFRR: ${JSON.stringify(cl.vtyshJson('show bgp ipv4 unicast summary json'))}\n${dump()}`,
            );
          });
        const paths = cl.frr?.paths('ipv4', `${ip}/32`) ?? [];
        assert.equal(paths.length, 3);
        assert.ok(
          paths.every((p) => p.aspath?.string === String(NET.nodeAsn)),
          JSON.stringify(paths.map((p) => p.aspath)),
        );
        const served = await cl.waitFor(`ext reaches ${ip}`, () => cl.reach(cl.ext, ip));
        assert.ok(
          NET.nodes.some((n) => n.name === served),
          `served by ${served}`,
        );
        await cl.waitFor(
          `ServiceBGPStatus of ${NS}/web on all nodes`,
          async () => {
            const nodes = (await cl.bgpStatuses(NS, 'web')).map((s) => (s as { status?: { node?: string } }).status?.node).sort();
            return nodes.join() === NET.nodes.map((n) => n.name).join();
          },
          30_000,
          200,
        );
      });

      it('routes a dual-stack Service over the IPv4 and IPv6 sessions, 3-way on both families', async () => {
        assert.ok(c);
        const cl = c;
        await cl.createLbService(NS, 'dual', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] });
        await cl.createEndpointSlice(NS, 'dual', [{ ip: '198.51.100.204', node: NET.nodes[0]!.name }]);
        const ips = await cl.waitLbIngress(NS, 'dual', 2, 60_000);
        const v4 = ips.find((x) => !x.includes(':'));
        const v6 = ips.find((x) => x.includes(':'));
        assert.ok(v4 && v6 && v6.startsWith('2001:db8:21::'), `not one address per family from the pool: ${ips.join(', ')}`);
        await cl.waitFor(`3 next hops for ${v4}`, () => cl.routerNextHops(v4).join() === ALL_HOPS.join(), 60_000, 200);
        // IPv6 next hops may be the nodes' link-local addresses: count paths and hops, and check the
        // paths come from the three v6 sessions.
        await cl
          .waitFor(
            `3 paths and next hops for ${v6}`,
            () => cl.routerNextHops(v6).length === 3 && (cl.frr?.paths('ipv6', `${v6}/128`) ?? []).length === 3,
            60_000,
            200,
          )
          .catch((e: Error) => {
            throw new Error(
              `${e.message}; hops ${JSON.stringify(cl.routerNextHops(v6))}; FRR v6: ${JSON.stringify(cl.vtyshJson('show bgp ipv6 unicast summary json'))}\n${dump()}`,
            );
          });
        const peers = (cl.frr?.paths('ipv6', `${v6}/128`) ?? []).map((p) => p.peer?.peerId).sort();
        assert.deepEqual(peers, NET.nodes.map((n) => n.v6).sort());
        const served4 = await cl.waitFor(`ext reaches ${v4}`, () => cl.reach(cl.ext, v4));
        const served6 = await cl.waitFor(`ext reaches ${v6}`, () => cl.reach(cl.ext, v6));
        assert.ok(NET.nodes.some((n) => n.name === served4) && NET.nodes.some((n) => n.name === served6), `${served4} ${served6}`);
      });

      it('a session the router shuts down shows in its BGPSessionState (state, typed reason) and as Events; up again likewise', async () => {
        assert.ok(c && ip);
        const cl = c;
        const frr = cl.frr;
        assert.ok(frr);
        const n1 = NET.nodes[0]!;
        type State = { status?: Record<string, unknown> };
        const stateOf = async () =>
          (await cl.admin.items<State>('mooring.io/v1alpha1', 'BGPSessionState', { namespace: MOORING_NS })).find(
            (o) => o.status?.node === n1.name && o.status?.peer === 'router',
          )?.status;
        const upEvents = async () =>
          (await cl.events(MOORING_NS, 'BGPPeer', 'router'))
            .filter((e) => e.reason === 'BGPSessionUp' && String(e.message).includes(`node "${n1.name}"`))
            .reduce((a, e) => a + Number(e.count ?? 1), 0);
        const established = await cl
          .waitFor(
            'n1 BGPSessionState Established with prefixes sent',
            async () => {
              const st = await stateOf();
              return st?.bgpStatus === 'Established' && Number(st.prefixesSent) > 0 ? st : undefined;
            },
            60_000,
            250,
          )
          .catch(async (e: Error) => {
            throw new Error(`${e.message}; now ${JSON.stringify(await stateOf())}\n${dump()}`);
          });
        assert.equal(established.peerAddress, `${NET.router.seg4}:179`);
        assert.equal(established.vrf, '');
        const upsBefore = await cl.waitFor('a BGPSessionUp Event for n1', upEvents, 30_000, 250);
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
          assert.match(String(down.lastDownDetail), /^peer sent NOTIFICATION 6\/2: cease: administrative shutdown$/);
          assert.equal(down.prefixesSent, 0);
          const ev = await cl.waitFor(
            'BGPSessionDown Event on BGPPeer router',
            async () =>
              (await cl.events(MOORING_NS, 'BGPPeer', 'router')).find(
                (e) => e.reason === 'BGPSessionDown' && String(e.message).includes(`node "${n1.name}"`),
              ),
            30_000,
            250,
          );
          assert.equal(ev.type, 'Warning');
          assert.match(String(ev.message), /down: notificationReceived: peer sent NOTIFICATION 6\/2: cease: administrative shutdown/);
        } finally {
          frr.vtysh('configure terminal', `router bgp ${NET.router.asn}`, `no neighbor ${n1.v4} shutdown`);
        }
        await cl.waitFor('n1 Established again', async () => (await stateOf())?.bgpStatus === 'Established', 90_000, 250);
        await cl.waitFor('another BGPSessionUp Event for n1', async () => (await upEvents()) > upsBefore, 30_000, 250);
        await cl.waitFor(`3 next hops for ${ip} again`, () => cl.routerNextHops(ip).join() === ALL_HOPS.join(), 60_000, 200);
      });

      it(
        'FRR backend: a peer change is applied by a reload that leaves the other session up; a VRF peer is rendered',
        { skip: backend !== 'frr' && 'FRR backend only' },
        async () => {
          assert.ok(c && ip);
          const cl = c;
          const node0 = cl.nodeFrr[0] as Frr;
          type N = Record<string, { bgpState?: string; connectionsEstablished?: number; bgpTimerConfiguredHoldTimeMsecs?: number }>;
          const at = (f: Frr, addr: string) => f.json<N>(`show bgp neighbors ${addr} json`)?.[addr];
          const v4Before = at(node0, NET.router.seg4);
          const routerSide = cl.frr?.neighbor(NET.nodes[0]!.v4) as { connectionsEstablished?: number; bgpState?: string } | undefined;
          assert.equal(v4Before?.bgpState, 'Established');
          assert.equal(routerSide?.bgpState, 'Established');
          // Change the IPv6 peer only (hold time 9 s → 12 s), and add a peer in VRF red.
          await cl.admin.apply(`
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: router6, namespace: ${MOORING_NS} }
spec: { myASN: ${NET.nodeAsn}, peerASN: ${NET.router.asn}, peerAddress: "${NET.router.seg6}", holdTime: 12s }
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: red, namespace: ${MOORING_NS} }
spec: { myASN: ${NET.nodeAsn}, peerASN: ${NET.router.asn}, peerAddress: 198.51.100.250, vrf: red }
`);
          await cl
            .waitFor(
              'node FRR has the new hold time on router6 and the VRF red neighbor',
              () =>
                at(node0, NET.router.seg6)?.bgpTimerConfiguredHoldTimeMsecs === 12_000 &&
                node0.json<Record<string, Record<string, unknown>>>('show bgp vrf red neighbors json')?.['198.51.100.250'] !== undefined,
              60_000,
              200,
            )
            .catch((e: Error) => {
              throw new Error(`${e.message}\n${node0.vtysh('show running-config')}\n${dump()}`);
            });
          const v4After = at(node0, NET.router.seg4);
          assert.equal(v4After?.bgpState, 'Established');
          assert.equal(
            v4After?.connectionsEstablished,
            v4Before?.connectionsEstablished,
            'the IPv4 session was re-established by the reload',
          );
          const routerAfter = cl.frr?.neighbor(NET.nodes[0]!.v4) as { connectionsEstablished?: number; bgpState?: string } | undefined;
          assert.equal(routerAfter?.bgpState, 'Established');
          assert.equal(routerAfter?.connectionsEstablished, routerSide?.connectionsEstablished, 'the router saw the IPv4 session reset');
          assert.deepEqual(cl.routerNextHops(ip), ALL_HOPS);
          await cl.admin.delete({ apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', name: 'red', namespace: MOORING_NS });
        },
      );

      it(
        'drops the path of a SIGKILLed speaker and keeps serving through the others',
        { skip: backend === 'frr' && 'native backend: with FRR the session lives in FRR, not the speaker' },
        async () => {
          assert.ok(c && ip);
          const cl = c;
          speakers[0]!.kill('SIGKILL');
          await speakers[0]!.exited;
          const rest = ALL_HOPS.filter((h) => h !== NET.nodes[0]!.v4);
          await cl
            .waitFor(`router drops ${NET.nodes[0]!.v4} for ${ip}`, () => cl.routerNextHops(ip).join() === rest.join(), 60_000, 200)
            .catch((e: Error) => {
              throw new Error(`${e.message}; hops now ${JSON.stringify(cl.routerNextHops(ip))}\n${dump()}`);
            });
          const served = await cl.waitFor(`ext reaches ${ip}`, () => cl.reach(cl.ext, ip));
          assert.ok(['n2', 'n3'].includes(served), `served by ${served}`);
          assert.ok(controller.alive(), `controller exited:\n${controller.tail()}`);
        },
      );

      it('withdraws the route everywhere when the Service is deleted', async () => {
        assert.ok(c && ip);
        const cl = c;
        await cl.deleteService(NS, 'web');
        await cl
          .waitFor(
            `router has no route for ${ip}`,
            () => cl.routerNextHops(ip).length === 0 && (cl.frr?.paths('ipv4', `${ip}/32`) ?? []).length === 0,
            30_000,
            100,
          )
          .catch((e: Error) => {
            throw new Error(`${e.message}; hops now ${JSON.stringify(cl.routerNextHops(ip))}\n${dump()}`);
          });
        assert.equal(cl.reach(cl.ext, ip, 80, 1), undefined, `${ip} still reachable from outside`);
      });
    },
  );
