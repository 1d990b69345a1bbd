// npm run bench:controller — Mooring's controller beside MetalLB's own controller, one after the
// other, against the same real apiserver (test/lib/kube.ts) with the same Services: for each, N
// LoadBalancer services created in bulk (32 in flight) until all have an IP, then M one by one
// (create-to-IP p50/p99); the controller's CPU from /proc/<pid>/stat over that window (CPU ms per
// Service = CPU / (N + M)), its peak RSS, and the apiserver's (with etcd) CPU in the same window.
// Between the two, the services are deleted (the next controller starts on the same empty
// namespace). MetalLB's controller is built from the Go module proxy (test/metallb, version in its
// go.mod) into ~/.cache/mooring, runs with its webhook and certificate rotation off, on the admin
// kubeconfig (it has no RBAC in deploy/), reading Mooring's CRDs from deploy/crds: whatever it logs
// at warn and above is printed (a compatibility check of the CRDs). Both log at warn.
// Everything runs in namespaces (apiserver in one, controllers and client in another).
// Usage: tsx bench/controller.bench.ts [N=5000] [M=200]. Prints a table, then one JSON line.
// MOORING_BENCH_ONLY=ours|metallb runs one of them (the JSON then has that one's keys only).
// MOORING_BENCH_BASE=<checkout> also runs the controller of another checkout of Mooring first (e.g.
// a `git worktree` of the commit before a change), same flags and window: before/after in one run
// (MOORING_BENCH_BASE_LAST=1 runs it last instead).
// Profiles: MOORING_BENCH_PROFILE=<dir> runs Mooring's controller with `node --cpu-prof` into
// <dir> (written when it exits at the end of its run), and saves a CPU profile of the apiserver
// during Mooring's run (<dir>/apiserver.pprof, MOORING_BENCH_PROFILE_SEC=30 s, starting
// MOORING_BENCH_PROFILE_DELAY_SEC=5 s into the bulk phase; read it with `go tool pprof -top`).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, type Netns } from '../test/lib/netns.js';
import { requireRoot, requireTools } from '../test/lib/prereq.js';
import { kubeconfig, runTs, startKube, type Kube } from '../test/lib/kube.js';
import { ensureMetallbController, metallbControllerArgs, metallbVersion } from '../test/lib/metallb.js';

const N = Number(process.argv[2] ?? 5000);
const M = Number(process.argv[3] ?? 200);
const DRIVER = new URL('./controller.driver.ts', import.meta.url).pathname;
const CONTROLLER = new URL('../src/bin/controller.ts', import.meta.url).pathname;
const PROFILE = process.env.MOORING_BENCH_PROFILE;
const PROFILE_SEC = Number(process.env.MOORING_BENCH_PROFILE_SEC ?? 30);
const PROFILE_DELAY_SEC = Number(process.env.MOORING_BENCH_PROFILE_DELAY_SEC ?? 5);
type Who = 'base' | 'ours' | 'metallb';
const BASE = process.env.MOORING_BENCH_BASE;
const ONLY = (process.env.MOORING_BENCH_ONLY ?? 'ours,metallb').split(',').filter((w): w is Who => w === 'ours' || w === 'metallb');
// MOORING_BENCH_BASE_LAST=1: the other checkout runs last (to see the order's own effect).
const WHO: Who[] = !BASE ? ONLY : process.env.MOORING_BENCH_BASE_LAST ? [...ONLY, 'base'] : ['base', ...ONLY];

function cpuSec(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}
function rssMB(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, number>;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

interface RunFigures {
  who: Who;
  r: Record<string, number>;
  ctlCpu: number;
  apiCpu: number;
  peakRss: number;
  log: string;
}

requireRoot();
requireTools('ip');
// Built before the apiserver starts, so a cold build does not run beside anything measured.
const metallbBin = WHO.includes('metallb') ? await ensureMetallbController() : '';
const lab = new Lab('kb');
let kube: Kube | undefined;
const procs: ChildProcess[] = [];
try {
  const sw = lab.netns('sw');
  const api = lab.netns('api');
  const cl = lab.netns('cl');
  const br = lab.bridge(sw, 'br0');
  lab.link(api, 'eth0', sw, br, ['198.51.100.193/27']);
  lab.link(cl, 'eth0', sw, br, ['198.51.100.194/27']);
  if (PROFILE) mkdirSync(PROFILE, { recursive: true });
  kube = await startKube({
    netns: api,
    host: '198.51.100.193',
    extraArgs: ['--max-requests-inflight=800', '--max-mutating-requests-inflight=400', ...(PROFILE ? ['--profiling=true'] : [])],
  });
  const k = kube;
  const driver = async (args: string[], timeoutMs = 10 * 60_000) => {
    const res = await runTs(cl, DRIVER, args, k.env, timeoutMs);
    if (res.code !== 0) throw new Error(`driver ${args.join(' ')} failed: ${res.stderr}`);
    return lastJson(res.stdout);
  };
  const token = (await driver(['setup'])).token as unknown as string;
  const ctlConfig = join(k.dataDir, 'controller.kubeconfig');
  writeFileSync(ctlConfig, kubeconfig(k.url, k.caPem, token, 'controller'), { mode: 0o600 });

  const start = (who: Who): { proc: ChildProcess; log: () => string } => {
    let log = '';
    const script = who === 'base' ? join(BASE ?? '', 'src/bin/controller.ts') : CONTROLLER;
    const proc =
      who !== 'metallb'
        ? cl.spawn(
            process.execPath,
            [...(PROFILE && who === 'ours' ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : []), '--import', 'tsx', script],
            {
              stdio: ['ignore', 'pipe', 'pipe'],
              env: { ...process.env, KUBECONFIG: ctlConfig, MOORING_LOG_LEVEL: 'warn' },
            },
          )
        : cl.spawn(metallbBin, metallbControllerArgs({ namespace: 'metallb-system', metricsPort: 7473, logLevel: 'warn' }), {
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, KUBECONFIG: k.kubeconfigPath },
          });
    procs.push(proc);
    const keep = (d: string) => {
      log = (log + d).slice(-200_000);
    };
    proc.stdout?.setEncoding('utf8').on('data', keep);
    proc.stderr?.setEncoding('utf8').on('data', keep);
    return { proc, log: () => log };
  };
  const stop = async (proc: ChildProcess) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };

  const measure = async (who: Who): Promise<RunFigures> => {
    const { proc, log } = start(who);
    // Serving: a probe service gets an IP (and is deleted again) before the window opens.
    const exited = new Promise<never>((_, fail) =>
      proc.once('exit', (code, sig) => fail(new Error(`${who}: the controller exited (${code ?? sig})`))),
    );
    exited.catch(() => {}); // observed below, and after the window the exit is ours
    await Promise.race([driver(['probe', `probe-${who}`], 5 * 60_000), exited]).catch((e: unknown) => {
      throw new Error(`${who}: ${String(e)}\n--- controller log ---\n${log().slice(-5000)}`);
    });
    await new Promise((r) => setTimeout(r, 2000));
    let peak = rssMB(proc.pid);
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMB(proc.pid));
    }, 500);
    const cpu0 = { api: cpuSec(k.pid), ctl: cpuSec(proc.pid) };
    const running = runTs(cl, DRIVER, ['run', String(N), String(M)], k.env, 60 * 60_000);
    const profiled = PROFILE && who === 'ours' ? apiserverProfile(api, k) : Promise.resolve();
    const run = await running;
    await profiled;
    const cpu1 = { api: cpuSec(k.pid), ctl: cpuSec(proc.pid) };
    clearInterval(sampler);
    await stop(proc); // --cpu-prof writes when the process exits: while the apiserver still answers
    if (run.code !== 0) throw new Error(`${who}: run failed: ${run.stderr}\n--- controller ---\n${log().slice(-5000)}`);
    const figures = { who, r: lastJson(run.stdout), ctlCpu: cpu1.ctl - cpu0.ctl, apiCpu: cpu1.api - cpu0.api, peakRss: peak, log: log() };
    // Each run's figures as soon as it ends (a later failure keeps them).
    process.stderr.write(
      `${who}: ${JSON.stringify({ ...figures.r, ctlCpuSec: round(figures.ctlCpu, 2), apiCpuSec: round(figures.apiCpu, 2), peakRssMB: round(peak) })}\n`,
    );
    const cleaned = await driver(['clean'], 20 * 60_000);
    process.stderr.write(`${who}: done; services deleted in ${round(cleaned.cleanSec ?? NaN)} s\n`);
    return figures;
  };

  const runs: RunFigures[] = [];
  for (const who of WHO) runs.push(await measure(who));
  const per = (x: number) => (1000 * x) / (N + M);
  const name = (who: Who) => (who === 'ours' ? 'Mooring' : who === 'base' ? 'Mooring (base)' : `MetalLB ${metallbVersion()}`);
  const rows: Array<[string, ...string[]]> = [
    ['', ...runs.map((x) => name(x.who))],
    ['bulk: all created (s)', ...runs.map((x) => String(round(x.r.bulkCreateSec ?? NaN)))],
    ['bulk: all have an IP (s)', ...runs.map((x) => String(round(x.r.bulkAllIpSec ?? NaN)))],
    ['bulk: services/s to IP', ...runs.map((x) => String(round(x.r.bulkPerSec ?? NaN)))],
    ['bulk: services without IP at the end', ...runs.map((x) => String(x.r.missing))],
    [`one by one (${M}): create-to-IP p50 (ms)`, ...runs.map((x) => String(round(x.r.createToIpP50Ms ?? NaN)))],
    ['one by one: create-to-IP p99 (ms)', ...runs.map((x) => String(round(x.r.createToIpP99Ms ?? NaN)))],
    ['controller CPU s in the window', ...runs.map((x) => String(round(x.ctlCpu, 2)))],
    ['controller CPU ms per service', ...runs.map((x) => String(round(per(x.ctlCpu), 2)))],
    ['controller peak RSS (MB)', ...runs.map((x) => String(round(x.peakRss)))],
    ['apiserver+etcd CPU ms per service', ...runs.map((x) => String(round(per(x.apiCpu))))],
    ['driver (client) CPU s', ...runs.map((x) => String(round(x.r.driverCpuSec ?? NaN)))],
    // The driver does the same work in every run: how much CPU time the same work took in that
    // window, a yardstick for the load of the shared machine (CPU seconds inflate under contention).
    ['controller CPU / driver CPU', ...runs.map((x) => String(round(x.ctlCpu / (x.r.driverCpuSec ?? NaN), 2)))],
  ];
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  process.stdout.write(
    `controller bench: ${N} services in bulk (32 in flight) + ${M} one by one, real kube-apiserver + etcd, 2-core shared machine\n` +
      rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[0] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')).join('\n') +
      '\n',
  );
  const mlb = runs.find((x) => x.who === 'metallb');
  if (mlb) {
    // What MetalLB's controller said at warn and above: against Mooring's CRDs, nothing is expected.
    const lines = mlb.log.split('\n').filter((l) => l.trim() !== '');
    const counts = new Map<string, number>();
    for (const l of lines) {
      const k = l.replace(/"(ts|reconcileID|stacktrace)":"(\\.|[^"\\])*",?|^[IWE]\d{4} [\d:.]+\s+\d+ /g, '');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    process.stdout.write(
      `MetalLB controller log at warn+: ${lines.length} lines${
        counts.size
          ? `, distinct (×count):\n  ${[...counts]
              .slice(0, 20)
              .map(([k, n]) => `×${n} ${k}`)
              .join('\n  ')}`
          : ''
      }\n`,
    );
  }
  const ours = runs.find((x) => x.who === 'ours');
  const base = runs.find((x) => x.who === 'base');
  process.stdout.write(
    `${JSON.stringify({
      services: N,
      ...(ours ? { oursCpuMsPerService: round(per(ours.ctlCpu), 2) } : {}),
      ...(mlb ? { metallbCpuMsPerService: round(per(mlb.ctlCpu), 2) } : {}),
      ...(ours && mlb ? { controllerCpuRatioVsMetalLB: round(ours.ctlCpu / mlb.ctlCpu, 2) } : {}),
      ...(ours ? { oursCreateToIpP99Ms: round(ours.r.createToIpP99Ms ?? NaN) } : {}),
      ...(mlb ? { metallbCreateToIpP99Ms: round(mlb.r.createToIpP99Ms ?? NaN) } : {}),
      ...(ours ? { oursRssMB: round(ours.peakRss) } : {}),
      ...(mlb ? { metallbRssMB: round(mlb.peakRss) } : {}),
      apiserverMsPerService: round(per((ours ?? mlb)?.apiCpu ?? NaN)),
      ...(mlb ? { metallbVersion: metallbVersion() } : {}),
      ...(base
        ? {
            baseCpuMsPerService: round(per(base.ctlCpu), 2),
            baseCreateToIpP99Ms: round(base.r.createToIpP99Ms ?? NaN),
            baseRssMB: round(base.peakRss),
          }
        : {}),
      ...(base && mlb ? { baseCpuRatioVsMetalLB: round(base.ctlCpu / mlb.ctlCpu, 2) } : {}),
      ...Object.fromEntries(runs.map((x) => [`${x.who}CpuPerDriverCpu`, round(x.ctlCpu / (x.r.driverCpuSec ?? NaN), 2)])),
    })}\n`,
  );
} finally {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await kube?.destroy();
  await lab.cleanup();
}

/** The apiserver's CPU profile, fetched from inside its namespace (no test traffic from the root one). */
function apiserverProfile(api: Netns, k: Kube): Promise<void> {
  const dir = PROFILE ?? '';
  return new Promise<void>((ok) =>
    setTimeout(() => {
      const curl = api.spawn(
        'curl',
        [
          '-sS',
          '--fail',
          '--cacert',
          join(k.dataDir, 'pki', 'ca.crt'),
          '-H',
          `Authorization: Bearer ${k.adminToken}`,
          '-o',
          join(dir, 'apiserver.pprof'),
          `${k.url}/debug/pprof/profile?seconds=${PROFILE_SEC}`,
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      curl.on('exit', (code) => {
        if (code !== 0) process.stderr.write(`apiserver profile: curl exited ${code}\n`);
        ok();
      });
    }, PROFILE_DELAY_SEC * 1000),
  );
}
