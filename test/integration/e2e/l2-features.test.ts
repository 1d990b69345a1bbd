// End to end, Layer 2 beyond the first case (issue 9; MetalLB e2e "L2" group): two Services sharing
// one IP are announced from the same node; an L2Advertisement's node selectors and interfaces
// decide who announces (and a config edit moves the IP); deleting a pool re-allocates from another
// and the new IP is announced while the old one goes silent; SIGTERM of the announcing speaker
// hands the IP over make-before-break, so a client opening connections all along loses none. The
// operator is told why, as Events on the Service: the reason a node does not announce, an
// advertisement interface the node lacks (interfaceNotFound), another station answering ARP for
// the IP (l2Conflict: kube-proxy IPVS without strictARP, reproduced with arp_ignore=0 on another node).
// Real controller, three real speakers, real apiserver and NATS cluster (test/lib/cluster.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, MOORING_NS, NET, type Proc } from '../../lib/cluster.js';

const NS = 'e2e-l2f';
const SEL = '203.0.113.32/29'; // pool "sel": .32-.39, only the nodes its L2Advertisement selects
const TMP = '203.0.113.40/29'; // pool "tmp": .40-.47, priority for services labelled pool=tmp
const lastOctet = (ip: string) => Number(ip.split('.')[3]);
const macOf = (i: number) => NET.nodes[i]!.mac as string;
const nodeOfMac = (mac: string | undefined) => NET.nodes.findIndex((n) => n.mac === mac);
type Status = { status?: { node?: string; interfaces?: Array<{ name: string }> } };

function selAdvertisement(host: string, interfaces: string[]): string {
  return `
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: sel, namespace: ${MOORING_NS} }
spec:
  ipAddressPools: [sel]
  interfaces: ${JSON.stringify(interfaces)}
  nodeSelectors: [{ matchLabels: { kubernetes.io/hostname: ${host} } }]
`;
}

describe('e2e L2 features: shared IPs, advertisement selectors, pool deletion, SIGTERM handover', { timeout: 420_000 }, () => {
  let c: Cluster | undefined;
  let speakers: Proc[] = [];
  const dump = () => c?.dump() ?? '';
  const annotate = (e: Error) => {
    throw new Error(`${e.message}\n${dump()}`);
  };

  before(async () => {
    c = await Cluster.start({ noFrr: true });
    c.serveOnNodes();
    speakers = c.startMooring().speakers;
    await c.admin.apply(`
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: l2, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.l2v4}"] }
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: sel, namespace: ${MOORING_NS} }
spec: { addresses: ["${SEL}"], autoAssign: false }
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: tmp, namespace: ${MOORING_NS} }
spec:
  addresses: ["${TMP}"]
  serviceAllocation: { priority: 10, serviceSelectors: [{ matchLabels: { pool: tmp } }] }
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: l2, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [l2, tmp] }
${'---'}${selAdvertisement('n3', ['eth0'])}`);
  });

  after(async () => {
    await c?.cleanup();
  });

  it('announces two Services sharing one IP (allow-shared-ip) from the same node', async () => {
    assert.ok(c);
    const cl = c;
    const shared = '203.0.113.50';
    const ann = { 'metallb.io/allow-shared-ip': 'web-key', 'metallb.io/loadBalancerIPs': shared };
    await cl.createLbService(NS, 'sa', { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] }, { annotations: ann });
    await cl.createLbService(NS, 'sb', { ports: [{ name: 'alt', port: 81, protocol: 'TCP', targetPort: 8081 }] }, { annotations: ann });
    await cl.createEndpointSlice(NS, 'sa', [{ ip: '198.51.100.210', node: 'n1' }]);
    await cl.createEndpointSlice(NS, 'sb', [{ ip: '198.51.100.211', node: 'n2' }]);
    assert.deepEqual(await cl.waitLbIngress(NS, 'sa', 1, 90_000).catch(annotate), [shared]);
    assert.deepEqual(await cl.waitLbIngress(NS, 'sb', 1, 30_000).catch(annotate), [shared]);
    const mac = await cl.waitFor(`an ARP answer for ${shared}`, () => cl.arping(shared), 90_000, 200).catch(annotate);
    const owner = nodeOfMac(mac);
    assert.ok(owner >= 0, `${mac} is not a node's MAC`);
    const name = NET.nodes[owner]!.name;
    // Both Services report the same announcing node (one IP has one owner).
    for (const svc of ['sa', 'sb']) {
      await cl
        .waitFor(
          `ServiceL2Status of ${NS}/${svc} on ${name} only`,
          async () => {
            const nodes = (await cl.l2Statuses(NS, svc)).map((s) => (s as Status).status?.node);
            return nodes.length === 1 && nodes[0] === name;
          },
          30_000,
          200,
        )
        .catch(annotate);
    }
    assert.equal(await cl.waitFor(`client reaches ${shared}`, () => cl.reach(cl.client, shared)), name);
  });

  it("follows an L2Advertisement's node selectors and interfaces, and moves when they change", async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'selected', {}, { annotations: { 'metallb.io/address-pool': 'sel' } });
    await cl.createEndpointSlice(NS, 'selected', [{ ip: '198.51.100.212', node: 'n1' }]);
    const [ip = ''] = await cl.waitLbIngress(NS, 'selected', 1, 60_000).catch(annotate);
    assert.ok(lastOctet(ip) >= 32 && lastOctet(ip) < 40, `${ip} not in ${SEL}`);
    await cl
      .waitFor(`${ip} answered by n3 (the only selected node)`, () => cl.arping(ip, 1) === macOf(2), 60_000, 100)
      .catch((e: Error) => {
        throw new Error(`${e.message}; ARP now ${cl.arping(ip, 1)}\n${dump()}`);
      });
    const st = await cl.waitFor(
      `ServiceL2Status of ${NS}/selected on n3`,
      async () => (await cl.l2Statuses(NS, 'selected')).find((s) => (s as Status).status?.node === 'n3'),
      30_000,
      200,
    );
    assert.deepEqual((st as Status).status?.interfaces, [{ name: 'eth0' }]);
    // Why n1 does not announce it is readable from the cluster: a notAnnounced Event. Its reason
    // follows what n1 sees (first perhaps noServingEndpoints, before the EndpointSlice reaches it):
    // wait for the one that says noMatchingAdvertisement, with the others in the failure message.
    let seen: string[] = [];
    const why = await cl
      .waitFor(
        'notAnnounced Event from n1 with reason noMatchingAdvertisement',
        async () => {
          const fromN1 = (await cl.events(NS, 'Service', 'selected')).filter(
            (e) => e.reason === 'notAnnounced' && String(e.message).includes('node n1'),
          );
          seen = fromN1.map((e) => String(e.message));
          return fromN1.find((e) => /: noMatchingAdvertisement: /.test(String(e.message)));
        },
        30_000,
        200,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}; notAnnounced Events from n1 so far: ${JSON.stringify(seen)}`);
      });
    assert.match(String(why.message), /node n1 does not announce .*: noMatchingAdvertisement: /);
    // The advertisement now selects n2: the IP moves there.
    await cl.admin.apply(selAdvertisement('n2', ['eth0']));
    await cl
      .waitFor(`${ip} answered by n2 after the selector edit`, () => cl.arping(ip, 1) === macOf(1), 60_000, 100)
      .catch((e: Error) => {
        throw new Error(`${e.message}; ARP now ${cl.arping(ip, 1)}\n${dump()}`);
      });
    // An interface the node does not have: nobody announces, and the Service says why.
    await cl.admin.apply(selAdvertisement('n2', ['eth7']));
    await cl.waitFor(`${ip} silent (no node has eth7)`, () => cl.arping(ip, 1) === undefined, 60_000, 100).catch(annotate);
    const noIface = await cl
      .waitFor(
        'interfaceNotFound Event from n2',
        async () =>
          (await cl.events(NS, 'Service', 'selected')).find(
            (e) => e.reason === 'interfaceNotFound' && String(e.message).includes('node n2'),
          ),
        30_000,
        200,
      )
      .catch(annotate);
    assert.equal(noIface.type, 'Warning');
    assert.match(
      String(noIface.message),
      new RegExp(
        `^node n2 owns ${ip.replaceAll('.', '\\.')} but answers ARP/NDP on no interface: L2Advertisement sel allows eth7, this node can announce on eth0;`,
      ),
    );
  });

  it('an ARP conflict (kube-proxy IPVS without strictARP) becomes an l2Conflict Event naming the other MAC', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'clash');
    await cl.createEndpointSlice(NS, 'clash', [{ ip: '198.51.100.215', node: 'n1' }]);
    const [ip = ''] = await cl.waitLbIngress(NS, 'clash', 1, 60_000).catch(annotate);
    const owner = nodeOfMac(await cl.waitFor(`${ip} answered`, () => cl.arping(ip, 1), 60_000, 100).catch(annotate));
    assert.ok(owner >= 0);
    // The lab's nodes stand in for kube-proxy in IPVS mode (pool IPs local on every node,
    // serveOnNodes) with strictARP (arp_ignore=1). strictARP off on one node: its kernel answers
    // ARP for the Service IP too, as kube-proxy's kube-ipvs0 addresses do.
    const other = (owner + 1) % NET.nodes.length;
    const ns = cl.nodes[other]!;
    const arpIgnore = (v: number) => ns.exec('sysctl', ['-qw', `net.ipv4.conf.all.arp_ignore=${v}`, `net.ipv4.conf.eth0.arp_ignore=${v}`]);
    try {
      arpIgnore(0);
      const ev = await cl
        .waitFor(
          `l2Conflict Event naming ${macOf(other)}`,
          async () =>
            (await cl.events(NS, 'Service', 'clash')).find((e) => e.reason === 'l2Conflict' && String(e.message).includes(macOf(other))),
          60_000,
          250,
        )
        .catch(annotate);
      assert.equal(ev.type, 'Warning');
      assert.match(
        String(ev.message),
        new RegExp(
          `^node ${NET.nodes[owner]!.name} announces ${ip.replaceAll('.', '\\.')} on eth0 and another station \\(MAC ${macOf(other)}\\) answers ARP/NDP for it too: .*strictARP: true`,
        ),
      );
    } finally {
      arpIgnore(1);
    }
  });

  it('mooringctl status reads the lab: nodes with their speakers, components, pool usage, who announces each Service', async () => {
    assert.ok(c);
    const cl = c;
    type Report = {
      controller: { leader?: string };
      nodes: Array<{ name: string; ready: boolean; speaker: string }>;
      components: Array<{ name: string; result: string }>;
      pools: Array<{ name: string; assignedIPv4: number; availableIPv4: number }>;
      services: Array<{ service: string; ips: string[]; pool: string; state: string; l2Node?: string }>;
    };
    let last = '';
    const report = await cl
      .waitFor(
        'mooringctl status -o json shows sa announced and pool l2 in use',
        async () => {
          const r = await cl.run(cl.ctl, 'src/bin/mooringctl.ts', ['status', '-o', 'json'], { KUBECONFIG: cl.kube.kubeconfigPath });
          last = `exit ${r.code}\n${r.stdout.slice(0, 3000)}\n${r.stderr.slice(0, 2000)}`;
          if (r.code !== 0) return undefined;
          const j = JSON.parse(r.stdout) as Report;
          const sa = j.services.find((s) => s.service === `${NS}/sa`);
          const pool = j.pools.find((p) => p.name === 'l2');
          return sa?.state === 'announced' && (pool?.assignedIPv4 ?? 0) > 0 ? j : undefined;
        },
        60_000,
        1000,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}; last run: ${last}`);
      });
    assert.deepEqual(
      report.nodes.map((n) => [n.name, n.ready, n.speaker]),
      NET.nodes.map((n) => [n.name, true, 'Valid']),
    );
    assert.ok(
      report.components.some((x) => x.name === 'controller' && x.result === 'Valid'),
      JSON.stringify(report.components),
    );
    assert.ok(report.controller.leader, 'the controller Lease has a holder');
    const sa = report.services.find((s) => s.service === `${NS}/sa`);
    assert.deepEqual([sa?.ips, sa?.pool], [['203.0.113.50'], 'l2']);
    assert.equal(sa?.l2Node, NET.nodes[nodeOfMac(cl.arping('203.0.113.50', 1))]?.name, 'the node answering ARP');
    const text = await cl.run(cl.ctl, 'src/bin/mooringctl.ts', ['status'], { KUBECONFIG: cl.kube.kubeconfigPath });
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^controller leader \S+ \(renewed [^)]+\); nodes 3\/3 ready; 0 components with an invalid configuration; services \d+: /,
    );
    assert.match(text.stdout, new RegExp(`^${NS}/sa +203\\.0\\.113\\.50 +l2 +announced +n\\d`, 'm'));
  });

  it('re-allocates from another pool when the pool is deleted, and announces the new IP', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'mover', {}, { labels: { pool: 'tmp' } });
    await cl.createEndpointSlice(NS, 'mover', [{ ip: '198.51.100.213', node: 'n1' }]);
    const [old = ''] = await cl.waitLbIngress(NS, 'mover', 1, 60_000).catch(annotate);
    assert.ok(lastOctet(old) >= 40 && lastOctet(old) < 48, `${old} not from the priority pool ${TMP}`);
    await cl.waitFor(`${old} answered`, () => cl.arping(old, 1), 60_000, 100).catch(annotate);
    const del = await cl.admin.delete({ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', name: 'tmp', namespace: MOORING_NS });
    assert.equal(del.code, 200, JSON.stringify(del.body));
    const fresh = await cl
      .waitFor(
        `${NS}/mover re-allocated from pool l2`,
        async () => {
          const ips = await cl.lbIngress(NS, 'mover');
          return ips.length === 1 && ips[0] !== old ? ips[0] : undefined;
        },
        60_000,
        200,
      )
      .catch(annotate);
    assert.ok(lastOctet(fresh) >= 48 && lastOctet(fresh) < 64, `${fresh} not in ${NET.pools.l2v4}`);
    await cl.waitFor(`new IP ${fresh} answered`, () => cl.arping(fresh, 1), 60_000, 100).catch(annotate);
    await cl.waitFor(`old IP ${old} silent`, () => cl.arping(old, 1) === undefined, 30_000, 100).catch(annotate);
    const svc = await cl.admin.read<{ metadata: { annotations?: Record<string, string> } }>({
      apiVersion: 'v1',
      kind: 'Service',
      name: 'mover',
      namespace: NS,
    });
    assert.equal(svc?.metadata.annotations?.['metallb.io/ip-allocated-from-pool'], 'l2');
  });

  it('SIGTERM of the announcing speaker hands the IP over make-before-break: no connection attempt lost', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'ho');
    await cl.createEndpointSlice(NS, 'ho', [{ ip: '198.51.100.214', node: 'n1' }]);
    const [ip = ''] = await cl.waitLbIngress(NS, 'ho', 1, 60_000).catch(annotate);
    const owner = nodeOfMac(await cl.waitFor(`${ip} answered`, () => cl.arping(ip, 1), 60_000, 100).catch(annotate));
    assert.ok(owner >= 0);
    assert.equal(await cl.waitFor(`client reaches ${ip}`, () => cl.reach(cl.client, ip)), NET.nodes[owner]!.name);
    // A new connection every 50 ms for 12 s from the segment client; the owner's speaker gets
    // SIGTERM after 3 s. Its node keeps serving (only the speaker stops), so every attempt must
    // succeed: first on the old node, then on the new one, never on nobody.
    const loop = cl.spawn(cl.client, 'test/lib/reach-loop.ts', [ip, '80', '12000', '50', '2000'], {}, 'reach-loop');
    await loop.waitEvent('first attempts', (e) => e.event === 'attempt' && Number(e.i) >= 20, 30_000);
    speakers[owner]!.kill('SIGTERM');
    const exit = await speakers[owner]!.exited;
    assert.equal(exit.code, 0, `speaker exit ${JSON.stringify(exit)}:\n${speakers[owner]!.tail()}`);
    const sum = await loop.waitEvent('summary', (e) => e.event === 'summary', 60_000);
    const failed = loop.events.filter((e) => e.event === 'attempt' && e.ok !== true);
    assert.equal(sum.failures, 0, `lost attempts: ${JSON.stringify(failed.slice(0, 10))}`);
    const byNode = sum.byNode as Record<string, number>;
    const order = loop.events
      .filter((e) => e.event === 'attempt')
      .map((e) => String(e.node))
      .filter((n, i, all) => i === 0 || all[i - 1] !== n);
    const oldName = NET.nodes[owner]!.name;
    // Served by the old owner first, then by live nodes only. (On a heavily loaded machine a
    // starved speaker can be suspected for a moment and the IP can move once more between the
    // live nodes; what must never happen is an attempt that nobody serves.)
    assert.equal(order[0], oldName, `served by ${JSON.stringify(byNode)} in order ${order.join(' → ')}`);
    assert.ok(
      order.length >= 2 && order.slice(1).every((n) => n !== oldName),
      `served by ${JSON.stringify(byNode)} in order ${order.join(' → ')}: the IP did not leave ${oldName}`,
    );
    const final = nodeOfMac(cl.arping(ip, 1));
    assert.equal(
      NET.nodes[final]?.name,
      order[order.length - 1],
      `ARP now answered by ${NET.nodes[final]?.name}; order ${order.join(' → ')}`,
    );
  });
});
