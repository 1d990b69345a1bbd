// `npm run bench:chaos`: wall time of the chaos simulator (simulations/lib/chaos.ts: the whole
// product on simulated time, every invariant checked after every timer) on the standard runs, and
// an extrapolation to the target run (1,000 nodes × 10,000 Services × 1 h) from how wall
// time per simulated second grows with nodes and with Services (CPU time: the wall time of one idle core). Prints a table and one JSON line.
// Measures, never asserts times. BENCH_CHAOS_QUICK=1: shorter runs (a smoke test of the bench).
import { availableParallelism, loadavg } from 'node:os';
import { runChaos, schedule, type ChaosOptions } from '../simulations/lib/chaos.js';

const quick = process.env.BENCH_CHAOS_QUICK === '1';
const MIN = 60_000;

interface Row {
  name: string;
  nodes: number;
  services: number;
  simSeconds: number;
  wallSeconds: number;
  cpuSeconds: number;
  faults: number;
  faultsPerWallSecond: number;
  wallPerSimSecond: number;
  cpuPerSimSecond: number;
  violations: number;
}

async function run(name: string, o: ChaosOptions): Promise<Row> {
  const c0 = process.cpuUsage();
  const r = (await runChaos(o, schedule(o))).result;
  const c = process.cpuUsage(c0);
  const row: Row = {
    name,
    nodes: o.nodes,
    services: o.services,
    simSeconds: r.simSeconds,
    wallSeconds: Number(r.wallSeconds.toFixed(2)),
    cpuSeconds: Number(((c.user + c.system) / 1e6).toFixed(2)),
    faults: r.faults,
    faultsPerWallSecond: Number((r.faults / r.wallSeconds).toFixed(1)),
    wallPerSimSecond: r.wallSeconds / r.simSeconds,
    cpuPerSimSecond: (c.user + c.system) / 1e6 / r.simSeconds,
    violations: r.violations.length,
  };
  process.stderr.write(`${name}: ${row.wallSeconds} s wall, ${row.faults} faults, ${row.violations} violations\n`);
  return row;
}

const rows: Row[] = [];
const base = { seed: 1 } as const;
// The standard run (docs/chaos.md, README) and a larger one.
rows.push(await run('standard', { ...base, nodes: 10, services: 100, durationMs: quick ? MIN : 10 * MIN }));
rows.push(await run('large', { ...base, nodes: 100, services: 1000, durationMs: quick ? 20_000 : MIN }));
// Growth with nodes (30 → 100 at 1,000 Services) and with Services (250 → 1,000 at 30 nodes).
const n30 = await run('30n×1000s', { ...base, nodes: 30, services: 1000, durationMs: quick ? 20_000 : MIN });
const s250 = await run('30n×250s', { ...base, nodes: 30, services: 250, durationMs: quick ? 20_000 : MIN });
rows.push(n30, s250);
const large = rows[1] as Row;
// From CPU time (one thread: the wall time of an idle core; wall time on a shared machine also
// counts waiting for a core).
const nodeExp = Math.log(large.cpuPerSimSecond / n30.cpuPerSimSecond) / Math.log(100 / 30);
const svcExp = Math.log(n30.cpuPerSimSecond / s250.cpuPerSimSecond) / Math.log(1000 / 250);
const target = large.cpuPerSimSecond * Math.pow(1000 / 100, nodeExp) * Math.pow(10_000 / 1000, svcExp) * 3600;

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`machine: ${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(1)}`);
console.log('run          nodes  Services  simulated s  wall s  CPU s  faults  faults/wall s  CPU s/sim s  violations');
for (const r of rows)
  console.log(
    `${r.name.padEnd(12)} ${pad(r.nodes, 5)} ${pad(r.services, 9)} ${pad(r.simSeconds, 12)} ${pad(r.wallSeconds, 7)} ${pad(r.cpuSeconds, 6)} ${pad(r.faults, 7)} ${pad(r.faultsPerWallSecond, 14)} ${pad(r.cpuPerSimSecond.toFixed(3), 12)} ${pad(r.violations, 11)}`,
  );
console.log(
  `CPU time per simulated second grows as nodes^${nodeExp.toFixed(2)} and Services^${svcExp.toFixed(2)}: ` +
    `1,000 nodes × 10,000 Services × 1 h ≈ ${(target / 3600).toFixed(1)} h on one idle core (target 60 s)`,
);
const std = rows[0] as Row;
console.log(
  JSON.stringify({
    standard: {
      nodes: std.nodes,
      services: std.services,
      simSeconds: std.simSeconds,
      wallSeconds: std.wallSeconds,
      cpuSeconds: std.cpuSeconds,
      faults: std.faults,
    },
    large: {
      nodes: large.nodes,
      services: large.services,
      simSeconds: large.simSeconds,
      wallSeconds: large.wallSeconds,
      cpuSeconds: large.cpuSeconds,
      faults: large.faults,
    },
    faultsPerSecond: Number((rows.reduce((a, r) => a + r.faults, 0) / rows.reduce((a, r) => a + r.wallSeconds, 0)).toFixed(1)),
    nodeExponent: Number(nodeExp.toFixed(2)),
    serviceExponent: Number(svcExp.toFixed(2)),
    extrapolated1000x10000x1hCpuSeconds: Math.round(target),
    violations: rows.reduce((a, r) => a + r.violations, 0),
  }),
);
