// A real browser for the visualizer tests: Debian's chromium driven by playwright-core, with a
// fresh profile, no network beyond what the page asks for, and every console error or page error
// collected (a test fails on any). Screenshots go to .cache/artifacts/viz (gitignored). With
// `netns`, chromium runs inside that network namespace (test traffic never from the root one).
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = new URL('../../.cache/artifacts/viz/', import.meta.url).pathname;
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  readonly page: Page;
  readonly errors: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openBrowser(opts: { netns?: string } = {}): Promise<TestBrowser> {
  const dir = mkdtempSync(join(tmpdir(), 'mooring-viz-chromium-'));
  let exe = CHROMIUM;
  if (opts.netns) {
    exe = join(dir, 'chromium-in-netns');
    writeFileSync(exe, `#!/bin/sh\nexec ip netns exec ${opts.netns} ${CHROMIUM} "$@"\n`);
    chmodSync(exe, 0o755);
  }
  const profile = join(dir, 'profile');
  let ctx: BrowserContext;
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: exe,
      headless: true,
      args: FLAGS,
      viewport: { width: 1400, height: 1000 },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    page,
    errors,
    screenshot: async (name) => {
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: async () => {
      await ctx.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The owners shown for an IP (the row's owner cell). */
export async function shownOwner(page: Page, ip: string): Promise<string | null> {
  return page
    .locator(`#ips tr[data-ip="${ip}"] td.owner`)
    .getAttribute('data-owner', { timeout: 1000 })
    .catch(() => null);
}
