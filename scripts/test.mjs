#!/usr/bin/env node
// `npm test`: the one test command (README, .ci/run). Runs, in order:
//   1. prerequisites: Debian packages (installed when run as root, else a clear list of what is
//      missing), the native pcap addon, the kube-apiserver binary for the integration tier;
//   2. typecheck and lint (the purity fences);
//   3. the test tiers that exist: unit (src/**), simulation (simulations/**), integration (test/**).
// Usage: node scripts/test.mjs [unit|simulation|integration ...] [--no-static]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const noStatic = args.includes('--no-static');
const wanted = args.filter((a) => !a.startsWith('--'));
const tiers = [
  { name: 'unit', dirs: ['src'], concurrency: 2 },
  { name: 'simulation', dirs: ['simulations'], concurrency: 2 },
  // Integration tests create namespaces, peers and servers: one file at a time.
  { name: 'integration', dirs: ['test'], concurrency: 1 },
].filter((t) => wanted.length === 0 || wanted.includes(t.name));

function run(label, cmd, argv, opts = {}) {
  const t0 = Date.now();
  console.log(`\n=== ${label}: ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...opts });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) {
    console.error(`\n*** ${label} failed (exit ${r.status ?? r.signal}) after ${secs}s`);
    process.exit(r.status ?? 1);
  }
  console.log(`=== ${label} ok (${secs}s)`);
}

function find(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (e.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const needIntegration = tiers.some((t) => t.name === 'integration');
if (needIntegration) run('prerequisites', 'bash', ['scripts/install-deps.sh']);
if (needIntegration) run('native addons', process.execPath, ['scripts/native.mjs']);
// The real kube-apiserver of the integration tests is built from Go once (cached in
// ~/.cache/mooring; 10-35 min cold on 2 cores) as its own step, so no test's timeout has to cover it.
if (needIntegration) run('test control plane (kube-apiserver build, cached)', 'bash', ['test/kube/start', '--build-only']);
// The real cluster's kubelet, scheduler, controller-manager, kube-proxy, kubectl, CoreDNS and
// images (test/lib/real-cluster.ts), cached the same way.
if (needIntegration) run('test cluster nodes (kubelet & co. build, cached)', 'bash', ['test/kube/cluster', '--build-only']);
// The OpenTelemetry Collector the trace tests export to (test/otelcol, built from its Go modules).
if (needIntegration) run('test OpenTelemetry Collector (build, cached)', process.execPath, ['--import', 'tsx', 'test/otelcol/build.ts']);
// MetalLB's own controller and speaker for the MetalLB → Mooring move suite, cached the same way.
if (needIntegration)
  run("MetalLB's controller and speaker (build, cached)", process.execPath, ['--import', 'tsx', 'test/metallb-native/build.ts']);
if (!noStatic && wanted.length === 0) {
  run('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
  run('lint', 'npx', ['eslint', '.']);
  run('format', 'npx', ['prettier', '--check', '.']);
}
for (const tier of tiers) {
  const files = tier.dirs.flatMap((d) => find(join(root, d))).map((f) => relative(root, f));
  if (files.length === 0) {
    console.log(`\n=== ${tier.name}: no test files yet`);
    continue;
  }
  run(`${tier.name} tests (${files.length} files)`, process.execPath, [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${tier.concurrency}`,
    // TAP as before, and at the very end every failure with its error (scripts/failures-reporter.mjs).
    '--test-reporter=tap',
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'scripts/failures-reporter.mjs')}`,
    '--test-reporter-destination=stderr',
    ...files,
  ]);
}
