// npm run bench:controller — the controller against the real apiserver (test/lib/kube.ts):
// N LoadBalancer services created in bulk, time until all have an IP in status (services/s), then
// M created one by one (create-to-IP p50/p99). Also the controller's peak RSS and the CPU seconds
// the apiserver (with etcd) and the controller each spent, to show whose time it is.
// Everything runs in namespaces (apiserver in one, controller and client in another).
// Usage: tsx bench/controller.bench.ts [N=5000] [M=200]. Prints a table, then one JSON line.
// Profiles: MOORING_BENCH_PROFILE=<dir> turns the apiserver's profiling on and saves a CPU profile
// of it (<dir>/apiserver.pprof, MOORING_BENCH_PROFILE_SEC=30 s, starting MOORING_BENCH_PROFILE_DELAY_SEC=5 s into the bulk phase;
// read it with `go tool pprof -top`), and runs the controller with `node --cpu-prof` into <dir>
// (written when it exits at the end).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, waitFor } from '../test/lib/netns.js';
import { requireRoot, requireTools } from '../test/lib/prereq.js';
import { kubeconfig, runTs, startKube, type Kube } from '../test/lib/kube.js';

const N = Number(process.argv[2] ?? 5000);
const M = Number(process.argv[3] ?? 200);
const DRIVER = new URL('./controller.driver.ts', import.meta.url).pathname;
const CONTROLLER = new URL('../src/bin/controller.ts', import.meta.url).pathname;
const PROFILE = process.env.MOORING_BENCH_PROFILE;
const PROFILE_SEC = Number(process.env.MOORING_BENCH_PROFILE_SEC ?? 30);
const PROFILE_DELAY_SEC = Number(process.env.MOORING_BENCH_PROFILE_DELAY_SEC ?? 5);

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

requireRoot();
requireTools('ip');
const lab = new Lab('kb');
let kube: Kube | undefined;
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
  const setup = await runTs(cl, DRIVER, ['setup'], kube.env);
  if (setup.code !== 0) throw new Error(`setup failed: ${setup.stderr}`);
  const token = (JSON.parse(setup.stdout.trim().split('\n').pop() ?? '{}') as { token?: string }).token ?? '';
  const ctlConfig = join(kube.dataDir, 'controller.kubeconfig');
  writeFileSync(ctlConfig, kubeconfig(kube.url, kube.caPem, token, 'controller'), { mode: 0o600 });
  let log = '';
  const ctl = cl.spawn(process.execPath, [...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : []), '--import', 'tsx', CONTROLLER], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, KUBECONFIG: ctlConfig, MOORING_LOG_LEVEL: 'warn' },
  });
  ctl.stderr?.setEncoding('utf8').on('data', (d: string) => {
    log = (log + d).slice(-20_000);
  });
  // The controller logs at warn here; it is ready once its informers hold the pool (no log line
  // at warn), so give it a moment by waiting for its RSS to settle above a baseline.
  await waitFor('controller up', () => rssMB(ctl.pid) > 50, 60_000, 200);
  await new Promise((r) => setTimeout(r, 3000));

  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMB(ctl.pid));
  }, 500);
  const cpu0 = { api: cpuSec(kube.pid), ctl: cpuSec(ctl.pid) };
  const running = runTs(cl, DRIVER, ['run', String(N), String(M)], kube.env, 40 * 60_000);
  // The apiserver's CPU profile, fetched from inside its namespace (no test traffic from the root one).
  const k = kube;
  const profiled = PROFILE
    ? new Promise<void>((ok) =>
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
              join(PROFILE, 'apiserver.pprof'),
              `${k.url}/debug/pprof/profile?seconds=${PROFILE_SEC}`,
            ],
            { stdio: ['ignore', 'ignore', 'inherit'] },
          );
          curl.on('exit', (code) => {
            if (code !== 0) process.stderr.write(`apiserver profile: curl exited ${code}\n`);
            ok();
          });
        }, PROFILE_DELAY_SEC * 1000),
      )
    : Promise.resolve();
  const run = await running;
  await profiled;
  const cpu1 = { api: cpuSec(kube.pid), ctl: cpuSec(ctl.pid) };
  clearInterval(sampler);
  if (PROFILE) {
    // --cpu-prof writes when the process exits: stop it while the apiserver still answers.
    const exited = new Promise((r) => ctl.once('exit', r));
    ctl.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  }
  if (run.code !== 0) throw new Error(`run failed: ${run.stderr}\n--- controller ---\n${log}`);
  const r = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
  const apiCpu = cpu1.api - cpu0.api;
  const ctlCpu = cpu1.ctl - cpu0.ctl;
  const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
  const rows: Array<[string, string]> = [
    ['services (bulk)', String(N)],
    ['bulk: all created (s)', String(round(r.bulkCreateSec ?? NaN))],
    ['bulk: all have an IP (s)', String(round(r.bulkAllIpSec ?? NaN))],
    ['bulk: services/s to IP', String(round(r.bulkPerSec ?? NaN))],
    ['bulk: creates/s (apiserver alone)', String(round(r.createPerSec ?? NaN))],
    ['bulk: services without IP at the end', String(r.missing)],
    [`one by one (${r.oneByOne}): create-to-IP p50 (ms)`, String(round(r.createToIpP50Ms ?? NaN))],
    ['one by one: create-to-IP p99 (ms)', String(round(r.createToIpP99Ms ?? NaN))],
    ['controller peak RSS (MB)', String(round(peak))],
    ['CPU s during the run: apiserver+etcd', String(round(apiCpu))],
    ['CPU s during the run: controller', String(round(ctlCpu))],
    ['CPU s during the run: driver (client)', String(round(r.driverCpuSec ?? NaN))],
    ['CPU ms per service: apiserver / controller', `${round((1000 * apiCpu) / (N + M))} / ${round((1000 * ctlCpu) / (N + M))}`],
    ['apiserver share of CPU (apiserver+controller)', `${round((100 * apiCpu) / (apiCpu + ctlCpu))}%`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(
    `controller bench (real kube-apiserver + etcd, 2-core shared machine)\n${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      services: N,
      bulkPerSec: round(r.bulkPerSec ?? NaN),
      createToIpP50Ms: round(r.createToIpP50Ms ?? NaN),
      createToIpP99Ms: round(r.createToIpP99Ms ?? NaN),
      rssMB: round(peak),
      apiserverCpuSec: round(apiCpu),
      controllerCpuSec: round(ctlCpu),
      driverCpuSec: round(r.driverCpuSec ?? NaN),
      apiserverMsPerService: round((1000 * apiCpu) / (N + M)),
      controllerMsPerService: round((1000 * ctlCpu) / (N + M)),
      missing: r.missing,
    })}\n`,
  );
} finally {
  await kube?.destroy();
  await lab.cleanup();
}
