// `mooring chaos lab` (test/lib/chaos-lab.ts), short: a seeded run of about a minute on the e2e namespaces lab
// (30 s of faults, longer until every real fault kind ran once: the plan starts with each once), measured
// from outside (ARP every 10 ms and TCP from the segment, TCP from behind the router, the router's
// routing table). No IP is lost; the report opens in chromium with every plot drawn, no console
// error, and the figures it shows equal its JSON and the run's. Timings are reported, not asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM } from '../../lib/browser.js';
import { LAB_INVARIANTS, LAB_KINDS, runChaosLab } from '../../lib/chaos-lab.js';
import { renderReport } from '../../../simulations/lib/report.js';
import { showReport } from '../../../simulations/lib/report-page.js';
import { quantile } from '../../../simulations/lib/chaos.js';

const ARTIFACTS = new URL('../../../.cache/artifacts/chaos-lab/', import.meta.url).pathname;

test(
  'chaos lab: every real fault kind on the namespaces lab, nothing lost, the report renders and equals its JSON',
  { timeout: 900_000 },
  async (t) => {
    assert.ok(existsSync(CHROMIUM), `missing test prerequisite: ${CHROMIUM}`);
    const run = await runChaosLab({ seed: 1, durationMs: 30_000, everyKind: true, gapMs: [500, 500], log: (l) => t.diagnostic(l) });
    t.diagnostic(JSON.stringify(run.summary));
    // Kept for a look after the run (gitignored): the report and its figures.
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'chaos-lab.html'), renderReport(run.report));
    writeFileSync(
      join(ARTIFACTS, 'chaos-lab.json'),
      JSON.stringify({ summary: run.summary, faults: run.faults, violations: run.violations, figures: run.figures }, null, 1),
    );
    const kinds = new Set(run.faults.map((f) => f.kind));
    assert.deepEqual(
      LAB_KINDS.filter((k) => !kinds.has(k)),
      [],
      `every kind injected: ${run.faults.map((f) => f.kind).join(', ')}`,
    );
    assert.equal(run.summary.lostIps, 0, run.violations.join('\n'));
    assert.ok(run.figures.arpProbes > 0 && run.figures.tcp.attempts > 0, JSON.stringify(run.figures.tcp));
    // The speaker faults took an L2 owner or a BGP path away at least once (the observers saw faults).
    assert.ok(run.figures.bgpPathLoss.length > 0, 'a node fault was measured at the router');

    const { shown: seen, errors, requests } = await showReport(renderReport(run.report));
    assert.deepEqual(errors, [], 'no console or page error');
    assert.ok(seen.cdf > 0 || seen.bins.length === 0, 'the CDF drawn');
    assert.deepEqual(requests, [], 'nothing loaded from elsewhere');
    for (const [sel, b] of seen.boxes) assert.ok(b && b.w > 100 && b.h > 50, `${sel} rendered: ${JSON.stringify(b)}`);
    assert.equal(seen.faultBars, run.faults.length, 'every fault drawn');
    assert.equal(seen.ownerRows, run.figures.l2Vips.length, 'a timeline row per L2 VIP');
    assert.deepEqual(seen.prefixLines.sort(), run.figures.bgpVips.map((ip) => `${ip}/32`).sort(), 'a BGP line per prefix');
    const gaps = [...run.figures.vipGaps].sort((a, b) => a - b);
    assert.equal(
      seen.bins.reduce((a, b) => a + b, 0),
      gaps.length,
    );
    assert.deepEqual(seen.data.failovers, {
      ...seen.data.failovers,
      count: gaps.length,
      p50: quantile(gaps, 0.5),
      p99: quantile(gaps, 0.99),
      max: quantile(gaps, 1),
    });
    assert.equal(seen.data.failovers.p99, run.summary.vipGapP99Ms, 'the histogram is the summary figure');
    assert.match(
      seen.failoverText,
      new RegExp(
        `^${gaps.length} failovers .*p50 ${seen.data.failovers.p50}, p99 ${seen.data.failovers.p99}, max ${seen.data.failovers.max}\\.`,
      ),
    );
    assert.deepEqual(JSON.parse(seen.summaryText), run.summary, 'the summary shown is the run');
    assert.deepEqual(seen.data.summary, run.summary);
    const byId = (id: string) => run.violations.filter((v) => new RegExp(`^t=\\d+ms ${id} `).test(v)).length;
    assert.deepEqual(
      seen.invariantCells,
      LAB_INVARIANTS.map((i) => String(byId(i.id))),
    );
  },
);
