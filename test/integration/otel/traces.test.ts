// Traces received by a real OpenTelemetry Collector (test/otelcol, built from the collector's Go
// modules; test/lib/otelcol.ts), docs/observability.md:
// - a failover in the coordination lab (test/integration/coord: three nats-servers, three
//   src/bin/coord-node.ts processes with the pcap announcer): the owner of a VIP is SIGKILLed; the
//   survivor that judges it first (the death fast path) starts the trace, and its verdict reaches
//   the VIP's successor in a NATS header before the successor's own verdict (heartbeats only, a
//   wider window), so the successor's verdict, election, claim and first announcement are all in
//   the detector's trace, and the detector hears the successor's claims with their context;
// - the controller (src/bin/controller.ts) against the real apiserver: a reconcile, the allocation
//   of a new Service and its status write.
// Names, nodes and parent/child links are checked; never timings.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { ensureKubeBinary, kubeconfig, runTs, startKube, type Kube } from '../../lib/kube.js';
import { ensureOtelcol, startCollector, type CollectedSpan, type Collector } from '../../lib/otelcol.js';
import { CoordLab, NATS_IPS, NODE_NAMES } from '../coord/coord-lab.js';
import { HashOrder } from '../../../src/domain/election.js';

/** The SDK exports batches every 100 ms here (default 5 s), so the test waits less. */
const OTEL_ENV = { OTEL_BSP_SCHEDULE_DELAY: '100' };

function describeSpans(spans: readonly CollectedSpan[]): string {
  return spans.map((s) => `${s.traceId.slice(0, 8)} ${s.id} <- ${s.parentId || '-'} ${s.name} ${JSON.stringify(s.attributes)}`).join('\n');
}

describe('a failover traced across two nodes', { timeout: 20 * 60_000 }, () => {
  let lab: CoordLab | undefined;
  let col: Collector | undefined;
  // A VIP whose election order is n1 first: n1 owns it, and its successor is the second in order.
  const order = new HashOrder();
  const candidates = Array.from({ length: 16 }, (_, i) => `203.0.113.${65 + i}`);
  const vip = candidates.find((ip) => order.ranked(ip, NODE_NAMES)[0] === 'n1') as string;
  const [, successor, detector] = order.ranked(vip, NODE_NAMES) as [string, string, string];

  before(async () => {
    requireRoot();
    requireTools('ip', 'nats-server', 'arping');
    await ensureOtelcol();
    lab = new CoordLab({ vips: [vip], announcer: 'pcap', intervalMs: 100, misses: 3 });
    await lab.setup();
    col = await startCollector({ ns: lab.natsNs, host: NATS_IPS[0] as string });
    Object.assign(process.env, OTEL_ENV, { OTEL_EXPORTER_OTLP_ENDPOINT: col.endpoint });
    try {
      for (let i = 0; i < 3; i++) {
        // The successor judges by heartbeats only, over a wide window: the detector's verdict (the
        // fast path) reaches it first, so its own joins the detector's trace.
        lab.startNode(i, NODE_NAMES[i] === successor ? ['--no-presence', '--misses', '20'] : []);
      }
    } finally {
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    }
    await waitFor(`${vip} announced by n1 alone`, () => lab?.settled() && lab.nodes[0]?.owned().has(vip), 90_000, 100);
    // Every node has heard every other's connections (heartbeats carry them) before the kill.
    await waitFor('heartbeats with connections heard', () => lab?.nodes.every((n) => n.events.some((e) => e.event === 'peer.up')), 30_000);
    await new Promise((r) => setTimeout(r, 1000));
  });

  after(async () => {
    for (const n of lab?.nodes ?? []) if (n.alive()) n.proc?.kill('SIGTERM');
    await col?.stop();
    await lab?.cleanup();
  });

  it('SIGKILL of the owner: detector verdict → successor verdict → election → claim → first announcement, one trace', async () => {
    assert.ok(lab && col);
    const succ = lab.nodes[NODE_NAMES.indexOf(successor)];
    assert.ok(succ);
    lab.killNode(0);
    await waitFor(`${successor} announces ${vip}`, () => succ.owned().has(vip), 60_000, 50);
    const nodeOf = (s: CollectedSpan) => s.attributes['mooring.node'];
    const find = (pred: (s: CollectedSpan) => boolean) => col?.spans().find(pred);
    const announce = await waitFor(
      "the successor's failover.announce span",
      () => find((s) => s.name === 'failover.announce' && nodeOf(s) === successor && s.attributes['mooring.ip'] === vip),
      60_000,
      100,
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${describeSpans(col?.spans() ?? [])}\n${col?.output().slice(-2000)}`);
    });
    const spans = col.spans();
    const byId = new Map(spans.map((s) => [s.id, s]));
    const ctx = `\n${describeSpans(spans)}`;
    // announce ← claim ← elect ← the successor's verdict ← the detector's verdict (across nodes, via the NATS header)
    const claim = byId.get(announce.parentId);
    assert.equal(claim?.name, 'failover.claim', ctx);
    assert.equal(nodeOf(claim), successor);
    assert.equal(claim.attributes['mooring.ip'], vip);
    const elect = byId.get(claim.parentId);
    assert.equal(elect?.name, 'failover.elect', ctx);
    assert.equal(nodeOf(elect), successor);
    assert.equal(elect.attributes['mooring.owner'], successor);
    const verdict = byId.get(elect.parentId);
    assert.equal(verdict?.name, 'failover.detect', ctx);
    assert.equal(nodeOf(verdict), successor);
    assert.equal(verdict.attributes['mooring.peer'], 'n1');
    assert.equal(verdict.attributes['mooring.cause'], 'heartbeat');
    assert.equal(verdict.attributes['mooring.joined'], 'true');
    const first = byId.get(verdict.parentId);
    assert.equal(first?.name, 'failover.detect', ctx);
    assert.equal(nodeOf(first), detector, 'the trace was started by the other survivor');
    assert.equal(first.attributes['mooring.peer'], 'n1');
    assert.equal(first.attributes['mooring.cause'], 'connections');
    assert.equal(first.parentId, '', "the detector's verdict is the root");
    for (const s of [claim, elect, verdict, first]) assert.equal(s.traceId, announce.traceId, ctx);
    assert.equal(announce.resource['service.name'], 'mooring-speaker');
    assert.notEqual(first.resource['process.pid'], announce.resource['process.pid'], 'two processes');
    // The detector elected the successor for the VIP in the same trace, and heard its claims (their context in the header).
    assert.ok(
      spans.some(
        (s) =>
          s.name === 'failover.elect' && nodeOf(s) === detector && s.parentId === first.id && s.attributes['mooring.owner'] === successor,
      ),
      `no election on the detector${ctx}`,
    );
    const seen = await waitFor(
      'the detector hearing the claims',
      () => col?.spans().find((s) => s.name === 'failover.claimSeen' && nodeOf(s) === detector && s.parentId === claim.id),
      30_000,
      100,
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}${ctx}`);
    });
    assert.equal(seen.traceId, announce.traceId);
    assert.equal(seen.attributes['mooring.peer'], successor);
  });
});

const CLIENT = new URL('../kube/controller.client.ts', import.meta.url).pathname;
const CONTROLLER = new URL('../../../src/bin/controller.ts', import.meta.url).pathname;

describe('controller spans', { timeout: 20 * 60_000 }, () => {
  const lab = new Lab('ot');
  let kube: Kube | undefined;
  let cl: Netns;
  let col: Collector | undefined;
  let ctl: ChildProcess | undefined;
  let ctlLog = '';

  before(async () => {
    requireRoot();
    requireTools('ip');
    await Promise.all([ensureKubeBinary(), ensureOtelcol()]);
    const sw = lab.netns('sw');
    const api = lab.netns('api');
    cl = lab.netns('cl');
    const br = lab.bridge(sw, 'br0');
    lab.link(api, 'eth0', sw, br, ['198.51.100.193/27']);
    lab.link(cl, 'eth0', sw, br, ['198.51.100.194/27']);
    kube = await startKube({ netns: api, host: '198.51.100.193' });
    const r = await runTs(cl, CLIENT, ['setup', 'ot-apps'], kube.env, 240_000);
    assert.equal(r.code, 0, r.stderr);
    const token = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { token?: string }).token;
    assert.equal(typeof token, 'string');
    const ctlConfig = join(kube.dataDir, 'controller.kubeconfig');
    writeFileSync(ctlConfig, kubeconfig(kube.url, kube.caPem, token as string, 'controller'), { mode: 0o600 });
    col = await startCollector({ ns: cl, host: '198.51.100.194' });
    ctl = cl.spawn(process.execPath, ['--import', 'tsx', CONTROLLER, '--metrics-port', '7472'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...OTEL_ENV, KUBECONFIG: ctlConfig, OTEL_EXPORTER_OTLP_ENDPOINT: col.endpoint },
    });
    ctl.stderr?.setEncoding('utf8').on('data', (d: string) => (ctlLog = (ctlLog + d).slice(-20_000)));
    await waitFor('controller synced', () => ctlLog.includes('"controller.synced"') || ctl?.exitCode !== null, 120_000, 100);
    assert.equal(ctl.exitCode, null, ctlLog);
  });

  after(async () => {
    if (ctl && ctl.exitCode === null) {
      const done = new Promise((r) => ctl?.once('exit', r));
      ctl.kill('SIGTERM');
      await done;
    }
    await col?.stop();
    await kube?.destroy();
    await lab.cleanup();
  });

  it('a new Service: controller.reconcile → controller.allocate → controller.statusWrite', async () => {
    assert.ok(kube && col);
    const r = await runTs(cl, CLIENT, ['assign', 'ot-apps'], kube.env, 240_000);
    assert.equal(r.code, 0, `${r.stderr}\n${ctlLog.slice(-3000)}`);
    const write = await waitFor(
      'a status write span',
      () =>
        col
          ?.spans()
          .find(
            (s) => s.name === 'controller.statusWrite' && s.attributes['mooring.write'] === 'status' && s.attributes['mooring.ips'] !== '',
          ),
      60_000,
      100,
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${describeSpans(col?.spans() ?? [])}\n${ctlLog.slice(-3000)}`);
    });
    const spans = col.spans();
    const byId = new Map(spans.map((s) => [s.id, s]));
    const ctx = `\n${describeSpans(spans)}`;
    const alloc = byId.get(write.parentId);
    assert.equal(alloc?.name, 'controller.allocate', ctx);
    assert.equal(alloc.attributes['mooring.service'], write.attributes['mooring.service']);
    assert.equal(alloc.attributes['mooring.result'], 'assigned');
    assert.equal(alloc.attributes['mooring.ips'], write.attributes['mooring.ips']);
    assert.equal(alloc.attributes['mooring.pool'], 'kb-pool');
    const pass = byId.get(alloc.parentId);
    assert.equal(pass?.name, 'controller.reconcile', ctx);
    assert.equal(pass.parentId, '');
    assert.equal(pass.traceId, write.traceId);
    assert.equal(write.resource['service.name'], 'mooring-controller');
  });
});
