// The chaos run's HTML report (lib/report.ts): self-contained (nothing loaded from elsewhere), with
// its sections, and the figures it draws and embeds equal to the run's own (summary, faults,
// failover histogram, invariant counts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos, schedule, type ChaosOptions } from './lib/chaos.js';
import { bgpSeries, histogram, ownerSpans, renderReport } from './lib/report.js';
import { summaryJson } from './lib/summary.js';

interface Data {
  summary: unknown;
  faultsByKind: Record<string, number>;
  failovers: { count: number; histogram: Array<{ count: number }> };
  invariants: Array<{ id: string; violations: number }>;
  ipsShown: number;
  bgp: { changes: number; maxPaths: number; maxPrefixes: number };
}

const dataOf = (html: string): Data => {
  const m = /<script type="application\/json" id="data">(.*?)<\/script>/s.exec(html);
  assert.ok(m, 'the page embeds its data');
  return JSON.parse(m[1] as string) as Data;
};

test('the HTML report of a run holds every section, loads nothing from elsewhere, and shows the run’s figures', async () => {
  const opts: ChaosOptions = { seed: 3, nodes: 3, services: 10, durationMs: 120_000 };
  const faults = schedule(opts);
  const run = await runChaos(opts, faults);
  const html = renderReport({ opts, faults, log: run.log, result: run.result, command: 'mooring chaos sim --seed 3' });
  for (const id of ['summary', 'schedule', 'owners', 'failovers', 'bgp', 'invariants', 'data'])
    assert.match(html, new RegExp(`id="${id}"`), `section ${id}`);
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no external resource');
  assert.doesNotMatch(html, /<link\b|@import/i, 'no external stylesheet');
  assert.match(html, /mooring chaos sim --seed 3/, 'the command to run it again');

  const data = dataOf(html);
  assert.deepEqual(data.summary, summaryJson(run));
  assert.deepEqual(data.faultsByKind, run.result.faultsByKind);
  assert.equal((html.match(/<rect class="fault"/g) ?? []).length, faults.length, 'one bar per fault');
  const bins = [...html.matchAll(/<rect class="bin" data-count="(\d+)"/g)].map((m) => Number(m[1]));
  assert.equal(
    bins.reduce((a, b) => a + b, 0),
    run.result.failovers.length,
    'the histogram counts every failover',
  );
  assert.ok(run.result.failovers.length > 0);
  assert.deepEqual(
    data.failovers.histogram.map((b) => b.count),
    bins,
  );
  assert.deepEqual(
    data.invariants.map((i) => i.violations),
    [0, 0, 0, 0, 0, 0],
  );
  const spans = ownerSpans(run.log, opts.durationMs);
  assert.equal(data.ipsShown, spans.size, 'every IP shown (fewer than the cap)');
  assert.equal((html.match(/<rect class="(owned|dual|gap)"/g) ?? []).length, [...spans.values()].flat().length, 'one bar per owner span');
  assert.ok(html.includes('class="gap"'), 'a config fault leaves IPs unanswered');
  assert.ok(
    faults.some((f) => f.target === 'peer'),
    'the schedule adds a BGPPeer',
  );
  const series = bgpSeries(run.log);
  assert.ok(
    data.bgp.maxPaths > 0 && data.bgp.maxPaths === Math.max(...series.map((p) => p.paths)),
    `BGP paths drawn: ${JSON.stringify(data.bgp)}`,
  );
  assert.equal(series[series.length - 1]?.paths, 0, 'every path withdrawn once the peer is gone');
  assert.match(html, /<path class="bgp-paths" d="M/);
});

test('the report shows violations per invariant, and owner spans and the histogram are exact', async () => {
  const opts: ChaosOptions = { seed: 3, nodes: 3, services: 4, durationMs: 20_000, kinds: ['kill'], plantedBug: 'zombie-l2' };
  const faults = schedule(opts);
  const run = await runChaos(opts, faults);
  const html = renderReport({ opts, faults, log: run.log, result: run.result, command: 'x' });
  const p1 = dataOf(html).invariants.find((i) => i.id === 'P1');
  assert.ok(p1 && p1.violations > 0 && p1.violations === run.result.violations.filter((v) => / P1 /.test(v)).length);
  assert.ok(html.includes('class="dual"'), 'two answering nodes drawn');

  assert.deepEqual(
    bgpSeries([
      { at: 1, kind: 'bgp', node: 'n1', prefix: 'p/32', up: true },
      { at: 1, kind: 'bgp', node: 'n2', prefix: 'p/32', up: true },
      { at: 5, kind: 'bgp', node: 'n1', prefix: 'q/32', up: true },
      { at: 9, kind: 'bgp', node: 'n1', prefix: 'p/32', up: false },
      { at: 9, kind: 'bgp', node: 'n2', prefix: 'p/32', up: false },
    ]),
    [
      { at: 1, paths: 2, prefixes: 1 },
      { at: 5, paths: 3, prefixes: 2 },
      { at: 9, paths: 1, prefixes: 1 },
    ],
  );
  const spans = ownerSpans(
    [
      { at: 10, kind: 'segment', ip: 'a', announcers: ['n1'] },
      { at: 10, kind: 'segment', ip: 'a', announcers: ['n1', 'n2'] },
      { at: 30, kind: 'segment', ip: 'a', announcers: [] },
    ],
    100,
  );
  assert.deepEqual(spans.get('a'), [
    { from: 10, to: 30, nodes: ['n1', 'n2'] },
    { from: 30, to: 100, nodes: [] },
  ]);
  assert.equal(
    histogram([0, 5, 9, 10], 2).reduce((a, b) => a + b.count, 0),
    4,
  );
  assert.deepEqual(
    histogram([0, 5, 9, 10], 2).map((b) => [b.from, b.count]),
    [
      [0, 2],
      [6, 2],
    ],
  );
});
