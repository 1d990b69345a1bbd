// The visualizer in a real browser (chromium via playwright-core) against the simulator: live (a
// SimCluster feeding a real viz server) and replay (`mooring viz --trace` over a chaos trace).
// Conditions are waited for, never times; any console or page error fails the test; screenshots
// go to .cache/artifacts/viz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimCluster, services } from './lib/cluster.js';
import { serveSimViz } from './lib/viz-tap.js';
import { runChaos, transitions } from './lib/chaos.js';
import { openBrowser, shownOwner } from '../test/lib/browser.js';
import { clusterStatus } from '../src/domain/cluster-status.js';
import { apiSessions } from '../src/domain/viz-model.js';

const NODES = ['node-a', 'node-b', 'node-c'];
const ownerCell = (ip: string) => `#ips tr[data-ip="${ip}"] td.owner`;

test('live simulator: the page lists the nodes and each IP with its owner, and follows a failover', async () => {
  const sim = new SimCluster({ seed: 11, nodes: NODES.map((name) => ({ name })), services: services(6, {}, NODES) });
  const viz = await serveSimViz(sim, NODES, '127.0.0.1', 0);
  const b = await openBrowser();
  try {
    await sim.start(2000);
    viz.pump();
    await b.page.goto(viz.url);
    await b.page.waitForSelector('body[data-ready=true]');
    await b.page.waitForFunction((n) => document.querySelectorAll('#nodes .node[data-up=true]').length === n, NODES.length);
    const names = await b.page.$$eval('#nodes .node', (ns) => ns.map((n) => n.getAttribute('data-node')));
    assert.deepEqual(names, NODES);
    for (const ip of sim.allIps()) {
      const owners = sim.announcers(ip);
      assert.equal(owners.length, 1, `${ip} has one announcer in the simulator`);
      await b.page.waitForFunction(
        ([sel, o]) => document.querySelector(sel as string)?.getAttribute('data-owner') === o,
        [ownerCell(ip), owners[0]],
      );
    }
    // Every node's machine for every IP, the ones never elected anywhere but idle/standby too (from
    // the nodes' snapshots): no IP row says "no state reported".
    const ips = sim.allIps();
    await b.page.waitForFunction((n) => document.querySelectorAll('#ips td.standby span').length === n, ips.length * (NODES.length - 1));
    const standby = await b.page.$$eval('#ips td.standby span', (ss) => ss.map((s) => s.textContent ?? ''));
    assert.deepEqual(
      standby.filter((t) => !/^node-[abc]: standby \(\w+\)$/.test(t)),
      [],
      'each other node: standby, with its reason',
    );
    const never = ips.flatMap((ip) =>
      NODES.filter((n) => !sim.transitions.some((t) => t.ip === ip && t.node === n)).map((n) => `${n} ${ip}`),
    );
    assert.ok(never.length > 0, `some nodes never moved for some IP (the case under test): ${never.length}`);
    await b.screenshot('sim-cluster');

    const ip = sim.allIps()[0] as string;
    const victim = sim.announcers(ip)[0] as string;
    sim.kill(victim);
    await sim.run(1500);
    viz.pump();
    const next = sim.announcers(ip);
    assert.equal(next.length, 1);
    assert.notEqual(next[0], victim);
    await b.page.waitForFunction(
      ([sel, o]) => document.querySelector(sel as string)?.getAttribute('data-owner') === o,
      [ownerCell(ip), next[0]],
    );
    await b.page.waitForSelector(`#nodes .node[data-node="${victim}"][data-up=false]`);
    // The new owner's serviceIp chart, lit in `announcing`; the timeline has the failover.
    await b.page.click(`#ips tr[data-ip="${ip}"] td.owner`);
    await b.page.waitForSelector(`#chart[data-node="${next[0]}"][data-id="${ip}"] g.state.lit[data-state=announcing]`);
    await b.page.waitForSelector(`#timeline li.failover[data-ip="${ip}"]`);
    await b.screenshot('sim-failover-machine');

    // The controller's allocation feed (as FeedReader passes it on): its snapshot, then decisions.
    const C = ':controller';
    const at = sim.clock.now();
    await b.page.waitForSelector('#allocs-none:not([hidden])');
    viz.push({
      t: 'snap',
      node: C,
      at,
      machines: [
        { machine: 'allocation', id: 'default/kept', state: '203.0.113.9', reason: 'pool p1: kept from the Service status', since: at },
      ],
    });
    viz.push({
      t: 'tr',
      r: {
        machine: 'allocation',
        id: 'default/big',
        node: C,
        from: '',
        to: '',
        event: 'allocate',
        reason: 'no IP: exhausted: pool p1 is full',
        at,
      },
    });
    await b.page.waitForSelector('#allocs tr[data-service="default/big"] td.ips.none');
    const allocs = await b.page.$$eval('#allocs tbody tr', (rs) => rs.map((r) => [...r.children].map((c) => c.textContent)));
    assert.deepEqual(allocs, [
      ['default/big', 'none', 'no IP: exhausted: pool p1 is full'],
      ['default/kept', '203.0.113.9', 'pool p1: kept from the Service status'],
    ]);
    assert.equal(await b.page.$eval('#allocs-none', (e) => (e as HTMLElement).hidden), true);
    // The controller is not a node.
    assert.deepEqual(await b.page.$$eval('#nodes .node', (ns) => ns.map((n) => n.getAttribute('data-node'))), NODES);
    await b.screenshot('sim-allocations');

    // A BGP-only node (no NATS link, so no feed): its sessions as its speaker wrote them to the apiserver.
    const all = [...NODES, 'node-d'];
    viz.push({
      t: 'cluster',
      at,
      status: clusterStatus({
        nodes: all.map((name) => ({ metadata: { name }, status: { conditions: [{ type: 'Ready', status: 'True' }] } })),
        configurationStates: all.map((n) => ({ metadata: { name: `speaker-${n}` }, status: { result: 'Valid' } })),
        pools: [],
        services: [],
        l2Statuses: [],
        bgpStatuses: [{ status: { serviceName: 'bgp', serviceNamespace: 'default', node: 'node-d', peers: ['router'] } }],
      }),
      problems: [],
      sessions: apiSessions([
        {
          status: {
            node: 'node-d',
            peer: 'router',
            peerAddress: '198.51.100.1:179',
            bgpStatus: 'Active',
            since: '2026-12-07T12:00:00Z',
            lastDownReason: 'notificationReceived',
            lastDownDetail: 'cease/admin shutdown',
            prefixesSent: 0,
            prefixesReceived: 0,
            bfdStatus: 'down',
          },
        },
      ]),
    });
    const d = '#nodes .node[data-node="node-d"][data-feed=false]';
    await b.page.waitForSelector(`${d} li[data-api-session=router][data-state=Active][data-bfd=down]`);
    const text = await b.page.$eval(d, (e) => e.textContent ?? '');
    assert.match(text, /BGP-only node: no NATS feed/);
    assert.match(text, /read from the apiserver/);
    assert.match(text, /last down: notificationReceived \(cease\/admin shutdown\)/);
    assert.match(text, /prefixes sent 0, received 0; BFD down/);
    await b.screenshot('sim-bgp-only-node');
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
    await viz.close();
  }
});

/** The owners of `ip` over a trace, in order (the node of each take-over by another node). */
function ownersInTrace(log: ReturnType<typeof transitions>, ip: string): string[] {
  const out: string[] = [];
  for (const e of log) if (e.kind === 'transition' && e.ip === ip && e.to === 'announcing' && out.at(-1) !== e.node) out.push(e.node);
  return out;
}

test('replay of a simulator trace shows the same sequence of owners as the trace, and scrubs back in time', async () => {
  const opts = { seed: 3, nodes: 3, services: 6, durationMs: 30_000 };
  const run = await runChaos(opts);
  const log = transitions(run.log);
  const dir = mkdtempSync(join(tmpdir(), 'mooring-viz-trace-'));
  const file = join(dir, 'trace.jsonl');
  writeFileSync(
    file,
    [{ type: 'run', ...opts }, ...run.schedule.map((x) => ({ type: 'fault', ...x })), ...log.map((e) => ({ type: 'log', ...e }))]
      .map((l) => JSON.stringify(l))
      .join('\n') + '\n',
  );
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/bin/viz.ts', '--trace', file, '--listen', '127.0.0.1:0'], {
    cwd: new URL('..', import.meta.url).pathname,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const b = await openBrowser();
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /visualizer: (\S+)/.exec(out);
        if (m) resolve(m[1] as string);
      });
      proc.once('exit', (code) => reject(new Error(`viz exited ${code}: ${stderr}`)));
    });
    await b.page.goto(url);
    await b.page.waitForSelector('body[data-ready=true][data-mode=replay]');
    const ips = [...new Set(log.flatMap((e) => (e.kind === 'transition' ? [e.ip] : [])))].sort();
    let moved = 0;
    for (const ip of ips) {
      const want = ownersInTrace(log, ip);
      if (want.length > 1) moved++;
      await b.page.click(`#ips tr[data-ip="${ip}"] td:first-child`);
      await b.page.waitForSelector(`#ip-detail .owner-seq[data-ip="${ip}"]`);
      const got = await b.page.$$eval(`#ip-detail .owner-seq[data-ip="${ip}"] li`, (ls) => ls.map((l) => l.textContent));
      assert.deepEqual(got, want, `owners of ${ip}`);
    }
    assert.ok(moved > 0, 'the trace has failovers to compare');
    await b.screenshot('replay-end');

    // Scrub to just after the first failover: the owner shown is the trace's owner at that time.
    const kill = log.find((e) => e.kind === 'cause' && e.text.startsWith('kill '));
    assert.ok(kill && kill.kind === 'cause');
    const victim = kill.text.slice('kill '.length);
    const after = log.find((e) => e.kind === 'transition' && e.at > kill.at && e.to === 'announcing');
    assert.ok(after && after.kind === 'transition');
    const t0 = log[0]?.at ?? 0;
    await b.page.$eval(
      '#scrub',
      (el, v) => {
        const s = el as HTMLInputElement;
        s.value = String(v);
        s.dispatchEvent(new Event('input'));
      },
      after.at - t0,
    );
    await b.page.waitForFunction(
      ([sel, o]) => document.querySelector(sel as string)?.getAttribute('data-owner') === o,
      [ownerCell(after.ip), after.node],
    );
    await b.page.waitForSelector(`#nodes .node[data-node="${victim}"][data-up=false]`);
    assert.equal(await shownOwner(b.page, after.ip), after.node);
    await b.screenshot('replay-scrubbed');
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
    proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
