// A real OpenTelemetry Collector for the tests: built from the collector's Go modules
// (test/otelcol: the OTLP receiver and the debug exporter, core release v0.165.0) with the tests'
// cached Go build (test/lib/kube.ts ensureGoBuild: ~/.cache/mooring, `flock /tmp/mooring-go.lock`).
// It receives OTLP over HTTP and prints every span at detailed verbosity on its stderr, which
// `spans()` parses back (trace id, parent id, name, attributes, resource attributes).
//
//   const col = await startCollector({ host: '198.51.100.129', ns });   // in a lab namespace, or on loopback
//   env.OTEL_EXPORTER_OTLP_ENDPOINT = col.endpoint;                      // http://host:port
//   await waitFor('a span', () => col.spans().some((s) => s.name === 'x'));
//   await col.stop();
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureGoBuild, GO_CACHE_DIR, hashFiles } from './kube.js';
import { waitFor, type Netns } from './netns.js';

const OTELCOL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'otelcol');

/** The collector core release test/otelcol/go.mod requires (e.g. v0.165.0). */
export function otelcolVersion(): string {
  const m = /^\s*go\.opentelemetry\.io\/collector\/otelcol (v[\d.]+)/m.exec(readFileSync(join(OTELCOL_DIR, 'go.mod'), 'utf8'));
  if (!m?.[1]) throw new Error('test/otelcol/go.mod does not require go.opentelemetry.io/collector/otelcol');
  return m[1];
}

/** Builds the collector once (cached under a hash of test/otelcol's sources); returns the binary. */
export function ensureOtelcol(log?: (s: string) => void): Promise<string> {
  const version = otelcolVersion();
  const key = hashFiles(OTELCOL_DIR, ['go.mod', 'go.sum', 'main.go']);
  return ensureGoBuild(
    {
      label: `otelcol ${version}`,
      moduleDir: OTELCOL_DIR,
      pkg: '.',
      out: join(GO_CACHE_DIR, `otelcol-${version}-${key}`, 'otelcol'),
      ldflags: '-s -w',
      env: { CGO_ENABLED: '0' },
    },
    log,
  );
}

export interface CollectedSpan {
  traceId: string;
  /** Empty for a root span. */
  parentId: string;
  id: string;
  name: string;
  status: string;
  attributes: Record<string, string>;
  /** The resource's attributes (service.name, …). */
  resource: Record<string, string>;
}

export interface Collector {
  /** OTLP/HTTP endpoint for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  /** Every span received so far. */
  spans(): CollectedSpan[];
  /** The collector's output (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface CollectorOptions {
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  readonly port?: number;
  /** Run inside this lab namespace (default: the test's own). */
  readonly ns?: Netns;
}

export async function startCollector(o: CollectorOptions = {}): Promise<Collector> {
  const bin = await ensureOtelcol();
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? 4318;
  const dir = mkdtempSync(join(tmpdir(), 'mooring-otelcol-'));
  const conf = join(dir, 'config.yaml');
  writeFileSync(
    conf,
    [
      'receivers:',
      '  otlp:',
      '    protocols:',
      '      http:',
      `        endpoint: "${host}:${port}"`,
      'exporters:',
      '  debug:',
      '    verbosity: detailed',
      'service:',
      '  telemetry:',
      '    metrics:',
      '      level: none',
      '  pipelines:',
      '    traces:',
      '      receivers: [otlp]',
      '      exporters: [debug]',
      '',
    ].join('\n'),
  );
  const p: ChildProcess = o.ns
    ? o.ns.spawn(bin, ['--config', conf])
    : spawn(bin, ['--config', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const onData = (d: Buffer) => {
    out += d.toString();
  };
  p.stdout?.on('data', onData);
  p.stderr?.on('data', onData);
  const exited = new Promise<void>((r) => p.on('exit', () => r()));
  const stop = async () => {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('the collector ready', () => p.exitCode !== null || /Everything is ready/.test(out), 60_000, 50);
    if (p.exitCode !== null) throw new Error(`otelcol exited (${p.exitCode}):\n${out.slice(-3000)}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint: `http://${host}:${port}`, spans: () => parseDebugSpans(out), output: () => out, stop };
}

/**
 * Spans from the debug exporter's detailed output: `ResourceSpans #n` / `Resource attributes:` /
 * `Span #n` blocks with `Trace ID`, `Parent ID`, `ID`, `Name`, `Status code` and `Attributes:`.
 */
export function parseDebugSpans(text: string): CollectedSpan[] {
  const out: CollectedSpan[] = [];
  let resource: Record<string, string> = {};
  let cur: CollectedSpan | undefined;
  let section: 'resource' | 'span' | 'attrs' | 'other' = 'other';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    // The first line of each export is the log line's tail: `<time>\tinfo\tResourceSpans #0`.
    if (/(^|\t)ResourceSpans #\d+/.test(line)) {
      resource = {};
      cur = undefined;
      section = 'other';
      continue;
    }
    if (/^Resource attributes:/.test(line)) {
      section = 'resource';
      continue;
    }
    if (/^Span #\d+/.test(line)) {
      cur = { traceId: '', parentId: '', id: '', name: '', status: '', attributes: {}, resource };
      out.push(cur);
      section = 'span';
      continue;
    }
    if (/^Attributes:/.test(line) && cur) {
      section = 'attrs';
      continue;
    }
    const attr = /^\s+-> ([^:]+): \w+\((.*)\)\s*$/.exec(line);
    if (attr) {
      if (section === 'resource') resource[attr[1] as string] = attr[2] as string;
      else if (section === 'attrs' && cur) cur.attributes[attr[1] as string] = attr[2] as string;
      continue;
    }
    const field = /^\s+(Trace ID|Parent ID|ID|Name|Status code)\s*: ?(.*)$/.exec(line);
    if (field && cur && section === 'span') {
      const v = (field[2] ?? '').trim();
      if (field[1] === 'Trace ID') cur.traceId = v;
      else if (field[1] === 'Parent ID') cur.parentId = v;
      else if (field[1] === 'ID') cur.id = v;
      else if (field[1] === 'Name') cur.name = v;
      else cur.status = v;
      continue;
    }
    if (!/^\s/.test(line) && line.trim() !== '') section = section === 'attrs' || section === 'span' ? 'other' : section;
  }
  return out;
}
