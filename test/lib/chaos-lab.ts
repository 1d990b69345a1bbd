// `mooring chaos lab` (docs/chaos.md): the chaos run's fault kinds on a real network, the e2e lab of
// test/lib/cluster.ts (real kube-apiserver, 3-server NATS cluster, FRR with bfdd in the router, the
// controller and three speakers as processes), under a seeded schedule:
//   sigkill     SIGKILL of a speaker, started again after the fault's duration;
//   sigstop     SIGSTOP of a speaker, SIGCONT after the duration;
//   link        a node's switch port down, up after the duration;
//   nats        SIGKILL of a NATS server, started again after the duration;
//   apiserver   the kube-apiserver restarted (same data);
//   frr         FRR's daemons stopped (SIGTERM), started again after the duration;
//   controller  SIGKILL of the controller, started again after the duration.
// One fault at a time: inject, end it, wait until everything is settled again (every L2 VIP
// answered by one node, every BGP prefix routed via every node), wait a seeded gap, next.
//
// Measured from outside only: a client on the segment asks every L2 VIP by ARP every 10 ms
// (bench/arp-probe.ts, stream mode) and opens TCP connections to them; an external client behind
// the router opens TCP connections to the BGP VIPs (bench/tcp-probe.ts); the router's kernel
// routing table is read every 50 ms (`ip -j route show proto bgp` in its namespace). The run's
// record is the chaos report (simulations/lib/report.ts) plus one JSON line.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Cluster, MOORING_NS, NET, REPO, type Proc } from './cluster.js';
import { waitFor } from './netns.js';
import { rng } from '../../src/domain/prng.js';
import { quantile, type ChaosResult } from '../../simulations/lib/chaos.js';
import type { LogEntry } from '../../simulations/lib/product.js';
import type { ReportFault, ReportInput } from '../../simulations/lib/report.js';

export const LAB_KINDS = ['sigkill', 'sigstop', 'link', 'nats', 'apiserver', 'frr', 'controller'] as const;
export type LabKind = (typeof LAB_KINDS)[number];

export interface LabOptions {
  readonly seed: number;
  /** How long faults are injected (ms); the run ends after the fault in progress and a last settle. */
  readonly durationMs: number;
  readonly kinds?: readonly LabKind[];
  readonly l2Services?: number;
  readonly bgpServices?: number;
  /** ARP probe period (ms), default 10. */
  readonly probeMs?: number;
  /** TCP connection period per VIP (ms), default 500. */
  readonly tcpEveryMs?: number;
  /** Speakers' heartbeat (default the product's, 100 ms × 3). */
  readonly heartbeat?: { readonly intervalMs: number; readonly misses: number };
  /** BFD between the router and the nodes (default 100 ms × 3). */
  readonly bfd?: { readonly intervalMs: number; readonly multiplier: number };
  /** Go on past `durationMs` until every kind ran once (the plan starts with each kind once). */
  readonly everyKind?: boolean;
  /** Quiet time between a fault's recovery and the next fault, drawn in [lo, hi] ms; default [1000, 3000]. */
  readonly gapMs?: readonly [number, number];
  /** Progress lines (stderr in the CLI). */
  readonly log?: (line: string) => void;
  /** Aborted (Ctrl-C): no further fault, the lab is cleaned up, the run returns what it has. */
  readonly signal?: AbortSignal;
  /** Writes every product process's output there at the end (`<name>-<n>.log`: JSON lines, then the rest). */
  readonly logsDir?: string;
}

export interface LabFault extends ReportFault {
  readonly kind: LabKind;
  /** Planned down time; for apiserver and frr, measured (a restart takes what it takes). */
  durationMs: number;
  /** Run ms at which everything was settled again (undefined: never, within the settle timeout). */
  recoveredAt?: number;
}

/** The final JSON line. */
export interface LabSummary {
  faults: number;
  dualAnswerMsPastFencing: number;
  lostIps: number;
  vipGapP99Ms: number;
  bgpPathLossP99Ms: number;
  violations: number;
}

export interface LabRun {
  readonly summary: LabSummary;
  readonly faults: LabFault[];
  readonly violations: string[];
  readonly figures: LabFigures;
  /** Everything renderReport needs. */
  readonly report: ReportInput;
  readonly aborted: boolean;
}

export interface LabFigures {
  runMs: number;
  fencingMs: number;
  l2Vips: string[];
  bgpVips: string[];
  arpProbes: number;
  /** Per fault and L2 VIP, the longest time without an ARP answer (ms, > 0 only). */
  vipGaps: number[];
  /** Gaps that started outside every fault's window (ms). */
  gapsOutsideFaults: number[];
  dualAnswerRuns: Array<{ ip: string; at: number; ms: number; nodes: string[] }>;
  /** Per (killed/stopped/cut node, BGP prefix): fault start → the router no longer routes via the node (ms). */
  bgpPathLoss: number[];
  tcp: { attempts: number; failed: number; failedOutsideFaults: number };
  ingressMoved: string[];
  settles: number;
}

export const LAB_INVARIANTS: ReadonlyArray<{ id: string; text: string }> = [
  { id: 'L1', text: 'no VIP is answered by two nodes for longer than the fencing bound (2 × detection + 100 ms)' },
  {
    id: 'L2',
    text: 'after every fault every L2 VIP is answered by one node and every BGP prefix routed via every node again; every Service keeps its IP',
  },
  { id: 'L3', text: 'a restart of the control plane (apiserver, controller, a NATS server, FRR) moves no L2 VIP and leaves no ARP gap' },
  { id: 'L4', text: 'the router withdraws the BGP paths of a killed, stopped or cut-off node before the node comes back' },
  { id: 'L5', text: 'no product process exits unless the run killed it' },
];

const SETTLE_TIMEOUT_MS = 90_000;
const NS = 'chaos';

interface PlanItem {
  kind: LabKind;
  index: number;
  durationMs: number;
  gapMs: number;
}

/** The seed's plan: every kind once in a seeded order, then kinds at random; targets, durations and gaps drawn. */
export function labPlan(
  seed: number,
  kinds: readonly LabKind[],
  count: number,
  gapMs: readonly [number, number] = [1000, 3000],
): PlanItem[] {
  const r = rng(seed ^ 0x1ab);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const first = [...kinds];
  for (let i = first.length - 1; i > 0; i--) {
    const j = int(0, i);
    [first[i], first[j]] = [first[j] as LabKind, first[i] as LabKind];
  }
  return Array.from({ length: count }, (_, k) => {
    const kind = k < first.length ? (first[k] as LabKind) : (kinds[int(0, kinds.length - 1)] as LabKind);
    return {
      kind,
      index: int(0, 2),
      durationMs: int(10, 30) * 100,
      gapMs: int(Math.round(gapMs[0] / 100), Math.round(gapMs[1] / 100)) * 100,
    };
  });
}

interface ArpProbe {
  ip: string;
  t: number;
  macs: string[];
}
interface TcpProbe {
  ip: string;
  t: number;
  ok: boolean;
}
interface RouteSample {
  t: number;
  /** prefix (dst) → gateways, sorted. */
  routes: Map<string, string[]>;
}

const nodeOfMac = (mac: string): string => NET.nodes.find((n) => n.mac === mac.toLowerCase())?.name ?? mac;
const nodeOfV4 = (ip: string): string => NET.nodes.find((n) => n.v4 === ip)?.name ?? ip;

/** Runs the lab; always cleans it up (also on failure and abort). */
export async function runChaosLab(o: LabOptions): Promise<LabRun> {
  const log = o.log ?? (() => undefined);
  const kinds = o.kinds ?? LAB_KINDS;
  const hb = o.heartbeat ?? { intervalMs: 100, misses: 3 };
  const bfd = o.bfd ?? { intervalMs: 100, multiplier: 3 };
  const probeMs = o.probeMs ?? 10;
  const fencingMs = 2 * hb.intervalMs * hb.misses + 100;
  const nL2 = o.l2Services ?? 6;
  const nBgp = o.bgpServices ?? 3;
  const aborted = () => o.signal?.aborted === true;
  const sleep = (ms: number) =>
    new Promise<void>((res) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        o.signal?.removeEventListener('abort', done);
        res();
      }
      o.signal?.addEventListener('abort', done, { once: true });
    });

  log(`chaos lab: seed ${o.seed}, ${o.durationMs} ms of faults (${kinds.join(', ')}); building the lab`);
  const c = await Cluster.start({
    bfd: { receiveMs: bfd.intervalMs, transmitMs: bfd.intervalMs, multiplier: bfd.multiplier },
    heartbeat: { interval: `${hb.intervalMs}ms`, misses: hb.misses },
  });
  const helpers: ChildProcess[] = [];
  /** Every product process started (for `logsDir`). */
  const procs: Proc[] = [];
  const violations: string[] = [];
  const faults: LabFault[] = [];
  const arp: ArpProbe[] = [];
  const tcp: TcpProbe[] = [];
  const routes: RouteSample[] = [];
  /** Per L2 VIP, the last few probes' answer (node names joined; '' nobody). */
  const recent = new Map<string, string[]>();
  let t0 = Date.now();
  const now = () => Date.now() - t0;
  const violation = (id: string, text: string, at = now()) => {
    violations.push(`t=${Math.max(0, Math.round(at))}ms ${id} ${text}`);
    log(`VIOLATION ${violations[violations.length - 1]}`);
  };
  try {
    c.serveOnNodes([NET.pools.l2v4, NET.pools.bgpv4]);
    const started = c.startMooring();
    procs.push(started.controller, ...started.speakers);
    let controller: Proc = started.controller;
    const speakers: Proc[] = started.speakers;
    /** Processes the run killed on purpose (their exit is no L5 violation). */
    const killed = new Set<Proc>();
    await c.admin.apply(`
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: l2, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.l2v4}"], autoAssign: false }
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: bgp, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.bgpv4}"], autoAssign: false }
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: l2, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [l2] }
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: { name: bgp, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [bgp] }
---
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: { name: chaos, namespace: ${MOORING_NS} }
spec: { receiveInterval: ${bfd.intervalMs}, transmitInterval: ${bfd.intervalMs}, detectMultiplier: ${bfd.multiplier} }
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: router, namespace: ${MOORING_NS} }
spec: { myASN: ${NET.nodeAsn}, peerASN: ${NET.router.asn}, peerAddress: ${NET.router.seg4}, holdTime: 9s, bfdProfile: chaos }
`);
    const services = [
      ...Array.from({ length: nL2 }, (_, k) => ({ name: `l2-${k + 1}`, pool: 'l2' })),
      ...Array.from({ length: nBgp }, (_, k) => ({ name: `bgp-${k + 1}`, pool: 'bgp' })),
    ];
    for (const [k, s] of services.entries()) {
      await c.createLbService(NS, s.name, {}, { annotations: { 'metallb.io/address-pool': s.pool } });
      await c.createEndpointSlice(NS, s.name, [{ ip: `198.51.100.${10 + k}`, node: (NET.nodes[k % 3] as { name: string }).name }]);
    }
    const ingress = new Map<string, string>();
    for (const s of services) ingress.set(s.name, (await c.waitLbIngress(NS, s.name, 1, 120_000))[0] as string);
    const l2Vips = services.filter((s) => s.pool === 'l2').map((s) => ingress.get(s.name) as string);
    const bgpVips = services.filter((s) => s.pool === 'bgp').map((s) => ingress.get(s.name) as string);
    log(`Services: L2 ${l2Vips.join(' ')}; BGP ${bgpVips.join(' ')}`);

    // The outside observers.
    const lines = (p: ChildProcess, on: (l: string) => void) => {
      if (p.stdout) createInterface({ input: p.stdout }).on('line', on);
      p.stderr?.resume();
      helpers.push(p);
    };
    const prober = c.client.spawn(process.execPath, ['--import', 'tsx', 'bench/arp-probe.ts', 'eth0', String(probeMs), 'stream'], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let arpListening = false;
    let arpDone = false;
    lines(prober, (l) => {
      let m: Partial<ArpProbe> & { listening?: boolean; done?: boolean };
      try {
        m = JSON.parse(l) as typeof m;
      } catch {
        return;
      }
      if (m.listening) arpListening = true;
      if (m.done) arpDone = true;
      if (m.ip === undefined || m.t === undefined || !m.macs) return;
      const p = { ip: m.ip, t: m.t, macs: m.macs };
      arp.push(p);
      const r = recent.get(p.ip) ?? [];
      r.push(p.macs.map(nodeOfMac).sort().join('+'));
      if (r.length > Math.max(20, Math.ceil(200 / probeMs))) r.shift();
      recent.set(p.ip, r);
    });
    const tcpProbe = (ns: typeof c.client, ips: string[]) => {
      const p = ns.spawn(process.execPath, ['--import', 'tsx', 'bench/tcp-probe.ts', String(o.tcpEveryMs ?? 500), '80', ips.join(',')], {
        cwd: REPO,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      lines(p, (l) => {
        try {
          const m = JSON.parse(l) as Partial<TcpProbe>;
          if (m.ip !== undefined && m.t !== undefined) tcp.push({ ip: m.ip, t: m.t, ok: m.ok === true });
        } catch {
          /* not JSON */
        }
      });
      return p;
    };
    // The router's table: a shell loop in its namespace prints a timestamp and the BGP routes.
    const watcher = c.router.spawn('sh', ['-c', 'while :; do echo "T $(date +%s%3N)"; ip -j -4 route show proto bgp; sleep 0.05; done']);
    let sampleAt = 0;
    lines(watcher, (l) => {
      if (l.startsWith('T ')) {
        sampleAt = Number(l.slice(2));
        return;
      }
      try {
        const rs = JSON.parse(l) as Array<{ dst: string; gateway?: string; nexthops?: Array<{ gateway?: string }> }>;
        const m = new Map<string, string[]>();
        for (const r of rs) {
          const gws = r.nexthops ? r.nexthops.map((h) => h.gateway ?? '') : r.gateway ? [r.gateway] : [];
          m.set(r.dst.replace(/\/32$/, ''), [...new Set(gws.filter(Boolean))].sort());
        }
        routes.push({ t: sampleAt, routes: m });
      } catch {
        /* partial output */
      }
    });
    await waitFor('ARP prober listening', () => arpListening, 60_000, 20);
    prober.stdin?.write(`start ${l2Vips.join(',')}\n`);
    const tcpL2 = tcpProbe(c.client, l2Vips);
    const tcpBgp = tcpProbe(c.ext, bgpVips);

    const allHops = NET.nodes
      .map((n) => n.v4)
      .sort()
      .join();
    /**
     * Each L2 VIP's owner once the lab first settled: the election is deterministic over the live
     * nodes, so a VIP is back where it was once every node is back (a restarted speaker wins its
     * VIPs back); settling waits for that too.
     */
    const owners = new Map<string, string>();
    const settledNow = (): boolean => {
      if (!controller.alive() || speakers.some((s) => !s.alive())) return false;
      for (const ip of l2Vips) {
        const r = recent.get(ip) ?? [];
        if (r.length < 20 || r.some((x) => x === '' || x.includes('+') || x !== r[0])) return false;
        if (owners.size > 0 && r[0] !== owners.get(ip)) return false;
      }
      const last = routes[routes.length - 1];
      return !!last && bgpVips.every((ip) => last.routes.get(ip)?.join() === allHops);
    };
    let settles = 0;
    const settle = async (what: string): Promise<boolean> => {
      const arpBefore = arp.length;
      const routesBefore = routes.length;
      // Fresh observations only: the last probes and routes must postdate the call.
      const ok = await waitFor(
        `settled after ${what}`,
        () => aborted() || (arp.length >= arpBefore + 20 * l2Vips.length && routes.length > routesBefore && settledNow()),
        SETTLE_TIMEOUT_MS,
        50,
      ).then(
        () => true,
        () => false,
      );
      settles++;
      return ok;
    };
    if (!(await settle('start')))
      throw new Error(`the lab never settled: ${JSON.stringify([...recent].map(([ip, r]) => [ip, r.slice(-3)]))}\n${c.dump()}`);
    for (const ip of l2Vips) owners.set(ip, (recent.get(ip) ?? [])[0] as string);
    log(`settled (L2 owners ${[...owners].map(([ip, n]) => `${ip} ${n}`).join(', ')}); injecting faults`);
    t0 = Date.now();

    const restartSpeaker = (i: number) => {
      speakers[i] = c.spawn(c.nodes[i]!, 'src/bin/speaker.ts', c.speakerArgs(i), c.nodeEnv(i), `speaker-${NET.nodes[i]!.name}`);
      procs.push(speakers[i]);
    };
    const plan = labPlan(o.seed, kinds, 10_000, o.gapMs);
    for (const item of plan) {
      if (aborted()) break;
      if (now() >= o.durationMs && !(o.everyKind && kinds.some((k) => !faults.some((f) => f.kind === k)))) break;
      // L5: every process the run did not kill is alive.
      for (const p of [controller, ...speakers])
        if (!p.alive() && !killed.has(p)) violation('L5', `${p.name} exited on its own:\n${p.tail(10)}`);
      const node = NET.nodes[item.index]!.name;
      const f: LabFault = {
        at: now(),
        kind: item.kind,
        durationMs: item.durationMs,
        ...(['sigkill', 'sigstop', 'link'].includes(item.kind) ? { node } : {}),
        ...(item.kind === 'nats' ? { target: `s${item.index + 1}` } : {}),
      };
      faults.push(f);
      log(`t=${(f.at / 1000).toFixed(1)}s ${f.kind} ${f.node ?? f.target ?? ''} for ${f.durationMs} ms`);
      switch (item.kind) {
        case 'sigkill': {
          const s = speakers[item.index]!;
          killed.add(s);
          s.kill('SIGKILL');
          await s.exited;
          await sleep(item.durationMs);
          restartSpeaker(item.index);
          break;
        }
        case 'sigstop': {
          const s = speakers[item.index]!;
          s.kill('SIGSTOP');
          await sleep(item.durationMs);
          s.kill('SIGCONT');
          break;
        }
        case 'link':
          c.setNodeLink(item.index, false);
          await sleep(item.durationMs);
          c.setNodeLink(item.index, true);
          break;
        case 'nats': {
          const p = c.nats?.procs[item.index];
          const exited = p && p.exitCode === null ? new Promise((r) => p.once('exit', r)) : Promise.resolve();
          c.nats?.kill(item.index);
          await exited;
          await sleep(item.durationMs);
          c.nats?.startServer(item.index);
          break;
        }
        case 'apiserver':
          await c.kube.restart();
          f.durationMs = now() - f.at;
          break;
        case 'frr':
          await c.stopFrr('SIGTERM');
          await sleep(item.durationMs);
          await c.startFrr();
          f.durationMs = now() - f.at;
          break;
        case 'controller':
          killed.add(controller);
          controller.kill('SIGKILL');
          await controller.exited;
          await sleep(item.durationMs);
          controller = c.spawn(c.ctl, 'src/bin/controller.ts', [], c.controllerEnv(), 'controller');
          procs.push(controller);
          break;
      }
      if (await settle(`${f.kind} ${f.node ?? f.target ?? ''}`)) f.recoveredAt = now();
      else if (!aborted())
        violation(
          'L2',
          `not settled ${SETTLE_TIMEOUT_MS} ms after ${f.kind} ${f.node ?? f.target ?? ''}: ${JSON.stringify([...recent].map(([ip, r]) => [ip, r.at(-1)]))} routes ${JSON.stringify([...(routes.at(-1)?.routes ?? [])])}`,
        );
      await sleep(item.gapMs);
    }
    const runMs = now();
    for (const p of [controller, ...speakers])
      if (!p.alive() && !killed.has(p)) violation('L5', `${p.name} exited on its own:\n${p.tail(10)}`);

    // The end: every Service keeps its IP.
    const ingressMoved: string[] = [];
    if (!aborted()) {
      for (const s of services) {
        const now2 = await c.lbIngress(NS, s.name).catch(() => [] as string[]);
        if (now2.join() !== ingress.get(s.name)) {
          ingressMoved.push(`${s.name}: ${ingress.get(s.name)} → ${now2.join() || 'none'}`);
          violation('L2', `Service ${NS}/${s.name} changed IP: ${ingress.get(s.name)} → ${now2.join() || 'none'}`, runMs);
        }
      }
    }
    prober.stdin?.write('stop\n');
    await waitFor('ARP probes flushed', () => arpDone || aborted(), 10_000, 20).catch(() => undefined);
    tcpL2.kill('SIGTERM');
    tcpBgp.kill('SIGTERM');
    watcher.kill('SIGTERM');

    const figures = analyse({ arp, tcp, routes, faults, l2Vips, bgpVips, t0, runMs, probeMs, fencingMs, violation });
    figures.ingressMoved = ingressMoved;
    figures.settles = settles;
    const lostIps =
      ingressMoved.length +
      l2Vips.filter((ip) => (recent.get(ip) ?? []).slice(-5).every((x) => x === '')).length +
      bgpVips.filter((ip) => (routes.at(-1)?.routes.get(ip) ?? []).length === 0).length;
    const summary: LabSummary = {
      faults: faults.length,
      dualAnswerMsPastFencing: figures.dualAnswerRuns.reduce((a, r) => a + Math.max(0, r.ms - fencingMs), 0),
      lostIps,
      vipGapP99Ms: p(figures.vipGaps, 0.99),
      bgpPathLossP99Ms: p(figures.bgpPathLoss, 0.99),
      violations: violations.length,
    };
    const log2 = figuresLog(arp, routes, l2Vips, bgpVips, t0);
    const faultsByKind: Record<string, number> = {};
    for (const f of faults) faultsByKind[f.kind] = (faultsByKind[f.kind] ?? 0) + 1;
    const result: ChaosResult = {
      simSeconds: Math.round(runMs / 100) / 10,
      wallSeconds: runMs / 1000,
      faults: faults.length,
      faultsByKind,
      violations,
      failovers: [...figures.vipGaps].sort((a, b) => a - b),
      settledChecks: settles,
      bgpSessions: 0,
      bgpPathsMax: Math.max(0, ...routes.map((r) => [...r.routes.values()].reduce((a, g) => a + g.length, 0))),
    };
    const command = `npm run chaos:lab -- --seed ${o.seed} --duration ${Math.round(o.durationMs / 1000)} --faults ${kinds.join(',')}`;
    const report: ReportInput = {
      opts: { seed: o.seed, nodes: NET.nodes.length, services: services.length, durationMs: runMs, kinds },
      faults,
      log: log2,
      result,
      command,
      lab: {
        title: `Mooring chaos lab: seed ${o.seed}, ${NET.nodes.length} nodes, ${nL2} L2 + ${nBgp} BGP Services, ${(runMs / 1000).toFixed(0)} s on a real network`,
        invariants: LAB_INVARIANTS,
        summary: { ...summary },
        failoverWhat: `per fault and L2 VIP, the longest time with no ARP answer at the segment client, probed every ${probeMs} ms; wall ms`,
        figures: { ...figures, summary },
      },
    };
    return { summary, faults, violations, figures, report, aborted: aborted() };
  } catch (e) {
    if (e instanceof Error) e.message += `\n${c.dump()}`;
    throw e;
  } finally {
    if (o.logsDir) {
      mkdirSync(o.logsDir, { recursive: true });
      procs.forEach((p, i) =>
        writeFileSync(join(o.logsDir as string, `${p.name}-${i}.log`), [...p.events.map((e) => JSON.stringify(e)), ...p.text].join('\n')),
      );
    }
    for (const p of helpers) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await c.cleanup();
  }
}

const p = (xs: readonly number[], q: number): number =>
  xs.length === 0
    ? 0
    : quantile(
        [...xs].sort((a, b) => a - b),
        q,
      );

/** The owner timeline (segment entries) and BGP path changes, in run ms, as the report reads them. */
function figuresLog(arp: readonly ArpProbe[], routes: readonly RouteSample[], l2Vips: string[], bgpVips: string[], t0: number): LogEntry[] {
  const out: LogEntry[] = [];
  const last = new Map<string, string>();
  for (const pr of arp) {
    if (!l2Vips.includes(pr.ip)) continue;
    const names = [...new Set(pr.macs.map(nodeOfMac))].sort();
    const key = names.join('+');
    if (last.get(pr.ip) === key) continue;
    last.set(pr.ip, key);
    out.push({ at: Math.max(0, pr.t - t0), kind: 'segment', ip: pr.ip, announcers: names });
  }
  const held = new Map<string, Set<string>>();
  for (const s of routes) {
    for (const ip of bgpVips) {
      const now = new Set(s.routes.get(ip) ?? []);
      const before = held.get(ip) ?? new Set<string>();
      const at = Math.max(0, s.t - t0);
      for (const g of before) if (!now.has(g)) out.push({ at, kind: 'bgp', node: nodeOfV4(g), prefix: `${ip}/32`, up: false });
      for (const g of now) if (!before.has(g)) out.push({ at, kind: 'bgp', node: nodeOfV4(g), prefix: `${ip}/32`, up: true });
      held.set(ip, now);
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

function analyse(a: {
  arp: readonly ArpProbe[];
  tcp: readonly TcpProbe[];
  routes: readonly RouteSample[];
  faults: readonly LabFault[];
  l2Vips: string[];
  bgpVips: string[];
  t0: number;
  runMs: number;
  probeMs: number;
  fencingMs: number;
  violation: (id: string, text: string, at?: number) => void;
}): LabFigures {
  const { t0, fencingMs } = a;
  const windows = a.faults.map((f) => ({ f, from: f.at, to: f.recoveredAt ?? a.runMs }));
  const faultAt = (t: number) => windows.find((w) => t >= w.from && t <= w.to);
  const vipGaps: number[] = [];
  const gapsOutsideFaults: number[] = [];
  const dualAnswerRuns: LabFigures['dualAnswerRuns'] = [];
  /** Per fault index, per VIP: longest gap. */
  const perFault = new Map<number, Map<string, number>>();
  for (const ip of a.l2Vips) {
    const ps = a.arp.filter((x) => x.ip === ip && x.t >= t0);
    let gapFrom: number | undefined;
    let dualFrom: number | undefined;
    let dualNodes = new Set<string>();
    const closeGap = (to: number) => {
      if (gapFrom === undefined) return;
      const ms = to - gapFrom;
      const w = faultAt(gapFrom - t0);
      if (w) {
        const i = a.faults.indexOf(w.f);
        const m = perFault.get(i) ?? new Map<string, number>();
        m.set(ip, Math.max(m.get(ip) ?? 0, ms));
        perFault.set(i, m);
        // L3: control-plane restarts leave no gap.
        if (['apiserver', 'controller', 'nats', 'frr'].includes(w.f.kind))
          a.violation('L3', `${ip} unanswered for ${ms} ms during ${w.f.kind} ${w.f.target ?? ''}`, gapFrom - t0);
      } else gapsOutsideFaults.push(ms);
      gapFrom = undefined;
    };
    const closeDual = (to: number) => {
      if (dualFrom === undefined) return;
      const ms = to - dualFrom;
      dualAnswerRuns.push({ ip, at: dualFrom - t0, ms, nodes: [...dualNodes].sort() });
      if (ms > fencingMs) a.violation('L1', `${ip} answered by ${[...dualNodes].sort().join(' and ')} for ${ms} ms`, dualFrom - t0);
      dualFrom = undefined;
      dualNodes = new Set();
    };
    let owner: string | undefined;
    for (const x of ps) {
      if (x.macs.length === 0) gapFrom ??= x.t;
      else closeGap(x.t);
      if (x.macs.length > 1) {
        dualFrom ??= x.t;
        for (const m of x.macs) dualNodes.add(nodeOfMac(m));
      } else closeDual(x.t);
      if (x.macs.length === 1) {
        const n = nodeOfMac(x.macs[0] as string);
        if (owner !== undefined && n !== owner) {
          const w = faultAt(x.t - t0);
          if (w && ['apiserver', 'controller', 'nats', 'frr'].includes(w.f.kind))
            a.violation('L3', `${ip} moved ${owner} → ${n} during ${w.f.kind} ${w.f.target ?? ''}`, x.t - t0);
        }
        owner = n;
      }
    }
    const end = (ps[ps.length - 1]?.t ?? t0) + a.probeMs;
    closeGap(end);
    closeDual(end);
  }
  for (const m of perFault.values()) vipGaps.push(...m.values());

  // BGP: from a node's fault to the router's last route via it.
  const bgpPathLoss: number[] = [];
  for (const f of a.faults) {
    if (!f.node || !['sigkill', 'sigstop', 'link'].includes(f.kind)) continue;
    const v4 = NET.nodes.find((n) => n.name === f.node)?.v4 as string;
    for (const ip of a.bgpVips) {
      const gone = a.routes.find((s) => s.t - t0 >= f.at && !(s.routes.get(ip) ?? []).includes(v4));
      if (gone && gone.t - t0 <= f.at + f.durationMs) bgpPathLoss.push(gone.t - t0 - f.at);
      else {
        bgpPathLoss.push(f.durationMs);
        a.violation('L4', `the router kept ${ip} via ${f.node} through the whole ${f.kind} (${f.durationMs} ms)`, f.at);
      }
    }
  }
  const tcpRun = a.tcp.filter((x) => x.t >= t0);
  const failed = tcpRun.filter((x) => !x.ok);
  return {
    runMs: a.runMs,
    fencingMs,
    l2Vips: a.l2Vips,
    bgpVips: a.bgpVips,
    arpProbes: a.arp.filter((x) => x.t >= t0).length,
    vipGaps,
    gapsOutsideFaults,
    dualAnswerRuns,
    bgpPathLoss,
    tcp: { attempts: tcpRun.length, failed: failed.length, failedOutsideFaults: failed.filter((x) => !faultAt(x.t - t0)).length },
    ingressMoved: [],
    settles: 0,
  };
}
