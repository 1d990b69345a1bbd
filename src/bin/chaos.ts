// `mooring chaos`: seeded chaos over the whole product in simulation (simulations/lib/chaos.ts).
//   sim     --seed N --nodes N --services N --duration 10m --faults kill,stall,partition,outage,churn
//           [--trace FILE]   runs a seed's fault schedule; progress on stderr, a table of faults by
//           kind and failover times, then one JSON line; exit 1 when an invariant broke.
//   replay  FILE             re-runs a trace's schedule and compares the transition log.
import { readFileSync, writeFileSync } from 'node:fs';
import {
  FAULT_KINDS,
  quantile,
  runChaos,
  transitions,
  type ChaosOptions,
  type ChaosRun,
  type Fault,
  type FaultKind,
} from '../../simulations/lib/chaos.js';
import type { LogEntry } from '../../simulations/lib/product.js';

const USAGE =
  'usage: chaos sim [--seed N] [--nodes N] [--services N] [--duration 10m] [--faults kill,stall,partition,outage,churn] [--trace FILE]\n' +
  '       chaos replay FILE';

function fail(msg: string): never {
  process.stderr.write(`${msg}\n${USAGE}\n`);
  process.exit(2);
}

/** "10m", "90s", "1h", "500ms" or plain seconds → ms. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s);
  if (!m) fail(`bad duration: ${s}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

function parseKinds(s: string): FaultKind[] {
  const out = new Set<FaultKind>();
  for (const k of s.split(',').filter(Boolean)) {
    if (k === 'churn') {
      out.add('service');
      out.add('config');
    } else if ((FAULT_KINDS as readonly string[]).includes(k)) out.add(k as FaultKind);
    else fail(`unknown fault kind: ${k} (kill, stall, partition, outage, churn, service, config)`);
  }
  if (out.size === 0) fail('no fault kinds');
  return FAULT_KINDS.filter((k) => out.has(k));
}

function flags(args: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith('--') || i + 1 >= args.length) fail(`bad argument: ${a}`);
    out.set(a.slice(2), args[++i] as string);
  }
  return out;
}

function int(v: string | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer`);
  return n;
}

const progress: ChaosOptions['onProgress'] = (p) =>
  process.stderr.write(`t=${p.simSeconds.toFixed(0)}s faults=${p.faults} violations=${p.violations}\n`);

function report(run: ChaosRun): void {
  const r = run.result;
  const rows = Object.entries(r.faultsByKind).sort(([a], [b]) => a.localeCompare(b));
  console.log('fault      count');
  for (const [k, n] of rows) console.log(`${k.padEnd(10)} ${String(n).padStart(5)}`);
  const f = r.failovers;
  console.log(
    `failovers  ${f.length}  p50 ${quantile(f, 0.5)} ms  p99 ${quantile(f, 0.99)} ms  max ${quantile(f, 1)} ms (simulated, SIGKILL → answered again)`,
  );
  if (r.violations.length > 0) {
    console.log(`${r.violations.length} violations, the first ones:`);
    for (const v of r.violations.slice(0, 10)) console.log(`  ${v}`);
  }
  console.log(
    JSON.stringify({
      simSeconds: r.simSeconds,
      wallSeconds: Number(r.wallSeconds.toFixed(2)),
      faults: r.faults,
      violations: r.violations.length,
    }),
  );
}

async function sim(args: string[]): Promise<number> {
  const f = flags(args);
  const opts: ChaosOptions = {
    seed: int(f.get('seed'), 1, 'seed'),
    nodes: int(f.get('nodes'), 3, 'nodes'),
    services: int(f.get('services'), 10, 'services'),
    durationMs: parseDuration(f.get('duration') ?? '2m'),
    kinds: parseKinds(f.get('faults') ?? 'kill,stall,partition,outage,churn'),
  };
  if (opts.services > 250) fail('--services: at most 250 (one /24 pool)');
  if (opts.nodes > 240) fail('--nodes: at most 240');
  const run = await runChaos({ ...opts, onProgress: progress });
  const trace = f.get('trace');
  if (trace) {
    const lines = [
      { type: 'run', ...opts },
      ...run.schedule.map((x) => ({ type: 'fault', ...x })),
      ...transitions(run.log).map((e) => ({ type: 'log', ...e })),
    ];
    writeFileSync(trace, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    process.stderr.write(`trace: ${trace} (${lines.length} lines)\n`);
  }
  report(run);
  return run.result.violations.length > 0 ? 1 : 0;
}

async function replay(file: string | undefined): Promise<number> {
  if (!file) fail('replay needs a trace file');
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { type: string } & Record<string, unknown>);
  const head = lines.find((l) => l.type === 'run');
  if (!head) fail(`${file}: no run line`);
  const strip = <T>(l: Record<string, unknown>): T => {
    const { type: _type, ...rest } = l;
    return rest as T;
  };
  const opts = strip<ChaosOptions>(head);
  const faults = lines.filter((l) => l.type === 'fault').map((l) => strip<Fault>(l));
  const want = lines.filter((l) => l.type === 'log').map((l) => strip<LogEntry>(l));
  const run = await runChaos({ ...opts, onProgress: progress }, faults);
  const got = transitions(run.log).map((e) => JSON.parse(JSON.stringify(e)) as LogEntry);
  const at = want.findIndex((w, i) => JSON.stringify(w) !== JSON.stringify(got[i]));
  const same = at < 0 && want.length === got.length;
  report(run);
  if (same) console.log(`replay: the same ${got.length} log entries`);
  else {
    const i = at < 0 ? Math.min(want.length, got.length) : at;
    console.log(`replay: the logs differ at entry ${i}:\n  recorded ${JSON.stringify(want[i])}\n  now      ${JSON.stringify(got[i])}`);
  }
  return same && run.result.violations.length === 0 ? 0 : 1;
}

const [cmd, ...rest] = process.argv.slice(2);
const code = cmd === 'sim' ? await sim(rest) : cmd === 'replay' ? await replay(rest[0]) : fail(`unknown command: ${cmd ?? ''}`);
process.exit(code);
