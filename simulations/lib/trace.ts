// The chaos trace (JSONL, format version 1; docs/chaos.md documents it for other readers such as
// the visualizer): everything needed to run a chaos schedule again exactly, and what the run did.
//   {"type":"run","version":1,"seed":…,"nodes":…,"services":…,"durationMs":…,"kinds":[…],…}  first line
//   {"type":"fault","at":…,"kind":…,"node"?:…,"service"?:…,"target"?:…,"durationMs":…}    one per fault
//   {"type":"log","at":…,"kind":"cause"|"transition"|"segment"|"bgp",…}                     the record
//   {"type":"violation","text":…}                                                           one per violation
//   {"type":"summary","simSeconds":…,"faults":…,"violations":…,"failovers":[…],…}           last line
// A shrunk trace's run line also has "shrunk": {"fromFaults":…,"fromNodes":…,"fromServices":…,"fromDurationMs":…,"runs":…}.
// Readers must ignore line types and fields they do not know; a change that breaks old readers
// bumps `version`.
import { runChaos, type ChaosOptions, type ChaosRun, type Fault } from './chaos.js';
import type { LogEntry } from './product.js';

export const TRACE_VERSION = 1;

/** The log kinds a trace records (and a replay compares). */
export const TRACE_LOG_KINDS: ReadonlySet<LogEntry['kind']> = new Set(['cause', 'transition', 'segment', 'bgp']);

/** What a run is re-run from: the options that shape it (no callbacks) and the schedule. */
export interface TraceCase {
  readonly opts: ChaosOptions;
  readonly faults: readonly Fault[];
}

export interface ShrinkInfo {
  readonly fromFaults: number;
  readonly fromNodes: number;
  readonly fromServices: number;
  readonly fromDurationMs: number;
  readonly runs: number;
}

export interface Trace extends TraceCase {
  readonly version: number;
  /** The log kinds the trace recorded (a trace from before versions: causes and transitions only). */
  readonly logKinds: ReadonlySet<LogEntry['kind']>;
  readonly log: LogEntry[];
  readonly violations: string[];
  readonly shrunk?: ShrinkInfo;
}

/** The serialisable options of a run (what a trace's run line holds). */
export function caseOptions(o: ChaosOptions): ChaosOptions {
  return {
    seed: o.seed,
    nodes: o.nodes,
    services: o.services,
    durationMs: o.durationMs,
    ...(o.kinds ? { kinds: [...o.kinds] } : {}),
    ...(o.meanGapMs !== undefined ? { meanGapMs: o.meanGapMs } : {}),
    ...(o.plantedBug ? { plantedBug: o.plantedBug } : {}),
  };
}

export function recorded(log: readonly LogEntry[]): LogEntry[] {
  return log.filter((e) => TRACE_LOG_KINDS.has(e.kind));
}

/** The trace of a run as JSONL text. */
export function traceText(c: TraceCase, run: ChaosRun, shrunk?: ShrinkInfo): string {
  const r = run.result;
  const lines: object[] = [
    { type: 'run', version: TRACE_VERSION, ...caseOptions(c.opts), ...(shrunk ? { shrunk } : {}) },
    ...c.faults.map((f) => ({ type: 'fault', ...f })),
    ...recorded(run.log).map((e) => ({ type: 'log', ...e })),
    ...r.violations.map((text) => ({ type: 'violation', text })),
    {
      type: 'summary',
      simSeconds: r.simSeconds,
      faults: r.faults,
      faultsByKind: r.faultsByKind,
      violations: r.violations.length,
      failovers: r.failovers,
      settledChecks: r.settledChecks,
    },
  ];
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

/** Parses a trace (version 1; a trace written before versions existed reads as version 1). */
export function parseTrace(text: string): Trace {
  const lines = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { type: string } & Record<string, unknown>);
  const head = lines.find((l) => l.type === 'run');
  if (!head) throw new Error('no run line');
  const version = typeof head.version === 'number' ? head.version : 1;
  if (version > TRACE_VERSION) throw new Error(`trace version ${version}, this build reads up to ${TRACE_VERSION}`);
  const strip = <T>(l: Record<string, unknown>): T => {
    const { type: _type, ...rest } = l;
    return rest as T;
  };
  const { version: _v, shrunk, ...opts } = strip<ChaosOptions & { version?: number; shrunk?: ShrinkInfo }>(head);
  // Traces from before versions (no summary line) recorded causes and transitions only.
  const legacy = head.version === undefined && !lines.some((l) => l.type === 'summary');
  return {
    version,
    logKinds: legacy ? new Set<LogEntry['kind']>(['cause', 'transition']) : TRACE_LOG_KINDS,
    opts,
    faults: lines.filter((l) => l.type === 'fault').map((l) => strip<Fault>(l)),
    log: lines.filter((l) => l.type === 'log').map((l) => strip<LogEntry>(l)),
    violations: lines.filter((l) => l.type === 'violation').map((l) => String(l.text)),
    ...(shrunk ? { shrunk } : {}),
  };
}

export interface Replay {
  readonly run: ChaosRun;
  /** The recorded log and violations came out again, entry for entry. */
  readonly same: boolean;
  /** First differing log entry (index, recorded, now), when the logs differ. */
  readonly diff?: { index: number; recorded: LogEntry | undefined; now: LogEntry | undefined };
  readonly sameViolations: boolean;
}

/** Runs a trace's schedule again and compares the record. */
export async function replayTrace(t: Trace, onProgress?: ChaosOptions['onProgress']): Promise<Replay> {
  const run = await runChaos({ ...t.opts, ...(onProgress ? { onProgress } : {}) }, [...t.faults]);
  const got = run.log.filter((e) => t.logKinds.has(e.kind)).map((e) => JSON.parse(JSON.stringify(e)) as LogEntry);
  const want = t.log;
  let index = want.findIndex((w, i) => JSON.stringify(w) !== JSON.stringify(got[i]));
  if (index < 0 && want.length !== got.length) index = Math.min(want.length, got.length);
  // A legacy trace did not record violations: none expected (it replays clean or not at all).
  const sameViolations = JSON.stringify(t.violations) === JSON.stringify(run.result.violations);
  return {
    run,
    same: index < 0 && sameViolations,
    sameViolations,
    ...(index >= 0 ? { diff: { index, recorded: want[index], now: got[index] } } : {}),
  };
}
