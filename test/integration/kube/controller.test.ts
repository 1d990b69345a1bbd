// The controller (src/bin/controller.ts) against the real apiserver, running with the
// ServiceAccount token and RBAC from deploy/ (deploy/rbac/controller.yaml): IP assignment, the
// pool annotation and Event, LB -> ClusterIP -> LB, a deleted service's IP reused, and a
// controller restart that moves nothing. The apiserver runs in one namespace; the controller and
// the admin client in another, across a bridge (never from the root namespace).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { ensureKubeBinary, kubeconfig, runTs, startKube, type Kube } from '../../lib/kube.js';

const CLIENT = new URL('./controller.client.ts', import.meta.url).pathname;
const CONTROLLER = new URL('../../../src/bin/controller.ts', import.meta.url).pathname;
const APPS = 'kb-apps';
const POOL = ['198.51.100.240', '198.51.100.241', '198.51.100.242', '198.51.100.243', '198.51.100.244', '198.51.100.245', '198.51.100.246', '198.51.100.247'];

type View = { ips: string[]; pool?: string };

describe('controller against the real apiserver, with the RBAC from deploy/', { timeout: 75 * 60_000 }, () => {
  const lab = new Lab('kb');
  let kube: Kube | undefined;
  let cl: Netns;
  let ctlConfig = '';
  let ctl: ChildProcess | undefined;
  let ctlLog = '';

  async function client(step: string): Promise<Record<string, unknown>> {
    assert.ok(kube);
    const r = await runTs(cl, CLIENT, [step, APPS], kube.env, 240_000);
    assert.equal(r.code, 0, `client ${step} failed:\n${r.stderr}\n${r.stdout}\n--- controller log ---\n${ctlLog.slice(-4000)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  }

  async function startController(): Promise<void> {
    const p = cl.spawn(process.execPath, ['--import', 'tsx', CONTROLLER], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: ctlConfig },
    });
    p.stderr?.setEncoding('utf8').on('data', (d: string) => { ctlLog += d; });
    ctl = p;
    await waitFor('controller informers synced', () => {
      if (p.exitCode !== null) throw new Error(`controller exited ${p.exitCode}:\n${ctlLog.slice(-3000)}`);
      return ctlLog.includes('"controller.synced"');
    }, 120_000, 100);
  }

  /** Runs a test body; on failure the controller's log tail goes into the error (flakes are diagnosable). */
  const withLog = (fn: () => Promise<void>) => async () => {
    try { await fn(); } catch (e) {
      if (e instanceof Error) e.message += `\n--- controller log (tail) ---\n${ctlLog.slice(-6000)}`;
      throw e;
    }
  };

  async function stopController(): Promise<void> {
    const p = ctl;
    ctl = undefined;
    if (!p || p.exitCode !== null) return;
    const done = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await done;
  }

  before(async () => {
    requireRoot();
    requireTools('ip');
    await ensureKubeBinary();
    const sw = lab.netns('sw');
    const api = lab.netns('api');
    cl = lab.netns('cl');
    const br = lab.bridge(sw, 'br0');
    lab.link(api, 'eth0', sw, br, ['198.51.100.193/27']);
    lab.link(cl, 'eth0', sw, br, ['198.51.100.194/27']);
    kube = await startKube({ netns: api, host: '198.51.100.193' });
    const setup = await client('setup');
    assert.equal(typeof setup.token, 'string', 'no controller token');
    ctlConfig = join(kube.dataDir, 'controller.kubeconfig');
    writeFileSync(ctlConfig, kubeconfig(kube.url, kube.caPem, setup.token as string, 'controller'), { mode: 0o600 });
    await startController();
  });

  after(async () => {
    try { await stopController(); } finally {
      try { await kube?.destroy(); } finally { await lab.cleanup(); }
    }
  });

  let first: Record<string, View>;

  it('assigns, clears on ClusterIP, reuses a deleted service\'s IP (deploy/ RBAC is enough)', withLog(async () => {
    const r = await client('assign');
    first = r as Record<string, View>;
    const a1 = r.a1 as View;
    assert.deepEqual(a1, { ips: [POOL[0]], pool: 'kb-pool' });
    assert.deepEqual(r.events, { reason: 'IPAllocated', type: 'Normal', message: `Assigned IP ["${POOL[0]}"]` });
    assert.deepEqual(r.aCluster, { ips: [] });
    // b takes the lowest free address: the one a released.
    assert.deepEqual(r.b, { ips: [POOL[0]], pool: 'kb-pool' });
    assert.deepEqual(r.a2, { ips: [POOL[1]], pool: 'kb-pool' });
    // c after b's deletion: b's address again.
    assert.deepEqual(r.c, { ips: [POOL[0]], pool: 'kb-pool' });
    // Nothing was refused by RBAC along the way.
    assert.doesNotMatch(ctlLog, /"code":403|forbidden/i);
  }));

  it('a controller restart moves nothing', withLog(async () => {
    assert.ok(first);
    await stopController();
    await startController();
    const r = await client('after-restart');
    assert.deepEqual(r.a, first.a2);
    assert.deepEqual(r.c, first.c);
    assert.deepEqual(r.d, { ips: [POOL[2]], pool: 'kb-pool' });
    assert.match(ctlLog, /"event":"reclaim"[^\n]*"kept":2/);
  }));

  let feats: Record<string, View>;

  it('honours address-pool, loadBalancerIPs, RequireDualStack and loadBalancerClass', withLog(async () => {
    feats = await client('features') as Record<string, View>;
    assert.deepEqual(feats.manual, { ips: ['198.51.100.232'], pool: 'kb-manual' });
    assert.deepEqual(feats.requested, { ips: ['198.51.100.246'], pool: 'kb-pool' });
    assert.deepEqual(feats.dual, { ips: [POOL[3], '2001:db8:40::'], pool: 'kb-pool' });
    assert.deepEqual(feats.otherClass, { ips: [] });
  }));

  it('survives an apiserver restart on the same data: nothing lost, new services still served', withLog(async () => {
    assert.ok(kube && feats);
    const before = await client('view');
    await kube.restart();
    const r = await client('after-api-restart') as Record<string, View>;
    for (const n of ['a', 'c', 'd']) assert.deepEqual(r[n], (before as Record<string, View>)[n], n);
    for (const n of ['manual', 'requested', 'dual']) assert.deepEqual(r[n], feats[n], n);
    assert.deepEqual(r.e, { ips: [POOL[4]], pool: 'kb-pool' });
  }));

  it('reports an invalid config in ConfigurationState and /metrics, keeps serving from the last valid one', withLog(async () => {
    const r = await client('config-state') as Record<string, { result?: string; errorSummary?: string } | View | number | undefined>;
    assert.deepEqual(r.valid, { result: 'Valid', errorSummary: '', conditions: (r.valid as { conditions?: unknown }).conditions });
    const invalid = r.invalid as { result?: string; errorSummary?: string };
    assert.equal(invalid.result, 'Invalid');
    assert.match(invalid.errorSummary ?? '', /IPAddressPool\/kb-pool: spec\.addresses\[0\]: CIDR "198\.51\.100\.240\/29" in pool "kb-pool" overlaps with already defined CIDR "198\.51\.100\.244\/30" in pool "kb-overlap"/);
    assert.deepEqual(r.f, { ips: [POOL[5]], pool: 'kb-pool' });
    assert.equal((r.again as { result?: string }).result, 'Valid');
    assert.ok(typeof r.inUse === 'number' && r.inUse >= 5, `addresses in use: ${String(r.inUse)}`);
    assert.equal(r.loaded, 1);
    assert.equal(r.staleBefore, 0);
    assert.equal(r.staleDuring, 1);
  }));
});
