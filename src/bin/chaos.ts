// `mooring chaos`: seeded chaos over the whole product in simulation (simulations/lib/chaos.ts).
//   sim     --seed N --nodes N --services N --duration 10m --faults kill,stall,partition,outage,carrier,apiserver,churn
//           [--trace FILE] [--shrunk FILE] [--shrink off]   runs a seed's fault schedule; progress on
//           stderr, a table of faults by kind and failover times, then one JSON line; exit 1 when an
//           invariant broke, after shrinking the schedule and writing the shrunk trace.
//   replay  FILE             re-runs a trace's schedule exactly and compares the record (exit 0 same
//           and clean, 1 same violations, 3 a different record).
//   lab     --seed N --duration 300 --faults sigkill,sigstop,link,nats,apiserver,frr,controller
//           [--report FILE.html] [--json FILE] [--logs DIR]   the same fault kinds on a real network (root; the e2e
//           namespaces lab, test/lib/chaos-lab.ts), measured from outside; the report, then one JSON
//           line; exit 1 when an invariant broke, 130 when interrupted (the lab is removed either way).
import { readFileSync, writeFileSync } from 'node:fs';
import { FAULT_KINDS, runChaos, schedule, type ChaosOptions, type ChaosRun, type FaultKind } from '../../simulations/lib/chaos.js';
import { shrink } from '../../simulations/lib/shrink.js';
import { parseTrace, replayTrace, traceText, type Trace, type TraceCase } from '../../simulations/lib/trace.js';
import { summaryLines } from '../../simulations/lib/summary.js';
import { renderReport, type ReportInput } from '../../simulations/lib/report.js';

const USAGE =
  'usage: chaos sim [--seed N] [--nodes N] [--services N] [--duration 10m] [--faults kill,stall,partition,outage,carrier,apiserver,churn]\n' +
  '                 [--trace FILE] [--shrunk FILE] [--shrink off] [--report FILE.html]\n' +
  '       chaos replay FILE [--report FILE.html]\n' +
  '       chaos lab [--seed N] [--duration 300] [--faults sigkill,sigstop,link,nats,apiserver,frr,controller] [--report FILE.html] [--json FILE] [--logs DIR]';

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
    else fail(`unknown fault kind: ${k} (kill, stall, partition, outage, carrier, apiserver, churn, service, config)`);
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
  for (const l of summaryLines(run)) console.log(l);
}

/** Shrinks a failing run and writes the shrunk trace; returns its path. */
async function shrinkTo(c: TraceCase, file: string): Promise<void> {
  process.stderr.write('shrinking the failing schedule...\n');
  const s = await shrink(c, { onStep: (m) => process.stderr.write(`shrink: ${m}\n`) });
  writeFileSync(file, traceText(s, s.run, s.info));
  console.log(
    `shrunk: ${s.faults.length} faults (from ${s.info.fromFaults}), ${s.opts.nodes} nodes, ${s.opts.services} Services, ` +
      `${s.opts.durationMs} ms simulated, ${s.info.runs} runs; first violation: ${s.run.result.violations[0] ?? ''}`,
  );
  console.log(`replay it: mooring chaos replay ${file}`);
}

function writeReport(file: string | undefined, input: ReportInput): void {
  if (!file) return;
  writeFileSync(file, renderReport(input));
  process.stderr.write(`report: ${file}\n`);
}

const commandOf = (o: ChaosOptions) =>
  `mooring chaos sim --seed ${o.seed} --nodes ${o.nodes} --services ${o.services} --duration ${o.durationMs}ms --faults ${(o.kinds ?? FAULT_KINDS).join(',')}` +
  (o.plantedBug ? ` --planted-bug ${o.plantedBug}` : '');

async function sim(args: string[]): Promise<number> {
  const f = flags(args);
  const opts: ChaosOptions = {
    seed: int(f.get('seed'), 1, 'seed'),
    nodes: int(f.get('nodes'), 3, 'nodes'),
    services: int(f.get('services'), 10, 'services'),
    durationMs: parseDuration(f.get('duration') ?? '2m'),
    kinds: parseKinds(f.get('faults') ?? 'kill,stall,partition,outage,carrier,apiserver,churn'),
    // Test-only: a planted fencing bug (to see a failing run shrink and replay).
    ...(['zombie-l2', 'deaf-carrier', 'restart-loses'].includes(f.get('planted-bug') ?? '')
      ? { plantedBug: f.get('planted-bug') as NonNullable<ChaosOptions['plantedBug']> }
      : {}),
  };
  if (opts.services > 65_536) fail('--services: at most 65536 (one IPv6 /112 pool)');
  if (opts.nodes > 10_000) fail('--nodes: at most 10000');
  const faults = schedule(opts);
  const run = await runChaos({ ...opts, onProgress: progress }, faults);
  const trace = f.get('trace');
  if (trace) {
    writeFileSync(trace, traceText({ opts, faults }, run));
    process.stderr.write(`trace: ${trace}\n`);
  }
  report(run);
  writeReport(f.get('report'), { opts, faults, log: run.log, result: run.result, command: commandOf(opts) });
  if (run.result.violations.length === 0) return 0;
  if (f.get('shrink') !== 'off') await shrinkTo({ opts, faults }, f.get('shrunk') ?? `chaos-seed${opts.seed}-shrunk.jsonl`);
  return 1;
}

async function replay(file: string | undefined, out: string | undefined): Promise<number> {
  if (!file) fail('replay needs a trace file');
  let t: Trace;
  try {
    t = parseTrace(readFileSync(file, 'utf8'));
  } catch (e) {
    return fail(`${file}: ${(e as Error).message}`);
  }
  const r = await replayTrace(t, progress);
  report(r.run);
  writeReport(out, { ...t, log: r.run.log, result: r.run.result, command: `mooring chaos replay ${file}` });
  const n = r.run.result.violations.length;
  if (r.same) console.log(`replay: the same ${t.log.length} log entries and ${n === 0 ? 'no violation' : `the same ${n} violations`}`);
  else if (r.diff)
    console.log(
      `replay: the logs differ at entry ${r.diff.index}:\n  recorded ${JSON.stringify(r.diff.recorded)}\n  now      ${JSON.stringify(r.diff.now)}`,
    );
  else console.log(`replay: the same log, other violations (recorded ${t.violations.length}, now ${n})`);
  return r.same ? (n === 0 ? 0 : 1) : 3;
}

async function lab(args: string[]): Promise<number> {
  const f = flags(args);
  // The lab's code lives with the test libraries (it builds the e2e namespaces lab): loaded only here.
  const { LAB_KINDS, runChaosLab } = await import('../../test/lib/chaos-lab.js');
  type LabKind = (typeof LAB_KINDS)[number];
  const kinds = (f.get('faults') ?? LAB_KINDS.join(',')).split(',').filter(Boolean);
  for (const k of kinds) if (!(LAB_KINDS as readonly string[]).includes(k)) fail(`unknown lab fault kind: ${k} (${LAB_KINDS.join(', ')})`);
  const seed = int(f.get('seed'), 1, 'seed');
  const ac = new AbortController();
  const onSignal = () => {
    process.stderr.write('interrupted: ending the fault in progress and removing the lab...\n');
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const run = await runChaosLab({
    seed,
    durationMs: parseDuration(f.get('duration') ?? '300'),
    kinds: kinds as LabKind[],
    log: (l) => process.stderr.write(`${l}\n`),
    signal: ac.signal,
    ...(f.get('logs') ? { logsDir: f.get('logs') as string } : {}),
  });
  const out = f.get('report') ?? `chaos-lab-seed${seed}.html`;
  writeReport(out, run.report);
  const json = f.get('json') ?? out.replace(/\.html?$/, '') + '.json';
  writeFileSync(
    json,
    `${JSON.stringify({ command: run.report.command, summary: run.summary, faults: run.faults, violations: run.violations, figures: run.figures }, null, 1)}\n`,
  );
  process.stderr.write(`figures: ${json}\n`);
  const byKind = new Map<string, number>();
  for (const x of run.faults) byKind.set(x.kind, (byKind.get(x.kind) ?? 0) + 1);
  console.log(`faults: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  console.log(`violations: ${run.violations.length}`);
  for (const v of run.violations.slice(0, 20)) console.log(`  ${v}`);
  console.log(JSON.stringify(run.summary));
  if (run.aborted) return 130;
  return run.violations.length === 0 ? 0 : 1;
}

const [cmd, ...rest] = process.argv.slice(2);
const code =
  cmd === 'sim'
    ? await sim(rest)
    : cmd === 'lab'
      ? await lab(rest)
      : cmd === 'replay'
        ? await replay(rest[0], rest[1] === '--report' ? rest[2] : undefined)
        : fail(`unknown command: ${cmd ?? ''}`);
process.exit(code);
