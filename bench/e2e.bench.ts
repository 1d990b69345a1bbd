// `npm run bench:e2e` (issue 9): the whole product in the e2e lab (test/lib/cluster.ts: real
// apiserver, 3-server NATS, controller, three speakers, FRR router, clients), IPv6 pools large
// enough for 1,000 services.
//   Phase 1: N services (default 100) created one by one in an L2 pool, then N in a BGP pool;
//     for each, the time from the create call to the first TCP connection that reaches a node
//     through the IP — from the segment client (L2: NDP + the announcing node) and from the
//     client behind the router (BGP: the route in the router's kernel). Same host clock.
//   Phase 0: each speaker's RSS at rest: config loaded (/readyz answers ready: caches synced, config
//     valid, NATS connected), BGP sessions Established, no Service yet; after the same settle and
//     idle window as phase 2 (speakerRssMBIdle).
//   Phase 2: more L2 services until TOTAL (default 1,000) are announced (ServiceL2Status), then
//     each speaker's RSS and its CPU over an idle window (no changes).
//   Phase F (first, when the phases above run on the native backend and E2E_BENCH_FRR_N > 0): the
//     same BGP create → route measurement through the FRR backend (--bgp-backend=frr: each speaker
//     drives an FRR of its own, zebra + bgpd + bfdd in its node namespace), E2E_BENCH_FRR_N trials
//     (default 30, fewer than native's N to keep the run short; below 100 trials p99 is the max)
//     after one warm-up. Its services are then deleted (routes gone at the router), the speakers and
//     their FRRs stopped (sessions down at the router), and native speakers started: phases 0-2 run
//     as without it (phase 0's speakers hold no Service).
// Env: E2E_BENCH_N (100), E2E_BENCH_TOTAL (1000), E2E_BENCH_IDLE_S (30), E2E_BENCH_FRR_N (30),
// E2E_BENCH_BGP_BACKEND (backend of phases 0-2: native, or frr — then no phase F; reported as
// bgpBackend). The JSON line has bgpCreateToRouteP50Ms/P99Ms of phase 1 (as before) and the same per
// backend: bgpCreateToRouteP99MsNative, bgpCreateToRouteP99MsFrr (P50 likewise), frrTrials.
// Runs as root in namespaces it creates and removes. Never asserts a time. Prints a table, then one
// JSON line.
import { readFileSync } from 'node:fs';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { Cluster, MOORING_NS, NET, type Proc } from '../test/lib/cluster.js';

const N = Number(process.env.E2E_BENCH_N ?? 100);
const TOTAL = Number(process.env.E2E_BENCH_TOTAL ?? 1000);
const IDLE_S = Number(process.env.E2E_BENCH_IDLE_S ?? 30);
const BGP_BACKEND = process.env.E2E_BENCH_BGP_BACKEND === 'frr' ? 'frr' : 'native';
const FRR_N = BGP_BACKEND === 'native' ? Number(process.env.E2E_BENCH_FRR_N ?? 30) : 0;
const NS = 'bench';
const r1 = (x: number) => Math.round(x * 10) / 10;
function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: r1(pct(s, 50)), p99: r1(pct(s, 99)), max: r1(s[s.length - 1] ?? NaN), n: s.length };
};
const v6spec = { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'], allocateLoadBalancerNodePorts: false };

/** A reach prober (test/lib/reach-probe.ts) in a namespace: `reach(ip)` resolves when a TCP connection to ip:80 succeeds. */
function prober(c: Cluster, ns: Parameters<Cluster['spawn']>[0], name: string) {
  const p = c.spawn(ns, 'test/lib/reach-probe.ts', [], {}, name, 'pipe');
  let seen = 0;
  // An IP is reached again when a deleted Service's IP goes to a new one (phase F's IPs in phase 1):
  // an answer counts once, so a request never takes the answer of an earlier one.
  const used = new WeakSet<Record<string, unknown>>();
  return {
    proc: p,
    ready: () => p.waitEvent('ready', (e) => e.ready === true, 60_000),
    reach: async (ip: string): Promise<{ at: number; node: string }> => {
      p.proc.stdin?.write(`${JSON.stringify({ ip })}\n`);
      const e = await p.waitEvent(`reach ${ip}`, (x) => x.ip === ip && !used.has(x), 130_000);
      used.add(e);
      seen++;
      if (e.ok !== true) throw new Error(`${ip} never reachable from ${name}`);
      return { at: Number(e.at), node: String(e.node) };
    },
    get count() {
      return seen;
    },
  };
}

function procTimes(pid: number): { cpuTicks: number; rssMB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return { cpuTicks: Number(f[11]) + Number(f[12]), rssMB: rssKb / 1024 };
}

const t00 = Date.now();
const progress = (msg: string) => process.stderr.write(`[bench:e2e +${Math.round((Date.now() - t00) / 1000)}s] ${msg}\n`);
let c: Cluster | undefined;
let procs: Proc[] = [];
try {
  // The product runs as the image runs it: compiled (npm run build), not through tsx.
  progress('npm run build');
  const b = spawnSync('npm', ['run', '--silent', 'build'], { encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`npm run build failed:\n${b.stdout}${b.stderr}`);
  progress('starting the lab (apiserver, NATS, FRR, controller, 3 speakers)');
  c = await Cluster.start();
  const cl = c;
  cl.serveOnNodes();
  // Phase F runs first on FRR-backend speakers; phases 0-2 on speakers of BGP_BACKEND.
  const started = cl.startMooring({ compiled: true, bgpBackend: FRR_N > 0 ? 'frr' : BGP_BACKEND });
  const controller = started.controller;
  let speakers = started.speakers;
  procs = [controller, ...speakers];
  await cl.admin.apply(`
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: bench-l2, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.benchL2}"], autoAssign: false }
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: bench-bgp, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.benchBgp}"], autoAssign: false }
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: bench-l2, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [bench-l2] }
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: { name: bench-bgp, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [bench-bgp] }
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: router6, namespace: ${MOORING_NS} }
spec: { myASN: ${NET.nodeAsn}, peerASN: ${NET.router.asn}, peerAddress: "${NET.router.seg6}", holdTime: 9s }
`);
  await cl.ensureNamespace(NS);
  const l2Probe = prober(cl, cl.client, 'probe-segment');
  const bgpProbe = prober(cl, cl.ext, 'probe-external');
  await Promise.all([l2Probe.ready(), bgpProbe.ready()]);

  let seq = 0;
  async function one(pool: 'bench-l2' | 'bench-bgp', probe: ReturnType<typeof prober>): Promise<number> {
    const name = `${pool === 'bench-l2' ? 'l2' : 'bgp'}-${seq++}`;
    const t0 = Date.now();
    await cl.createLbService(NS, name, v6spec, { annotations: { 'metallb.io/address-pool': pool } });
    await cl.createEndpointSlice(NS, name, [{ ip: `2001:db8:99::${(seq % 60000).toString(16)}`, node: NET.nodes[seq % 3]!.name }], name);
    const [ip = ''] = await cl.waitLbIngress(NS, name, 1, 120_000);
    const r = await probe.reach(ip);
    return r.at - t0;
  }
  type Summary = { peers?: Record<string, { state?: string }> };
  /** The router's IPv6 session state with each node. */
  const routerSessions = () => {
    const j = cl.vtyshJson<Summary & { ipv6Unicast?: Summary }>('show bgp ipv6 unicast summary json');
    const peers = (j?.ipv6Unicast ?? j)?.peers ?? {};
    return NET.nodes.map((n) => peers[n.v6]?.state);
  };
  const speakersUp = async () => {
    await cl.waitFor('IPv6 BGP sessions Established', () => routerSessions().every((st) => st === 'Established'), 120_000, 500);
    await cl.waitFor(
      'every speaker ready (/readyz)',
      () =>
        NET.nodes.every((n) =>
          /"ready":true/.test(cl.client.exec('curl', ['-s', '--max-time', '5', `http://${n.v4}:7472/readyz`], { allowFail: true })),
        ),
      120_000,
      500,
    );
  };
  await speakersUp();

  // Phase F: BGP create → route through the FRR backend, then back to BGP_BACKEND's speakers.
  const frrMs: number[] = [];
  let frrMade = 0;
  if (FRR_N > 0) {
    progress(`FRR backend: warm-up, then ${FRR_N} BGP services one by one`);
    await one('bench-bgp', bgpProbe);
    for (let i = 0; i < FRR_N; i++) {
      frrMs.push(await one('bench-bgp', bgpProbe));
      if ((i + 1) % 10 === 0) progress(`BGP (FRR) ${i + 1}/${FRR_N}: p50 ${stats(frrMs).p50} ms`);
    }
    // Leave nothing of phase F: its services (and their routes), the speakers, their FRRs.
    frrMade = seq;
    const made = Array.from({ length: seq }, (_, i) => `bgp-${i}`);
    const ips = (await Promise.all(made.map((n) => cl.lbIngress(NS, n)))).flat();
    for (const n of made) await cl.deleteService(NS, n);
    await cl.waitFor('phase F routes withdrawn at the router', () => ips.every((ip) => cl.routerNextHops(ip).length === 0), 60_000, 500);
    // SIGTERM, then SIGKILL after 20 s (by PID): a stuck shutdown must not hang the bench.
    const stop = async (ps: ChildProcess[]) => {
      const live = ps.filter((p) => p.exitCode === null && p.signalCode === null);
      const gone = Promise.all(live.map((p) => new Promise((r) => p.once('exit', r))));
      for (const p of live) p.kill('SIGTERM');
      const t = setTimeout(() => live.forEach((p) => p.kill('SIGKILL')), 20_000);
      await gone;
      clearTimeout(t);
    };
    await stop(speakers.map((p) => p.proc));
    await stop(cl.nodeFrr.flatMap((f) => f.procs));
    await cl.waitFor('IPv6 BGP sessions down at the router', () => routerSessions().every((st) => st !== 'Established'), 60_000, 500);
    progress(`FRR backend done; starting ${BGP_BACKEND} speakers`);
    speakers = NET.nodes.map((n, i) => cl.spawnImage(cl.nodes[i]!, 'speaker', cl.speakerArgs(i), cl.nodeEnv(i), `speaker-${n.name}`));
    procs = [controller, ...speakers];
    await speakersUp();
  }
  // Phase 0: the speakers at rest (config loaded, nothing announced), measured as in phase 2.
  progress(`speakers at rest: settle 5 s, idle window ${IDLE_S} s`);
  await new Promise((r) => setTimeout(r, 5000 + IDLE_S * 1000));
  const rssIdle = speakers.map((s: Proc) => r1(procTimes(s.pid ?? 0).rssMB));
  progress(`speaker RSS at rest: ${rssIdle.join(', ')} MB`);
  // Warm-up (first informer events, first BGP UPDATEs, JIT): not counted.
  progress('warm-up');
  await one('bench-l2', l2Probe);
  await one('bench-bgp', bgpProbe);
  const l2Ms: number[] = [];
  const bgpMs: number[] = [];
  for (let i = 0; i < N; i++) {
    l2Ms.push(await one('bench-l2', l2Probe));
    if ((i + 1) % 20 === 0) progress(`L2 ${i + 1}/${N}: p50 ${stats(l2Ms).p50} ms`);
  }
  for (let i = 0; i < N; i++) {
    bgpMs.push(await one('bench-bgp', bgpProbe));
    if ((i + 1) % 20 === 0) progress(`BGP ${i + 1}/${N}: p50 ${stats(bgpMs).p50} ms`);
  }

  // Phase 2: up to TOTAL announced services (the BGP ones count: every speaker announces them).
  const have = seq - frrMade; // phase F's services are gone
  const more = Math.max(0, TOTAL - have);
  progress(`creating ${more} more L2 services (${TOTAL} in all)`);
  const names = Array.from({ length: more }, (_, i) => `bulk-${i}`);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        await cl.createLbService(NS, name, v6spec, { annotations: { 'metallb.io/address-pool': 'bench-l2' } });
        await cl.createEndpointSlice(NS, name, [{ ip: '2001:db8:99::1', node: NET.nodes[next % 3]!.name }], name);
        if (next % 200 === 0) progress(`${next}/${more} created`);
      }
    }),
  );
  const l2Total = TOTAL - N - 1;
  // Speaker health while it converges: event-loop stalls and serviceIp transitions seen so far.
  const jsonLines = (p: Proc) => [
    ...p.events,
    ...p.text
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      }),
  ];
  const health = () =>
    speakers
      .map((p: Proc) => {
        const e = jsonLines(p);
        return `${p.name}: stalls>150ms ${e.filter((x) => x.event === 'loop.stall').length}, transitions ${e.filter((x) => x.event === 'serviceIp.transition').length}`;
      })
      .join('; ');
  await cl.waitFor(
    `${l2Total} ServiceL2Status objects (every L2 service announced)`,
    async () => {
      const n = (await cl.admin.items('metallb.io/v1beta1', 'ServiceL2Status', { namespace: MOORING_NS })).length;
      progress(`announced (L2): ${n}/${l2Total} (${health()})`);
      return n >= l2Total;
    },
    600_000,
    5000,
  );
  // Spot-check: the last 10 bulk services are reachable.
  const bulkIps = await Promise.all(names.slice(-10).map((n) => cl.waitLbIngress(NS, n, 1, 60_000).then((x) => x[0] ?? '')));
  for (const ip of bulkIps) await l2Probe.reach(ip);
  progress(`idle window: ${IDLE_S} s`);
  await new Promise((r) => setTimeout(r, 5000));
  const pids = speakers.map((s: Proc) => s.pid ?? 0);
  const before = pids.map(procTimes);
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const afterT = pids.map(procTimes);
  const hz = 100; // USER_HZ on Linux
  const cpuPct = afterT.map((a, i) => r1(((a.cpuTicks - (before[i]?.cpuTicks ?? 0)) / hz / IDLE_S) * 100));
  const rss = afterT.map((a) => r1(a.rssMB));

  const l2 = stats(l2Ms);
  const bgp = stats(bgpMs);
  const frr = frrMs.length > 0 ? stats(frrMs) : undefined;
  const perBackend = { native: BGP_BACKEND === 'native' ? bgp : undefined, frr: BGP_BACKEND === 'frr' ? bgp : frr };
  console.log(
    `\nEnd to end: Service created → reachable (${N} one by one, IPv6; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`,
  );
  console.log('  path                               p50 ms   p99 ms   max ms');
  console.log(
    `  L2  (segment client, NDP)       ${String(l2.p50).padStart(8)} ${String(l2.p99).padStart(8)} ${String(l2.max).padStart(8)}`,
  );
  console.log(
    `  BGP (client behind the router)  ${String(bgp.p50).padStart(8)} ${String(bgp.p99).padStart(8)} ${String(bgp.max).padStart(8)}   ${BGP_BACKEND} backend, ${bgp.n} trials`,
  );
  if (frr)
    console.log(
      `  BGP (client behind the router)  ${String(frr.p50).padStart(8)} ${String(frr.p99).padStart(8)} ${String(frr.max).padStart(8)}   frr backend, ${frr.n} trials`,
    );
  console.log(
    `\nSpeakers with ${TOTAL} services announced (${l2Total} L2 + ${N + 1} BGP), idle ${IDLE_S} s (heartbeat 200 ms × 5, the lab's setting):`,
  );
  console.log('  node   RSS MB at rest   RSS MB   CPU % of one core');
  NET.nodes.forEach((n, i) =>
    console.log(`  ${n.name.padEnd(6)} ${String(rssIdle[i]).padStart(15)} ${String(rss[i]).padStart(8)} ${String(cpuPct[i]).padStart(8)}`),
  );
  console.log(
    JSON.stringify({
      l2CreateToReachP50Ms: l2.p50,
      l2CreateToReachP99Ms: l2.p99,
      bgpCreateToRouteP50Ms: bgp.p50,
      bgpCreateToRouteP99Ms: bgp.p99,
      speakerRssMBIdle: Math.max(...rssIdle),
      bgpBackend: BGP_BACKEND,
      ...(perBackend.native && { bgpCreateToRouteP50MsNative: perBackend.native.p50, bgpCreateToRouteP99MsNative: perBackend.native.p99 }),
      ...(perBackend.frr && { bgpCreateToRouteP50MsFrr: perBackend.frr.p50, bgpCreateToRouteP99MsFrr: perBackend.frr.p99 }),
      ...(perBackend.frr && { frrTrials: perBackend.frr.n }),
      speakerRssMB1000: Math.max(...rss),
      speakerCpuPctIdle1000: Math.max(...cpuPct),
      services: TOTAL,
      trials: N,
    }),
  );
} catch (e) {
  // What the product said last, for the diagnosis (the lab is gone after cleanup).
  for (const p of procs) {
    const last = p.events.slice(-20).map((x) => JSON.stringify(x).slice(0, 400));
    process.stderr.write(`---- ${p.name} (${p.alive() ? 'running' : 'exited'}):\n${[...last, p.tail(10)].join('\n')}\n`);
  }
  throw e;
} finally {
  await c?.cleanup();
}
