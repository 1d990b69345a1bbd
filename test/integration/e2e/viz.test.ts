// The visualizer against the e2e lab (test/lib/cluster.ts): the real controller and three real
// speakers publish the state feed over the lab's NATS cluster; `mooring viz` reads it as the
// read-only viewer user, in the control namespace on 127.0.0.1, and chromium (playwright-core)
// runs in that same namespace. The page must list the three nodes and the Service IP with the
// owner that answers ARP; after SIGKILL of the owner, the node that answers ARP next is shown as
// owner and its serviceIp chart lights `announcing`; a BGP session the router shuts down shows
// the down reason the speaker logged. Conditions are waited for, never times; any console error
// fails; screenshots in .cache/artifacts/viz.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MOORING_NS, NATS_CLUSTER, NET, type Proc } from '../../lib/cluster.js';
import { openBrowser, type TestBrowser } from '../../lib/browser.js';

const NS = 'e2e-viz';

/** A process's JSON log lines (stderr), parsed. */
function logEvents(p: Proc): Array<Record<string, unknown>> {
  return p.text.flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}
const ownerIs = (ip: string, node: string) => `#ips tr[data-ip="${ip}"] td.owner[data-owner="${node}"]`;

describe('e2e viz: the page shows the lab live', { timeout: 400_000 }, () => {
  let c: Cluster | undefined;
  let b: TestBrowser | undefined;
  let viz: Proc | undefined;
  const speakers: Proc[] = [];
  let ip = '';
  let owner = -1;

  before(async () => {
    c = await Cluster.start();
    const cl = c;
    const started = cl.startMooring();
    speakers.push(...started.speakers);
    await cl.admin.apply(`
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: l2, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.l2v4}"] }
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: l2, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [l2] }
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: router, namespace: ${MOORING_NS} }
spec: { myASN: ${NET.nodeAsn}, peerASN: ${NET.router.asn}, peerAddress: ${NET.router.seg4}, holdTime: 9s }
`);
    const pass = join(cl.dir, 'viz.nats-pass');
    writeFileSync(pass, cl.natsViewer.password, { mode: 0o600 });
    const urls = cl.nats?.urls(0).join(',') ?? '';
    viz = cl.spawn(
      cl.ctl,
      'src/bin/viz.ts',
      [
        '--nats-url',
        urls,
        '--cluster',
        NATS_CLUSTER,
        '--nats-user',
        cl.natsViewer.user,
        '--nats-pass-file',
        pass,
        '--listen',
        '127.0.0.1:8089',
        // The apiserver, read-only: Service names, pools, nodes as it has them.
        '--kubeconfig',
        cl.kube.kubeconfigPath,
        '--namespace',
        MOORING_NS,
        '--kube-interval',
        '1s',
      ],
      {},
      'viz',
    );
    const v = viz;
    await cl
      .waitFor(
        'viz listening',
        () =>
          v.text.some((l) => l.startsWith('visualizer: http://127.0.0.1:8089/')) ||
          (!v.alive() ? Promise.reject(new Error(`viz exited:\n${v.tail()}`)) : undefined),
        120_000,
        100,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${v.tail()}`);
      });
    b = await openBrowser({ netns: cl.ctl.name });
    await b.page.goto('http://127.0.0.1:8089/');
    await b.page.waitForSelector('body[data-ready=true][data-mode=live]');
  });

  after(async () => {
    await b?.close();
    await c?.cleanup();
  });

  const dump = () => `${c?.dump() ?? ''}\nviz: ${viz?.tail() ?? ''}`;

  it('lists the three nodes and the Service IP with the node that answers ARP as owner', async () => {
    assert.ok(c && b);
    const cl = c;
    const page = b.page;
    await cl.createLbService(NS, 'web');
    await cl.createEndpointSlice(NS, 'web', [{ ip: '198.51.100.201', node: NET.nodes[0]!.name }]);
    [ip = ''] = await cl.waitLbIngress(NS, 'web', 1, 90_000);
    const mac = await cl
      .waitFor(`an ARP answer for ${ip}`, () => cl.arping(ip), 90_000, 200)
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${dump()}`);
      });
    owner = NET.nodes.findIndex((n) => n.mac === mac);
    assert.ok(owner >= 0);
    for (const n of NET.nodes) await page.waitForSelector(`#nodes .node[data-node="${n.name}"][data-up=true]`, { timeout: 60_000 });
    await page.waitForSelector(ownerIs(ip, NET.nodes[owner]!.name), { timeout: 30_000 }).catch((e: Error) => {
      throw new Error(`${e.message}\n${dump()}`);
    });
    // The two other nodes' machines for the IP, elected there or not (machine.added records and
    // snapshots list every machine): each with a state and a reason, none "no state reported".
    for (const n of NET.nodes.filter((_, k) => k !== owner))
      await page.waitForSelector(`#ips tr[data-ip="${ip}"] td.standby span[data-node="${n.name}"]`, { timeout: 30_000 });
    await cl.waitFor(
      'every other node with its state and reason',
      async () => {
        const t = await page.$$eval(`#ips tr[data-ip="${ip}"] td.standby span`, (ss) => ss.map((x) => x.textContent ?? ''));
        return t.length === NET.nodes.length - 1 && t.every((x) => /: (standby|awaitingRelease) \(\w+\)$/.test(x)) ? t : undefined;
      },
      30_000,
      100,
    );
    // From the apiserver: the Service's name and pool, the pool, every node's readiness.
    await page.waitForSelector(`#ips tr[data-ip="${ip}"] td.service[data-pool=l2]`, { timeout: 30_000 });
    assert.equal(await page.$eval(`#ips tr[data-ip="${ip}"] td.service`, (e) => e.textContent), `${NS}/web (pool l2)`);
    await page.waitForSelector('#pools tr[data-pool=l2]');
    for (const n of NET.nodes) {
      const api = await page.$eval(`#nodes .node[data-node="${n.name}"] .api`, (e) => e.textContent ?? '');
      assert.match(api, /^apiserver: /);
    }
    await b.screenshot('lab-cluster');
  });

  it('after SIGKILL of the owner shows the new owner, and its serviceIp chart lights announcing', async () => {
    assert.ok(c && b && ip && owner >= 0);
    const cl = c;
    const page = b.page;
    const oldMac = NET.nodes[owner]!.mac;
    speakers[owner]!.kill('SIGKILL');
    await speakers[owner]!.exited;
    const mac = await cl.waitFor(
      `a new ARP owner for ${ip}`,
      () => {
        const m = cl.arping(ip, 1);
        return m && m !== oldMac ? m : undefined;
      },
      60_000,
      100,
    );
    const next = NET.nodes.find((n) => n.mac === mac);
    assert.ok(next);
    await page.waitForSelector(ownerIs(ip, next.name), { timeout: 30_000 });
    await page.waitForSelector(`#nodes .node[data-node="${NET.nodes[owner]!.name}"][data-up=false]`, { timeout: 30_000 });
    await page.click(`#ips tr[data-ip="${ip}"] td.owner`);
    await page.waitForSelector(`#chart[data-node="${next.name}"][data-id="${ip}"] g.state.lit[data-state=announcing]`, { timeout: 30_000 });
    await page.waitForSelector(`#timeline li.failover[data-ip="${ip}"]`, { timeout: 30_000 });
    await b.screenshot('lab-failover-machine');
  });

  it('a BGP session the router shuts down shows the down reason the speaker logged', async () => {
    assert.ok(c && b && c.frr);
    const cl = c;
    const i = NET.nodes.findIndex((_, k) => k !== owner);
    const n = NET.nodes[i]!;
    const sp = speakers[i]!;
    const page = b.page;
    await cl.waitFor('BGP session up', () => logEvents(sp).find((e) => e.event === 'bgp.sessionUp'), 90_000, 200);
    await page.waitForSelector(`#nodes .node[data-node="${n.name}"] li[data-machine=bgpSession][data-state=established]`, {
      timeout: 60_000,
    });
    const from = new Date().toISOString();
    cl.frr!.vtysh('configure terminal', `router bgp ${NET.router.asn}`, `neighbor ${n.v4} shutdown`);
    // The page shows the down reason of the last sessionDown the speaker logged since the cut.
    const downs = () => logEvents(sp).filter((e) => e.event === 'bgp.sessionDown' && String(e.ts) >= from);
    await cl.waitFor('BGP session down', () => downs()[0], 60_000, 100);
    const shown = await cl.waitFor(
      'the down reason on the page',
      async () => {
        const last = downs().at(-1);
        const want = last ? `last down: ${String(last.reason)}` : undefined;
        const texts = await page.$$eval(`#nodes .node[data-node="${n.name}"] li[data-machine=bgpSession]`, (ls) =>
          ls.map((l) => l.textContent ?? ''),
        );
        return want && texts.some((t) => t.includes(want)) ? want : undefined;
      },
      30_000,
      100,
    );
    assert.ok(!shown.includes('undefined'));
    await b.screenshot('lab-bgp-down');
    assert.deepEqual(b.errors, []);
  });
});
