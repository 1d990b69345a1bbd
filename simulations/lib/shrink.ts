// Shrinking a failing chaos schedule to a small one that still fails the same way (the same
// invariant, P1–P5, as the first violation of the original run). Every candidate is a whole run
// (deterministic: same case, same run) that stops at its first violation, so failing candidates
// are cheap. In order, until nothing changes or the run budget is spent:
//   1. the run ends at the violation (nothing later can matter: the simulation is causal);
//   2. delta debugging (ddmin) over the faults;
//   3. fewer nodes and Services: the ones the faults name renamed to the first ones, then
//      smaller counts tried from the fewest up;
//   4. each fault simplified: shorter (its kind's shortest, then ever longer halvings of its
//      duration, the first that still fails), then the whole schedule
//      earlier (a shorter run).
import { runChaos, nodeName, serviceName, type ChaosOptions, type ChaosRun, type Fault } from './chaos.js';
import type { ShrinkInfo, TraceCase } from './trace.js';

/** The invariant of a violation line ("t=…ms P1 …" → "P1"). */
export function invariantOf(violation: string): string {
  return /^t=\d+ms (P\w+)/.exec(violation)?.[1] ?? '?';
}

/** Time (simulated ms) of a violation line. */
function timeOf(violation: string): number {
  return Number(/^t=(\d+)ms/.exec(violation)?.[1] ?? NaN);
}

export interface Shrunk extends TraceCase {
  readonly run: ChaosRun;
  readonly info: ShrinkInfo;
}

export interface ShrinkOptions {
  /** At most this many candidate runs (default 400). */
  readonly maxRuns?: number;
  readonly onStep?: (msg: string) => void;
}

/** Shortest duration a fault of each kind is shrunk to. */
const MIN_DURATION: Record<string, number> = { stall: 20 };

export async function shrink(start: TraceCase, so: ShrinkOptions = {}): Promise<Shrunk> {
  const maxRuns = so.maxRuns ?? 400;
  const say = so.onStep ?? (() => undefined);
  let runs = 0;
  const base = { ...start.opts, stopOnViolation: true } as ChaosOptions;
  delete (base as { onProgress?: unknown }).onProgress;

  // The failure to keep: the original's first violation's invariant.
  const first = await runChaos(base, [...start.faults]);
  runs++;
  const v0 = first.result.violations[0];
  if (v0 === undefined) throw new Error('shrink: the schedule does not fail');
  const target = invariantOf(v0);

  let best: { opts: ChaosOptions; faults: Fault[]; run: ChaosRun } = { opts: base, faults: [...start.faults], run: first };
  /** Runs a candidate; keeps it (ended at its violation) when it fails the same way. */
  const attempt = async (opts: ChaosOptions, faults: Fault[]): Promise<boolean> => {
    if (runs >= maxRuns) return false;
    runs++;
    const kept = faults.filter((f) => f.at <= opts.durationMs);
    const run = await runChaos(opts, kept);
    const hit = run.result.violations.find((v) => invariantOf(v) === target);
    if (hit === undefined) return false;
    best = { opts: { ...opts, durationMs: Math.min(opts.durationMs, timeOf(hit) + 1) }, faults: kept, run };
    best.faults = best.faults.filter((f) => f.at <= best.opts.durationMs);
    return true;
  };
  // 1. End at the violation.
  {
    const t = timeOf(first.result.violations.find((v) => invariantOf(v) === target) ?? v0);
    best.opts = { ...best.opts, durationMs: Math.min(best.opts.durationMs, t + 1) };
    best.faults = best.faults.filter((f) => f.at <= best.opts.durationMs);
  }
  say(`target ${target}; ${best.faults.length} faults up to ${best.opts.durationMs} ms`);

  for (let round = 0; round < 4 && runs < maxRuns; round++) {
    const before = JSON.stringify([best.opts, best.faults]);
    // 2. ddmin over the faults.
    await ddmin(
      best.faults,
      (fs) => attempt(best.opts, fs),
      () => runs >= maxRuns,
    );
    say(`ddmin: ${best.faults.length} faults (${runs} runs)`);
    // 3. Fewer nodes and Services.
    await fewer(
      'nodes',
      (f) => f.node,
      nodeName,
      (o, n) => ({ ...o, nodes: n }),
    );
    await fewer(
      'services',
      (f) => f.service,
      serviceName,
      (o, n) => ({ ...o, services: n }),
    );
    say(`${best.opts.nodes} nodes, ${best.opts.services} Services (${runs} runs)`);
    // 4. Simpler faults: shorter, then the schedule earlier.
    for (let i = 0; i < best.faults.length; i++) {
      const f = best.faults[i] as Fault;
      const min = MIN_DURATION[f.kind] ?? 100;
      // The shortest first, then longer: the first that fails is the shortest tried.
      for (const d of [min, ...halvings(f.durationMs, min).reverse()]) {
        if (d >= (best.faults[i] as Fault).durationMs) continue;
        const fs = best.faults.map((x, j) => (j === i ? { ...x, durationMs: d } : x));
        if (await attempt(best.opts, fs)) break;
      }
    }
    const head = best.faults[0]?.at ?? 0;
    // The largest shift first (the first fault at 2 s), then halves.
    const full = head - 2000;
    for (const shift of full > 100 ? [full, ...halvings(full, 100)] : []) {
      const fs = best.faults.map((x) => ({ ...x, at: x.at - shift }));
      if (await attempt(best.opts, fs)) break;
    }
    say(`simplified: ${best.faults.length} faults, ${best.opts.durationMs} ms (${runs} runs)`);
    if (JSON.stringify([best.opts, best.faults]) === before) break;
  }

  const opts = { ...best.opts };
  delete (opts as { stopOnViolation?: unknown }).stopOnViolation;
  // The run as a replay runs it (to its end, not stopped at the violation).
  const run = await runChaos(opts, best.faults);
  runs++;
  return {
    opts,
    faults: best.faults,
    run,
    info: {
      fromFaults: start.faults.length,
      fromNodes: start.opts.nodes,
      fromServices: start.opts.services,
      fromDurationMs: start.opts.durationMs,
      runs,
    },
  };

  /** The names the faults use renamed to the first ones, then the count cut to the fewest that still fail. */
  async function fewer(
    what: string,
    get: (f: Fault) => string | undefined,
    name: (i: number) => string,
    set: (o: ChaosOptions, n: number) => ChaosOptions,
  ): Promise<void> {
    const used = [...new Set(best.faults.map(get).filter((x): x is string => x !== undefined))];
    const rename = new Map(used.map((u, i) => [u, name(i)]));
    const remap = (fs: Fault[]) =>
      fs.map((f) => {
        const n = get(f);
        if (n === undefined) return f;
        return what === 'nodes' ? { ...f, node: rename.get(n) as string } : { ...f, service: rename.get(n) as string };
      });
    const current = what === 'nodes' ? best.opts.nodes : best.opts.services;
    const renamed = remap(best.faults);
    for (const n of ladder(Math.max(1, used.length), current)) {
      if (await attempt(set(best.opts, n), renamed)) return;
    }
    // Renaming alone (the same count).
    if (JSON.stringify(renamed) !== JSON.stringify(best.faults)) await attempt(best.opts, renamed);
  }
}

/** from, 2·from, 4·from … below `below`. */
function ladder(from: number, below: number): number[] {
  const out: number[] = [];
  for (let n = from; n < below; n *= 2) out.push(n);
  return out;
}

/** x/2, x/4 … down to `min` (exclusive), as integers, largest first. */
function halvings(x: number, min: number): number[] {
  const out: number[] = [];
  for (let d = Math.floor(x / 2); d > min; d = Math.floor(d / 2)) out.push(d);
  return out;
}

/** Zeller's ddmin: a 1-minimal subsequence of `items` for which `fails` holds (it holds for `items`). */
export async function ddmin<T>(items: T[], fails: (xs: T[]) => Promise<boolean>, out: () => boolean): Promise<T[]> {
  if (items.length > 0 && (await fails([]))) return [];
  let n = 2;
  while (items.length >= 2 && !out()) {
    const size = Math.ceil(items.length / n);
    const chunks: T[][] = [];
    for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
    let reduced = false;
    for (const c of chunks) {
      if (await fails(c)) {
        items = c;
        n = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced && chunks.length > 2) {
      for (let i = 0; i < chunks.length; i++) {
        const rest = chunks.filter((_, j) => j !== i).flat();
        if (await fails(rest)) {
          items = rest;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (n >= items.length) break;
      n = Math.min(items.length, 2 * n);
    }
  }
  return items;
}
