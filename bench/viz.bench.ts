// `npm run bench:viz`: the visualizer under 1,000 Services on 3 nodes. Simulated speakers (bench/
// viz-feeders.ts: real NatsBus + real StateFeed per node, heartbeats every 100 ms, synthetic
// serviceIp transitions) publish to a real nats-server; a real `mooring viz` process reads the
// feed as the read-only viewer; a real chromium (playwright-core) shows the page. All of it in
// one network namespace on 127.0.0.1. Measures:
//   transitionToDomP99Ms   record stamped at the speaker → the page's DOM row updated (same host clock)
//   pageHeapMB1000         the page's JS heap after a GC, 1,000 Services (3,000 machines) shown
//   feedMsgsPerSecIdle1000 feed messages per second per node (the busiest) over IDLE_S at rest
//   vizRssMB               the viz process's peak RSS (VmHWM)
// Prints a table, then one JSON line. Never asserts. SERVICES=1000 MOVES=300 IDLE_S=10
import type { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Lab, waitFor } from '../test/lib/netns.js';
import { requireRoot, requireTools } from '../test/lib/prereq.js';
import { openBrowser, type TestBrowser } from '../test/lib/browser.js';
import { natsAccountsBlock } from '../src/domain/nats-config.js';

const SERVICES = Number(process.env.SERVICES ?? 1000);
const MOVES = Number(process.env.MOVES ?? 300);
const IDLE_S = Number(process.env.IDLE_S ?? 10);
const NODES = 3;
const CLUSTER = 'bench';
const REPO = new URL('..', import.meta.url).pathname;

requireRoot();
requireTools('ip', 'nats-server');
const lab = new Lab('vz');
const dir = mkdtempSync(join(tmpdir(), 'mooring-bench-viz-'));
let browser: TestBrowser | undefined;
/** The feeders' and the viz's logs: printed only when the bench fails (the JSON line stays last). */
let stderr = '';

function lines(p: ReturnType<typeof spawn>): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  if (p.stdout)
    createInterface({ input: p.stdout }).on('line', (l) => {
      try {
        out.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        out.push({ text: l });
      }
    });
  return out;
}

try {
  const ns = lab.netns('viz');
  const pass = `pw-${Math.random().toString(36).slice(2)}`;
  const users = Array.from({ length: NODES }, (_, i) => ({ node: `node-${i + 1}`, user: `node-${i + 1}`, password: pass }));
  writeFileSync(
    join(dir, 'nats.conf'),
    [
      'listen: "127.0.0.1:4222"',
      `jetstream { store_dir: "${join(dir, 'js')}", max_memory_store: 64MB, max_file_store: 64MB }`,
      natsAccountsBlock(CLUSTER, users, 'MOORING', [], { viewers: [{ user: 'viz', password: pass }] }),
    ].join('\n'),
  );
  writeFileSync(join(dir, 'viz.pass'), pass, { mode: 0o600 });
  ns.spawn('nats-server', ['-c', join(dir, 'nats.conf')]);
  await waitFor('nats-server listening', () => ns.exec('ss', ['-ltn']).includes('127.0.0.1:4222') || undefined, 20_000, 100);
  const url = 'nats://127.0.0.1:4222';

  const feeders = ns.spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'bench/viz-feeders.ts'), url, CLUSTER, String(NODES), String(SERVICES), pass],
    {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const fout = lines(feeders);
  feeders.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const viz = ns.spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO, 'src/bin/viz.ts'),
      '--nats-url',
      url,
      '--cluster',
      CLUSTER,
      '--nats-user',
      'viz',
      '--nats-pass-file',
      join(dir, 'viz.pass'),
      '--listen',
      '127.0.0.1:8089',
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const vout = lines(viz);
  viz.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor('viz listening', () => vout.find((l) => String(l.text ?? '').startsWith('visualizer: ')), 120_000, 100);
  await waitFor('feeders ready', () => fout.find((l) => l.ready === true), 120_000, 100);

  browser = await openBrowser({ netns: ns.name });
  const page = browser.page;
  await page.goto('http://127.0.0.1:8089/');
  await page.waitForSelector('body[data-ready=true]');
  await page.waitForFunction(
    (n) => document.querySelectorAll('#ips tbody tr').length === n && document.querySelectorAll('#ips td.owner.none').length === 0,
    SERVICES,
    { timeout: 120_000 },
  );

  // At rest.
  const count = async (): Promise<number[]> => {
    const k = fout.length;
    feeders.stdin?.write('count\n');
    const r = await waitFor('feed count', () => fout.slice(k).find((l) => Array.isArray(l.feedMessages)), 10_000, 20);
    return r.feedMessages as number[];
  };
  const c0 = await count();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const c1 = await count();
  const idle = Math.max(...c1.map((x, i) => (x - (c0[i] ?? 0)) / IDLE_S));

  // Transitions → DOM.
  await page.evaluate(() => (window as unknown as { __viz: { lat: number[] } }).__viz.lat.splice(0));
  const k = fout.length;
  feeders.stdin?.write(`move ${MOVES}\n`);
  await waitFor('moves done', () => fout.slice(k).find((l) => l.moved === true), 120_000, 50);
  await page.waitForFunction((n) => (window as unknown as { __viz: { lat: number[] } }).__viz.lat.length >= n, 2 * MOVES, {
    timeout: 60_000,
  });
  const lat = (await page.evaluate(() => (window as unknown as { __viz: { lat: number[] } }).__viz.lat.slice())).sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;

  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = (await cdp.send('Runtime.getHeapUsage')).usedSize / 1048576;
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${viz.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  await browser.screenshot('bench-1000');

  const rows: Array<[string, string, string]> = [
    ['transition → DOM p50 / p99 / max', `${q(0.5)} / ${q(0.99)} / ${lat.at(-1)} ms`, '≤ 250 ms (p99)'],
    [`page JS heap, ${SERVICES} services × ${NODES} nodes`, `${heap.toFixed(1)} MB`, '≤ 100 MB'],
    [`feed at rest (${IDLE_S} s, busiest node)`, `${idle.toFixed(2)} msg/s`, '≤ 1 msg/s/node'],
    ['viz process peak RSS', `${hwm.toFixed(1)} MB`, '≤ 120 MB'],
  ];
  console.log(
    `bench:viz — ${SERVICES} services on ${NODES} simulated speakers (real StateFeed + nats-server), real viz process, real chromium`,
  );
  for (const [a, b, c] of rows) console.log(`  ${a.padEnd(44)} ${b.padEnd(24)} target ${c}`);
  console.log(
    JSON.stringify({
      transitionToDomP99Ms: q(0.99),
      pageHeapMB1000: Number(heap.toFixed(1)),
      feedMsgsPerSecIdle1000: Number(idle.toFixed(2)),
      vizRssMB: Number(hwm.toFixed(1)),
    }),
  );
} catch (err) {
  process.stderr.write(`${stderr.slice(-5000)}\n`);
  throw err;
} finally {
  await browser?.close();
  await lab.cleanup();
}
