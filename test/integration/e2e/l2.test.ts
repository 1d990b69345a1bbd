// End to end, Layer 2 (issue 9; MetalLB e2e "L2" group, first case): the real controller and three
// real speakers (src/bin) run with deploy/rbac's ServiceAccounts against the real apiserver and a
// 3-server NATS cluster (test/lib/cluster.ts). A LoadBalancer Service gets an IP from the pool; one
// speaker answers ARP for it with its node's MAC, the segment client reaches that node, and the
// Kubernetes side says so (ServiceL2Status, nodeAssigned). SIGKILL of that speaker moves the IP:
// another node's MAC answers, the client reaches the new node, and its ServiceL2Status appears.
// The controller and speakers here run as the image runs them: bin/mooring with MOORING_DIST=1,
// i.e. the esbuild bundles of scripts/bundle.mjs (pcap and koffi loaded from node_modules).
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, MOORING_NS, NET, type Proc } from '../../lib/cluster.js';

const NS = 'e2e-l2';
const POOL = NET.pools.l2v4;

function inPool(ip: string): boolean {
  const last = Number(ip.split('.')[3]);
  return ip.startsWith('203.0.113.') && last >= 48 && last < 64;
}

describe('e2e L2: controller allocates, speakers announce, SIGKILL of the owner fails over', { timeout: 300_000 }, () => {
  let c: Cluster | undefined;
  const speakers: Proc[] = [];
  let controller: Proc;

  before(async () => {
    const b = spawnSync(process.execPath, ['scripts/bundle.mjs'], { encoding: 'utf8', cwd: new URL('../../..', import.meta.url).pathname });
    assert.equal(b.status, 0, `node scripts/bundle.mjs failed:\n${b.stdout}${b.stderr}`);
    c = await Cluster.start({ noFrr: true });
    c.serveOnNodes();
    const started = c.startMooring({ compiled: true });
    controller = started.controller;
    speakers.push(...started.speakers);
    await c.admin.apply(`
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: l2, namespace: ${MOORING_NS} }
spec: { addresses: ["${POOL}", "${NET.pools.l2v6}"] }
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: l2, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [l2] }
`);
  });

  after(async () => {
    await c?.cleanup();
  });

  let svcEvents = '';
  const dump = () => `${c?.dump() ?? ''}\nService events: ${svcEvents}`;
  let ip = '';
  let owner = -1;

  it('allocates an IP from the pool and one speaker announces it (ARP, reachability, ServiceL2Status, nodeAssigned)', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'web');
    // A ready endpoint (MetalLB announces nothing for a service without one). No pod exists:
    // the address is only data; the node backends answer for the IP.
    await cl.createEndpointSlice(NS, 'web', [{ ip: '198.51.100.201', node: NET.nodes[0]!.name }]);
    [ip = ''] = await cl.waitLbIngress(NS, 'web', 1, 90_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${dump()}`);
    });
    assert.ok(inPool(ip), `${ip} not in ${POOL}`);
    const mac = await cl
      .waitFor(`an ARP answer for ${ip}`, () => cl.arping(ip), 90_000, 200)
      .catch(async (e: Error) => {
        svcEvents = JSON.stringify((await cl.events(NS, 'Service', 'web')).map((x) => `${String(x.reason)}: ${String(x.message)}`));
        throw new Error(`${e.message}\n${dump()}`);
      });
    owner = NET.nodes.findIndex((n) => n.mac === mac);
    assert.ok(owner >= 0, `ARP answer ${mac} is not a node's MAC`);
    const name = NET.nodes[owner]!.name;
    assert.equal(await cl.waitFor(`client reaches ${ip}`, () => cl.reach(cl.client, ip)), name);
    const st = await cl.waitFor(
      `ServiceL2Status of ${NS}/web on ${name}`,
      async () => (await cl.l2Statuses(NS, 'web')).find((s) => (s as { status?: { node?: string } }).status?.node === name),
      30_000,
      200,
    );
    assert.ok(st);
    const ev = await cl.waitFor(
      'nodeAssigned Event',
      async () => (await cl.events(NS, 'Service', 'web')).find((e) => e.reason === 'nodeAssigned' && String(e.message).includes(name)),
      30_000,
      200,
    );
    assert.ok(ev);
    // Exactly one node answers: the other speakers stay silent.
    assert.equal(cl.arping(ip), mac);
    // MetalLB's layer2 counters on the owner's /metrics (scraped from the segment client).
    const metrics = cl.client.exec('curl', ['-s', '--max-time', '10', `http://${NET.nodes[owner]!.v4}:7472/metrics`]);
    const counter = (n: string) =>
      Number(new RegExp(`^metallb_${n}\\{[^}]*ip="${ip.replace(/\./g, '\\.')}"[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN);
    assert.ok(
      counter('layer2_requests_received') >= 2,
      `layer2_requests_received for ${ip}:\n${metrics
        .split('\n')
        .filter((l) => l.includes('layer2'))
        .join('\n')}`,
    );
    assert.ok(counter('layer2_responses_sent') >= 2);
    assert.ok(counter('layer2_gratuitous_sent') >= 1);
    assert.match(metrics, new RegExp(`^metallb_speaker_announced\\{[^}]*ip="${ip.replace(/\./g, '\\.')}"[^}]*\\} 1`, 'm'));
  });

  it('moves the IP to another node when the owner speaker is SIGKILLed', async () => {
    assert.ok(c && ip && owner >= 0);
    const cl = c;
    const oldMac = NET.nodes[owner]!.mac;
    speakers[owner]!.kill('SIGKILL');
    await speakers[owner]!.exited;
    const mac = await cl
      .waitFor(
        `a new ARP owner for ${ip}`,
        () => {
          const m = cl.arping(ip, 1);
          return m && m !== oldMac ? m : undefined;
        },
        60_000,
        100,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${dump()}`);
      });
    const next = NET.nodes.findIndex((n) => n.mac === mac);
    assert.ok(next >= 0 && next !== owner, `new ARP answer ${mac} is not another node's MAC`);
    const name = NET.nodes[next]!.name;
    assert.equal(await cl.waitFor(`client reaches ${ip} on ${name}`, () => cl.reach(cl.client, ip)), name);
    await cl.waitFor(
      `ServiceL2Status of ${NS}/web on ${name}`,
      async () => (await cl.l2Statuses(NS, 'web')).some((s) => (s as { status?: { node?: string } }).status?.node === name),
      30_000,
      200,
    );
    assert.ok(controller.alive(), `controller exited:\n${controller.tail()}`);
  });

  it('with externalTrafficPolicy Local, announces from the node of the ready endpoint, and follows it', async () => {
    assert.ok(c && owner >= 0);
    const cl = c;
    const live = [0, 1, 2].filter((i) => speakers[i]!.alive());
    assert.equal(live.length, 2);
    const [a, b] = live as [number, number];
    await cl.createLbService(NS, 'local', { externalTrafficPolicy: 'Local' });
    const slice = await cl.createEndpointSlice(NS, 'local', [{ ip: '198.51.100.202', node: NET.nodes[a]!.name }]);
    const [lip = ''] = await cl.waitLbIngress(NS, 'local', 1, 60_000);
    assert.notEqual(lip, ip);
    await cl
      .waitFor(`${lip} answered by ${NET.nodes[a]!.name}`, () => cl.arping(lip, 1) === NET.nodes[a]!.mac, 60_000, 100)
      .catch((e: Error) => {
        throw new Error(`${e.message}; ARP now ${cl.arping(lip, 1)}\n${dump()}`);
      });
    // The endpoint moves to the other live node: so does the IP.
    await cl.admin.delete({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', name: slice.metadata.name, namespace: NS });
    await cl.createEndpointSlice(NS, 'local', [{ ip: '198.51.100.203', node: NET.nodes[b]!.name }]);
    await cl
      .waitFor(`${lip} answered by ${NET.nodes[b]!.name}`, () => cl.arping(lip, 1) === NET.nodes[b]!.mac, 60_000, 100)
      .catch((e: Error) => {
        throw new Error(`${e.message}; ARP now ${cl.arping(lip, 1)}\n${dump()}`);
      });
    assert.equal(await cl.waitFor(`client reaches ${lip}`, () => cl.reach(cl.client, lip)), NET.nodes[b]!.name);
  });

  it('announces both families of a dual-stack Service (ARP and NDP), reachable on both', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'dual', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] });
    await cl.createEndpointSlice(NS, 'dual', [{ ip: '198.51.100.204', node: NET.nodes[0]!.name }]);
    const ips = await cl.waitLbIngress(NS, 'dual', 2, 60_000);
    const v4 = ips.find((x) => !x.includes(':'));
    const v6 = ips.find((x) => x.includes(':'));
    assert.ok(v4 && inPool(v4), `no IPv4 from ${POOL}: ${ips.join(', ')}`);
    assert.ok(v6 && v6.startsWith('2001:db8:20::1'), `no IPv6 from ${NET.pools.l2v6}: ${ips.join(', ')}`);
    const live = new Map(
      [0, 1, 2].filter((i) => speakers[i]!.alive()).map((i) => [NET.nodes[i]!.mac as string, NET.nodes[i]!.name as string]),
    );
    const mac4 = await cl.waitFor(`ARP answer for ${v4}`, () => cl.arping(v4, 1), 60_000, 100);
    const mac6 = await cl
      .waitFor(`NA for ${v6}`, () => cl.ndisc6(v6), 60_000, 100)
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${dump()}`);
      });
    assert.ok(live.has(mac4), `${v4} answered by ${mac4}, not a live node`);
    assert.ok(live.has(mac6), `${v6} answered by ${mac6}, not a live node`);
    assert.equal(await cl.waitFor(`client reaches ${v4}`, () => cl.reach(cl.client, v4)), live.get(mac4));
    assert.equal(await cl.waitFor(`client reaches ${v6}`, () => cl.reach(cl.client, v6)), live.get(mac6));
  });

  it('takes a node out on NetworkUnavailable=True and on the exclude-from-external-load-balancers label', async () => {
    assert.ok(c && ip);
    const cl = c;
    const live = [0, 1, 2].filter((i) => speakers[i]!.alive());
    const macNow = await cl.waitFor(`${ip} answered`, () => cl.arping(ip, 1), 30_000, 100);
    const cur = live.find((i) => NET.nodes[i]!.mac === macNow);
    assert.ok(cur !== undefined, `${ip} answered by ${macNow}, not a live node`);
    const other = live.find((i) => i !== cur) as number;
    await cl.setNodeCondition(NET.nodes[cur]!.name, 'NetworkUnavailable', 'True');
    await cl
      .waitFor(
        `${ip} moves to ${NET.nodes[other]!.name} (NetworkUnavailable)`,
        () => cl.arping(ip, 1) === NET.nodes[other]!.mac,
        60_000,
        100,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}; ARP now ${cl.arping(ip, 1)}\n${dump()}`);
      });
    await cl.setNodeCondition(NET.nodes[cur]!.name, 'NetworkUnavailable', 'False');
    await cl.labelNode(NET.nodes[other]!.name, 'node.kubernetes.io/exclude-from-external-load-balancers', '');
    await cl
      .waitFor(`${ip} moves back to ${NET.nodes[cur]!.name} (exclude label)`, () => cl.arping(ip, 1) === NET.nodes[cur]!.mac, 60_000, 100)
      .catch((e: Error) => {
        throw new Error(`${e.message}; ARP now ${cl.arping(ip, 1)}\n${dump()}`);
      });
    await cl.labelNode(NET.nodes[other]!.name, 'node.kubernetes.io/exclude-from-external-load-balancers', null);
  });

  it('withdraws the IP when the Service is deleted', async () => {
    assert.ok(c && ip);
    const cl = c;
    assert.ok(cl.arping(ip), `${ip} not announced before the delete`);
    await cl.deleteService(NS, 'web');
    await cl.waitFor(`${ip} no longer answered`, () => cl.arping(ip, 1) === undefined, 30_000, 100);
    const live = new Set([0, 1, 2].filter((i) => speakers[i]!.alive()).map((i) => NET.nodes[i]!.name));
    await cl.waitFor(
      'no live speaker keeps a ServiceL2Status for the deleted Service',
      async () => !(await cl.l2Statuses(NS, 'web')).some((s) => live.has(String((s as { status?: { node?: string } }).status?.node))),
      30_000,
      200,
    );
  });
});
