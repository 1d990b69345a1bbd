// The text summary of a chaos run (what `mooring chaos sim` prints): faults by kind, failover
// times, the first violations, and the JSON line last.
import { quantile, type ChaosRun } from './chaos.js';

/** The run's summary object (the JSON line, also in the HTML report). */
export function summaryJson(run: ChaosRun): { simSeconds: number; wallSeconds: number; faults: number; violations: number } {
  const r = run.result;
  return { simSeconds: r.simSeconds, wallSeconds: Number(r.wallSeconds.toFixed(2)), faults: r.faults, violations: r.violations.length };
}

export function summaryLines(run: ChaosRun): string[] {
  const r = run.result;
  const out = ['fault      count'];
  for (const [k, n] of Object.entries(r.faultsByKind).sort(([a], [b]) => a.localeCompare(b)))
    out.push(`${k.padEnd(10)} ${String(n).padStart(5)}`);
  const f = r.failovers;
  out.push(
    `failovers  ${f.length}  p50 ${quantile(f, 0.5)} ms  p99 ${quantile(f, 0.99)} ms  max ${quantile(f, 1)} ms (simulated, SIGKILL → answered again)`,
  );
  if (r.violations.length > 0) {
    out.push(`${r.violations.length} violations, the first ones:`);
    for (const v of r.violations.slice(0, 10)) out.push(`  ${v}`);
  }
  out.push(JSON.stringify(summaryJson(run)));
  return out;
}
