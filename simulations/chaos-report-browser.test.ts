// The chaos report opened in a real browser (Debian's chromium through playwright-core): every
// plot renders (each section's SVG has a size and its marks), no console or page error, and the
// figures the page shows equal its embedded JSON and the run's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, openBrowser } from '../test/lib/browser.js';
import { quantile, runChaos, schedule, type ChaosOptions } from './lib/chaos.js';
import { renderReport } from './lib/report.js';

test('the chaos report renders in chromium: every plot drawn, no error, the figures shown equal the JSON', async (t) => {
  assert.ok(existsSync(CHROMIUM), `missing test prerequisite: ${CHROMIUM} (Debian package chromium; scripts/install-deps.sh installs it)`);
  const opts: ChaosOptions = { seed: 3, nodes: 3, services: 10, durationMs: 120_000 };
  const faults = schedule(opts);
  const run = await runChaos(opts, faults);
  const dir = mkdtempSync(join(tmpdir(), 'chaos-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'report.html');
  writeFileSync(file, renderReport({ opts, faults, log: run.log, result: run.result, command: 'mooring chaos sim --seed 3' }));

  const browser = await openBrowser();
  t.after(() => browser.close());
  const { page, errors } = browser;
  const requests: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) requests.push(r.url());
  });
  await page.goto(`file://${file}`);

  // In the page (a string: this project's TypeScript has no DOM types).
  const seen = (await page.evaluate(`(() => {
    const box = (sel) => {
      const r = document.querySelector(sel)?.getBoundingClientRect();
      return r ? { w: r.width, h: r.height } : undefined;
    };
    const all = (sel) => [...document.querySelectorAll(sel)];
    return {
      boxes: ['#schedule svg', '#owners svg', '#failovers svg', '#bgp svg'].map((s) => [s, box(s)]),
      faultBars: all('#schedule rect.fault').filter((e) => e.getBoundingClientRect().width > 0).length,
      ownerBars: all('#owners rect.owned, #owners rect.dual, #owners rect.gap').length,
      bins: all('#failovers rect.bin').map((e) => Number(e.getAttribute('data-count'))),
      failoverText: document.querySelector('#failovers p')?.textContent ?? '',
      cdf: document.querySelector('#failovers path.cdf')?.getTotalLength() ?? 0,
      summaryText: document.querySelector('#summary pre')?.textContent ?? '',
      invariantCells: all('#invariants tr td:last-child').map((e) => e.textContent),
      bgpPath: document.querySelector('#bgp path.bgp-paths')?.getTotalLength() ?? 0,
      data: JSON.parse(document.getElementById('data')?.textContent ?? '{}'),
    };
  })()`)) as {
    boxes: Array<[string, { w: number; h: number } | undefined]>;
    faultBars: number;
    ownerBars: number;
    bins: number[];
    failoverText: string;
    cdf: number;
    summaryText: string;
    invariantCells: string[];
    bgpPath: number;
    data: { summary: unknown; failovers: { count: number; p50: number; p99: number; max: number } };
  };
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
