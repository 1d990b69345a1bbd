// Seeded chaos over the whole product in simulation (lib/chaos.ts): a fixed seed's schedule holds
// every fault kind and the run breaks no invariant; the same seed gives the same schedule and the
// same transition log; and with a planted fencing bug (a killed speaker keeps answering ARP) the
// same kind of run reports violations, so a clean run means something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_TARGETS, FAULT_KINDS, quantile, runChaos, schedule, transitions, type ChaosOptions } from './lib/chaos.js';
import { invariantOf, shrink } from './lib/shrink.js';
import { parseTrace, replayTrace, traceText, TRACE_VERSION } from './lib/trace.js';

const OPTS: ChaosOptions = { seed: 3, nodes: 3, services: 10, durationMs: 120_000 };

test('a fixed-seed chaos run (3 nodes, 10 Services, 2 simulated minutes, every fault kind) breaks no invariant, and replays identically', async () => {
  const a = await runChaos(OPTS);
  for (const k of FAULT_KINDS)
    assert.ok(
      a.schedule.some((f) => f.kind === k),
      `the schedule holds a ${k} fault`,
    );
  for (const k of FAULT_KINDS) assert.ok((a.result.faultsByKind[k] ?? 0) > 0, `a ${k} fault ran`);
  for (const t of CONFIG_TARGETS)
    assert.ok(
      a.schedule.some((f) => f.kind === 'config' && f.target === t),
      `the schedule changes config ${t}`,
    );
  assert.ok(a.result.bgpSessions > 0 && a.result.bgpPathsMax > 0, 'a BGPPeer brought up sessions that advertised paths');
  assert.deepEqual(a.result.violations, [], `invariants broken:\n${a.result.violations.join('\n')}`);
  assert.ok(a.result.settledChecks > 0, 'the settled-state invariant was checked');
  assert.ok((a.result.restartsWatched ?? 0) > 0, 'P6 watched restarts');
  assert.ok(a.result.failovers.length > 0, 'some kill moved an announced IP');
  assert.ok(
    a.log.some((e) => e.kind === 'transition' && e.to === 'announcing'),
    'the record holds transitions',
  );
  const b = await runChaos(OPTS);
  assert.deepEqual(b.schedule, a.schedule, 'same seed, same schedule');
  assert.deepEqual(transitions(b.log), transitions(a.log), 'same seed, same transition log');
  const other = await runChaos({ ...OPTS, seed: 4, durationMs: 30_000 });
  assert.notDeepEqual(other.schedule, a.schedule, 'another seed, another schedule');
  const f = a.result.failovers;
  console.log(
    `chaos seed ${OPTS.seed}: ${a.result.faults} faults ${JSON.stringify(a.result.faultsByKind)}, 0 violations, ` +
      `${a.result.settledChecks} settled checks, ${f.length} failovers p50 ${quantile(f, 0.5)} / p99 ${quantile(f, 0.99)} / max ${quantile(f, 1)} simulated ms; ` +
      `wall ${a.result.wallSeconds.toFixed(2)} s`,
  );
});

test('a planted fencing bug (a killed speaker keeps answering on the segment) is reported as violations', async () => {
  const r = await runChaos({ ...OPTS, kinds: ['kill'], durationMs: 30_000, plantedBug: 'zombie-l2' });
  assert.ok((r.result.faultsByKind.kill ?? 0) > 0, 'kills ran');
  assert.ok(r.result.violations.length > 0, 'the planted bug breaks an invariant');
  assert.ok(
    r.result.violations.some((v) => /P1 .* answered by .*,/.test(v)),
    `P1 (two answering nodes) among:\n${r.result.violations.slice(0, 5).join('\n')}`,
  );
  // The same schedule without the bug is clean.
  const clean = await runChaos({ ...OPTS, kinds: ['kill'], durationMs: 30_000 }, r.schedule);
  assert.deepEqual(clean.result.violations, []);
});

test('a planted fencing bug: the failing schedule shrinks to a small one that fails the same way, and its trace replays exactly', async () => {
  const opts: ChaosOptions = { seed: 3, nodes: 5, services: 20, durationMs: 120_000, plantedBug: 'zombie-l2' };
  const faults = schedule(opts);
  const full = await runChaos(opts, faults);
  const first = full.result.violations[0];
  assert.ok(first !== undefined, 'the planted bug fails the unshrunk run');
  const MAX_FAULTS = 2;
  assert.ok(faults.length > MAX_FAULTS, `the unshrunk schedule has more than ${MAX_FAULTS} faults (${faults.length})`);

  const s = await shrink({ opts, faults });
  assert.ok(s.faults.length <= MAX_FAULTS, `shrunk to ${s.faults.length} faults: ${JSON.stringify(s.faults)}`);
  assert.ok(
    s.faults.some((f) => f.kind === 'kill'),
    'a kill remains (the bug is in fencing a killed speaker)',
  );
  assert.ok(s.opts.nodes < opts.nodes && s.opts.services < opts.services, `fewer nodes and Services: ${JSON.stringify(s.opts)}`);
  assert.ok(s.opts.durationMs < opts.durationMs, 'a shorter run');
  assert.equal(s.info.fromFaults, faults.length);
  assert.ok(s.run.result.violations.length > 0);
  assert.equal(invariantOf(s.run.result.violations[0] ?? ''), invariantOf(first), 'the same invariant breaks');

  // The trace replays exactly: the same record and the same violations; the clean product passes it.
  const text = traceText(s, s.run, s.info);
  const t = parseTrace(text);
  assert.equal(t.version, TRACE_VERSION);
  assert.deepEqual(t.shrunk, s.info);
  assert.deepEqual(t.faults, s.faults);
  const r = await replayTrace(t);
  assert.ok(r.same, `replay differs: ${JSON.stringify(r.diff)}`);
  assert.deepEqual(r.run.result.violations, s.run.result.violations);
  const fixed = await replayTrace({ ...t, opts: { ...t.opts, plantedBug: undefined } });
  assert.deepEqual(fixed.run.result.violations, [], 'without the bug the shrunk schedule is clean');
  assert.ok(!fixed.same, 'and its record differs from the failing one');
  console.log(
    `shrunk ${faults.length} faults × ${opts.nodes} nodes × ${opts.services} Services × ${opts.durationMs} ms → ` +
      `${s.faults.length} × ${s.opts.nodes} × ${s.opts.services} × ${s.opts.durationMs} ms in ${s.info.runs} runs: ${s.run.result.violations[0]}`,
  );
});

test('planted carrier bug: a speaker never told its link lost carrier keeps its IPs, and P5 reports it', async () => {
  const o: ChaosOptions = { ...OPTS, kinds: ['carrier'], durationMs: 30_000 };
  const bad = await runChaos({ ...o, plantedBug: 'deaf-carrier' });
  assert.ok((bad.result.faultsByKind.carrier ?? 0) > 0, 'carrier faults ran');
  assert.ok(
    bad.result.violations.some((v) => / P5 .* carrier down for \d+ ms still holds/.test(v)),
    `P5 among:\n${bad.result.violations.slice(0, 5).join('\n')}`,
  );
  const clean = await runChaos(o, bad.schedule);
  assert.deepEqual(clean.result.violations, [], 'the product releases on carrier loss');
});

test('planted restart bug: a restart that silently stops another node answering, and P6 reports it', async () => {
  const o: ChaosOptions = { ...OPTS, kinds: ['kill'], durationMs: 60_000, meanGapMs: 5000 };
  const bad = await runChaos({ ...o, plantedBug: 'restart-loses' });
  assert.ok((bad.result.restartsWatched ?? 0) > 0, 'restarts were watched');
  assert.ok(
    bad.result.violations.some((v) => / P6 restart of \S+ left \S+ unanswered for \d+ ms/.test(v)),
    `P6 among:\n${bad.result.violations.slice(0, 5).join('\n')}`,
  );
  const clean = await runChaos(o, bad.schedule);
  assert.deepEqual(clean.result.violations, [], 'the product loses nothing on a restart');
});

test('a trace from before versions (causes and transitions only, no summary) still replays', async () => {
  const o: ChaosOptions = {
    seed: 5,
    nodes: 3,
    services: 6,
    durationMs: 30_000,
    kinds: ['kill', 'partition', 'outage', 'service', 'config'],
  };
  const faults = schedule(o).map(({ target: _t, ...f }) => f);
  const run = await runChaos(o, faults);
  const lines = traceText({ opts: o, faults }, run)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.type === 'run' || l.type === 'fault' || (l.type === 'log' && (l.kind === 'cause' || l.kind === 'transition')))
    .map(({ version: _v, ...l }) => l);
  const t = parseTrace(lines.map((l) => JSON.stringify(l)).join('\n'));
  assert.equal(t.version, 1);
  assert.ok(!t.logKinds.has('segment'));
  const r = await replayTrace(t);
  assert.ok(r.same, `legacy replay differs: ${JSON.stringify(r.diff)}`);
  assert.ok(t.log.length > 10);
  // A changed schedule is caught with the legacy kinds too.
  const moved = await replayTrace({ ...t, faults: t.faults.map((f, i) => (i === 0 ? { ...f, at: f.at + 300 } : f)) });
  assert.ok(!moved.same && moved.diff !== undefined);
});
