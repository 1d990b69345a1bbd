// The chaos report opened in a real browser (Debian's chromium through playwright-core): every
// plot renders (each section's SVG has a size and its marks), no console or page error, and the
// figures the page shows equal its embedded JSON and the run's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CHROMIUM } from '../test/lib/browser.js';
import { quantile, runChaos, schedule, type ChaosOptions } from './lib/chaos.js';
import { renderReport } from './lib/report.js';
import { showReport } from './lib/report-page.js';

test('the chaos report renders in chromium: every plot drawn, no error, the figures shown equal the JSON', async () => {
  assert.ok(existsSync(CHROMIUM), `missing test prerequisite: ${CHROMIUM} (Debian package chromium; scripts/install-deps.sh installs it)`);
  const opts: ChaosOptions = { seed: 3, nodes: 3, services: 10, durationMs: 120_000 };
  const faults = schedule(opts);
  const run = await runChaos(opts, faults);
  const {
    shown: seen,
    errors,
    requests,
  } = await showReport(renderReport({ opts, faults, log: run.log, result: run.result, command: 'mooring chaos sim --seed 3' }));
  assert.deepEqual(errors, [], 'no console or page error');
  assert.ok(seen.cdf > 0 || seen.bins.length === 0, 'the CDF drawn');
  assert.deepEqual(requests, [], 'nothing loaded from elsewhere');
  for (const [sel, b] of seen.boxes) assert.ok(b && b.w > 100 && b.h > 50, `${sel} rendered: ${JSON.stringify(b)}`);
  assert.equal(seen.faultBars, faults.length, 'every fault bar drawn');
  assert.ok(seen.ownerBars > 0);
  assert.ok(seen.bgpPath > 0, 'the BGP line drawn');
  const f = run.result.failovers;
  assert.equal(
    seen.bins.reduce((a, b) => a + b, 0),
    f.length,
  );
  assert.deepEqual(seen.data.failovers, {
    ...seen.data.failovers,
    count: f.length,
    p50: quantile(f, 0.5),
    p99: quantile(f, 0.99),
    max: quantile(f, 1),
  });
  assert.match(
    seen.failoverText,
    new RegExp(
      `^${f.length} failovers .*p50 ${seen.data.failovers.p50}, p99 ${seen.data.failovers.p99}, max ${seen.data.failovers.max}\\.`,
    ),
  );
  assert.deepEqual(JSON.parse(seen.summaryText), seen.data.summary, 'the summary shown is the JSON');
  assert.deepEqual(seen.invariantCells, ['0', '0', '0', '0', '0', '0']);
});
