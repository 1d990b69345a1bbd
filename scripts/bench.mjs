#!/usr/bin/env node
// `npm run bench`: every benchmark in turn (each prints a table and a final JSON line), then one
// summary JSON line keyed by benchmark. Benchmarks that need root and namespaces say so and are
// skipped when not root. Never asserts a time.
import { spawnSync } from 'node:child_process';

const benches = ['ipam', 'l2', 'failover', 'bgp', 'bfd', 'wakeup', 'controller', 'e2e', 'chaos'];
const only = process.argv.slice(2);
const summary = {};
for (const b of benches.filter((x) => only.length === 0 || only.includes(x))) {
  console.log(`\n=== npm run bench:${b}`);
  const r = spawnSync('npm', ['run', '--silent', `bench:${b}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(r.stdout);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    summary[b] = JSON.parse(last);
  } catch {
    summary[b] = { error: `exit ${r.status}`, last };
  }
}
console.log(JSON.stringify(summary));
