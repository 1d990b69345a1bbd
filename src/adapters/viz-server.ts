// `mooring viz`'s web server (docs/visualizer.md): one page, its script, the laid-out statecharts
// and a Server-Sent Events stream of VizInputs (first every input so far, then batches every
// 50 ms). Read-only: GET and HEAD only, anything else is 405; nothing is loaded from elsewhere
// (the Content-Security-Policy says so to the browser). Listens on 127.0.0.1 unless told.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { VizInput } from '../domain/viz-model.js';
import type { Chart } from '../actors/viz-charts.js';

export interface VizSource {
  readonly mode: 'live' | 'replay';
  /** Every input so far (live) or the whole trace (replay). */
  inputs(): readonly VizInput[];
  /** New inputs (live); returns an unsubscribe function. */
  onInput(cb: (x: VizInput) => void): () => void;
}

export interface VizServerOptions {
  readonly host: string;
  readonly port: number;
  readonly title: string;
  readonly script: string;
  readonly charts: readonly Chart[];
  readonly source: VizSource;
}

const CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";

export function pageHtml(title: string): string {
  const esc = title.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>
<body><div id="app">loading…</div><script src="app.js"></script></body></html>`;
}

export async function serveViz(o: VizServerOptions): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const clients = new Set<ServerResponse>();
  let batch: VizInput[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (batch.length === 0) return;
    const data = `data: ${JSON.stringify(batch)}\n\n`;
    batch = [];
    for (const c of clients) c.write(data);
  };
  const unsub = o.source.onInput((x) => {
    batch.push(x);
    timer ??= setTimeout(flush, 50);
  });
  const html = pageHtml(o.title);
  const charts = JSON.stringify(o.charts);
  const server = createServer((req, res) => {
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, {
        'content-type': type,
        'cache-control': 'no-store',
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'read-only\n');
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') return send(200, 'text/html; charset=utf-8', html);
    if (path === '/app.js') return send(200, 'text/javascript; charset=utf-8', o.script);
    if (path === '/charts.json') return send(200, 'application/json', charts);
    if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      flush(); // everything before `init` goes out first: the new client sees it in `init`
      res.write(`event: init\ndata: ${JSON.stringify({ mode: o.source.mode, inputs: o.source.inputs() })}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    return send(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    server,
    url: `http://${host}:${port}/`,
    close: async () => {
      unsub();
      if (timer) clearTimeout(timer);
      for (const c of clients) c.end();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * A live source: keeps the inputs (at most `max`, oldest dropped) and forwards new ones. Of the
 * apiserver's `cluster` inputs only the latest is kept (a full report each: not replayed).
 */
export function liveSource(max = 200_000): VizSource & { push(x: VizInput): void } {
  const all: VizInput[] = [];
  const cbs = new Set<(x: VizInput) => void>();
  return {
    mode: 'live',
    inputs: () => all,
    onInput: (cb) => {
      cbs.add(cb);
      return () => cbs.delete(cb);
    },
    push: (x) => {
      if (x.t === 'cluster') {
        const i = all.findIndex((y) => y.t === 'cluster');
        if (i >= 0) all.splice(i, 1);
      }
      all.push(x);
      if (all.length > max) all.splice(0, all.length - max);
      for (const cb of cbs) cb(x);
    },
  };
}

/** The page script, bundled from src/viz/page.ts with esbuild (a development dependency). */
export async function bundlePage(): Promise<string> {
  const { build } = await import('esbuild');
  const r = await build({
    entryPoints: [new URL('../viz/page.ts', import.meta.url).pathname],
    bundle: true,
    write: false,
    minify: true,
    format: 'iife',
    target: 'es2022',
    logLevel: 'silent',
  });
  return r.outputFiles[0]?.text ?? '';
}

/**
 * The page script and the laid-out charts, built by a child process (src/viz/assets.ts, same node
 * flags as this one): elkjs and esbuild never load into the viz process itself. With
 * MOORING_VIZ_ASSETS naming a prebuilt file (the image), that file.
 */
export function loadVizAssets(): Promise<{ script: string; charts: Chart[] }> {
  // The image's build prebuilds them (scripts/bundle.mjs → dist/bundle/viz-assets.json).
  const prebuilt = process.env.MOORING_VIZ_ASSETS;
  if (prebuilt && existsSync(prebuilt))
    return Promise.resolve(JSON.parse(readFileSync(prebuilt, 'utf8')) as { script: string; charts: Chart[] });
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--inspect')),
        new URL('../viz/assets.ts', import.meta.url).pathname,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`building the visualizer's assets failed (exit ${code})`));
      try {
        resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as { script: string; charts: Chart[] });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}
