// The chaos report (report.ts) as a browser shows it, for the tests of both modes
// (simulations/chaos-report-browser.test.ts, test/integration/e2e/chaos-lab.test.ts): the page is
// opened in Debian's chromium (test/lib/browser.ts) and what it drew is read back, with every
// console or page error and every request that left the file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowser } from '../../test/lib/browser.js';

export interface ShownReport {
  /** Each plot's SVG box. */
  boxes: Array<[string, { w: number; h: number } | undefined]>;
  /** Fault bars with a width. */
  faultBars: number;
  /** Owner timeline marks, and the rows they are on. */
  ownerBars: number;
  ownerRows: number;
  /** Histogram bin counts. */
  bins: number[];
  failoverText: string;
  /** Length of the CDF line (0: not drawn). */
  cdf: number;
  summaryText: string;
  invariantCells: string[];
  /** Length of the BGP paths line; the per-prefix lines drawn. */
  bgpPath: number;
  prefixLines: string[];
  data: {
    summary: unknown;
    failovers: { count: number; p50: number; p99: number; max: number };
    invariants: Array<{ id: string; violations: number }>;
  };
}

/** Opens `html` in chromium and reads back what it shows; `errors` and `requests` must be empty. */
export async function showReport(html: string): Promise<{ shown: ShownReport; errors: string[]; requests: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-report-'));
  const browser = await openBrowser();
  try {
    const file = join(dir, 'report.html');
    writeFileSync(file, html);
    const { page, errors } = browser;
    const requests: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(`file://${file}`);
    // In the page (a string: this project's TypeScript has no DOM types).
    const shown = (await page.evaluate(`(() => {
      const box = (sel) => {
        const r = document.querySelector(sel)?.getBoundingClientRect();
        return r ? { w: r.width, h: r.height } : undefined;
      };
      const all = (sel) => [...document.querySelectorAll(sel)];
      const owners = all('#owners rect.owned, #owners rect.dual, #owners rect.gap');
      return {
        boxes: ['#schedule svg', '#owners svg', '#failovers svg', '#bgp svg'].map((s) => [s, box(s)]),
        faultBars: all('#schedule rect.fault').filter((e) => e.getBoundingClientRect().width > 0).length,
        ownerBars: owners.length,
        ownerRows: new Set(owners.map((e) => e.getAttribute('y'))).size,
        bins: all('#failovers rect.bin').map((e) => Number(e.getAttribute('data-count'))),
        failoverText: document.querySelector('#failovers p')?.textContent ?? '',
        cdf: document.querySelector('#failovers path.cdf')?.getTotalLength() ?? 0,
        summaryText: document.querySelector('#summary pre')?.textContent ?? '',
        invariantCells: all('#invariants tr td:last-child').map((e) => e.textContent),
        bgpPath: document.querySelector('#bgp path.bgp-paths')?.getTotalLength() ?? 0,
        prefixLines: all('#bgp path.bgp-prefix').filter((e) => e.getTotalLength() > 0).map((e) => e.getAttribute('data-prefix')),
        data: JSON.parse(document.getElementById('data')?.textContent ?? '{}'),
      };
    })()`)) as ShownReport;
    return { shown, errors: [...errors], requests };
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
