// The chaos run as one self-contained HTML page (`mooring chaos sim --report out.html`, and
// `mooring chaos lab`, whose figures are measured on a real network: test/lib/chaos-lab.ts): no
// script, stylesheet or font from elsewhere; the plots are inline SVG drawn here. Sections (each an
// element with a stable id, which tests and readers look for):
//   #summary     seed, the command to run it again, the JSON summary line;
//   #schedule    the fault schedule on a timeline (one row per kind, a bar per fault, its span);
//   #owners      per-IP answering node over time (a colour per node; red: two nodes answered;
//                grey: nobody) with the faults as bands behind;
//   #failovers   histogram and CDF of failover times (SIGKILL → the IP answered again), with p50/p99/max;
//   #bgp         BGP paths at the router over time (paths; prefixes with a path; one line per
//                prefix when there are few);
//   #invariants  P1–P6 (the lab: its own list): what each checks, its violations, the first ones;
//   #data        the figures as JSON (<script type="application/json">), equal to what is drawn.
import { quantile, type ChaosOptions, type ChaosResult, type Fault } from './chaos.js';
import type { LogEntry } from './product.js';

/** A fault as drawn: the sim's kinds or the lab's (sigkill, sigstop, link, nats, apiserver, frr, controller). */
export type ReportFault = Omit<Fault, 'kind'> & { readonly kind: string };

export interface ReportInput {
  readonly opts: Pick<ChaosOptions, 'seed' | 'nodes' | 'services' | 'durationMs'> & { readonly kinds?: readonly string[] };
  readonly faults: readonly ReportFault[];
  readonly log: readonly LogEntry[];
  readonly result: ChaosResult;
  /** The command line that runs it again. */
  readonly command: string;
  /** The lab's run (measured from outside, wall-clock ms): its title, invariants, summary line and figures. */
  readonly lab?: {
    readonly title: string;
    readonly invariants: ReadonlyArray<{ id: string; text: string }>;
    readonly summary: Record<string, unknown>;
    /** What a failover time is in this run (the sentence before the histogram's figures). */
    readonly failoverWhat: string;
    /** More figures for the embedded JSON (`data.lab`). */
    readonly figures: Record<string, unknown>;
  };
}

export const INVARIANTS: ReadonlyArray<{ id: string; text: string }> = [
  { id: 'P1', text: 'at most one node answers for an IP, except inside the fencing window (2 × detection + 100 ms)' },
  { id: 'P2', text: 'an IP is in the status of at most one Service (no address allocated twice)' },
  { id: 'P3', text: 'settled: every served IP is answered by exactly the node the election picks; nothing moves without a cause' },
  { id: 'P4', text: 'no actor logged a bug' },
  {
    id: 'P5',
    text: 'a node whose carrier is down past the P1 window holds no IP; no BGP path of a dead speaker; settled without a BGPPeer, no BGP path',
  },
  { id: 'P6', text: 'a restart moves no IP but to the restarted node and leaves no served IP unanswered past the P1 window' },
];

const KIND_COLOURS: Record<string, string> = {
  kill: '#d62728',
  stall: '#ff7f0e',
  partition: '#9467bd',
  outage: '#8c564b',
  service: '#2ca02c',
  config: '#17becf',
  carrier: '#e377c2',
  apiserver: '#7f7f7f',
  sigkill: '#d62728',
  sigstop: '#ff7f0e',
  link: '#e377c2',
  nats: '#9467bd',
  frr: '#bcbd22',
  controller: '#17becf',
};
const NODE_PALETTE = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#ff7f0e', '#393b79', '#637939'];

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const f1 = (x: number) => Number(x.toFixed(1));

/** An IP's answering nodes over time: [from, to) spans with the set of nodes (empty: nobody). */
export interface OwnerSpan {
  from: number;
  to: number;
  nodes: string[];
}

export function ownerSpans(log: readonly LogEntry[], endMs: number): Map<string, OwnerSpan[]> {
  const out = new Map<string, OwnerSpan[]>();
  for (const e of log) {
    if (e.kind !== 'segment') continue;
    const spans = out.get(e.ip) ?? [];
    const last = spans[spans.length - 1];
    if (last) last.to = e.at;
    spans.push({ from: e.at, to: endMs, nodes: e.announcers });
    out.set(e.ip, spans);
  }
  for (const spans of out.values()) {
    // Zero-length spans (two changes at one instant) say nothing on a timeline.
    for (let i = spans.length - 1; i >= 0; i--) if ((spans[i] as OwnerSpan).to <= (spans[i] as OwnerSpan).from) spans.splice(i, 1);
  }
  return out;
}

/** BGP paths at the router over time: after each change, how many (node, prefix) paths and how many prefixes had one. */
export function bgpSeries(log: readonly LogEntry[]): Array<{ at: number; paths: number; prefixes: number }> {
  const per = new Map<string, number>();
  let paths = 0;
  const out: Array<{ at: number; paths: number; prefixes: number }> = [];
  for (const e of log) {
    if (e.kind !== 'bgp') continue;
    const n = (per.get(e.prefix) ?? 0) + (e.up ? 1 : -1);
    if (n === 0) per.delete(e.prefix);
    else per.set(e.prefix, n);
    paths += e.up ? 1 : -1;
    const last = out[out.length - 1];
    if (last && last.at === e.at) Object.assign(last, { paths, prefixes: per.size });
    else out.push({ at: e.at, paths, prefixes: per.size });
  }
  return out;
}

/** Histogram bins of width `binMs` over sorted values. */
export function histogram(sorted: readonly number[], bins = 20): Array<{ from: number; to: number; count: number }> {
  if (sorted.length === 0) return [];
  const max = sorted[sorted.length - 1] as number;
  const width = Math.max(1, Math.ceil((max + 1) / bins));
  const out = Array.from({ length: Math.ceil((max + 1) / width) }, (_, i) => ({ from: i * width, to: (i + 1) * width, count: 0 }));
  for (const v of sorted) (out[Math.floor(v / width)] as { count: number }).count++;
  return out;
}

export function renderReport(r: ReportInput, maxIps = 60): string {
  const end = Math.max(r.opts.durationMs, r.result.simSeconds * 1000);
  const W = 1000;
  const left = 110;
  const x = (t: number) => f1(left + ((W - left - 10) * t) / Math.max(1, end));
  const axis = (y: number) => {
    const step = niceStep(end / 10);
    const ticks: string[] = [];
    for (let t = 0; t <= end; t += step)
      ticks.push(
        `<line x1="${x(t)}" y1="${y}" x2="${x(t)}" y2="${y + 4}" stroke="#333"/><text x="${x(t)}" y="${y + 16}" text-anchor="middle">${fmtT(t)}</text>`,
      );
    return `<line x1="${left}" y1="${y}" x2="${W - 10}" y2="${y}" stroke="#333"/>${ticks.join('')}`;
  };

  // Schedule: one row per kind.
  const kinds = [...new Set(r.faults.map((f) => f.kind))];
  const rowH = 18;
  const sched = r.faults.map((f) => {
    const y = 10 + kinds.indexOf(f.kind) * rowH;
    const w = Math.max(1.5, x(f.at + f.durationMs) - x(f.at));
    const what = [f.kind, f.node, f.service, f.target].filter(Boolean).join(' ');
    return `<rect class="fault" data-kind="${f.kind}" x="${x(f.at)}" y="${y}" width="${f1(w)}" height="${rowH - 4}" fill="${KIND_COLOURS[f.kind] ?? '#333'}"><title>${esc(`${what} at ${f.at} ms for ${f.durationMs} ms`)}</title></rect>`;
  });
  const schedH = 10 + kinds.length * rowH + 24;
  const schedSvg = svg(
    W,
    schedH,
    kinds.map((k, i) => `<text x="${left - 6}" y="${10 + i * rowH + 11}" text-anchor="end">${k}</text>`).join('') +
      sched.join('') +
      axis(schedH - 22),
  );

  // Owners: the IPs with the most changes (all when few), one row each.
  const spans = ownerSpans(r.log, end);
  const ips = [...spans.keys()]
    .sort((a, b) => (spans.get(b)?.length ?? 0) - (spans.get(a)?.length ?? 0) || ipCmp(a, b))
    .slice(0, maxIps)
    .sort(ipCmp);
  const nodes = [...new Set([...spans.values()].flatMap((s) => s.flatMap((x) => x.nodes)))].sort();
  const colour = (n: string) => NODE_PALETTE[nodes.indexOf(n) % NODE_PALETTE.length] as string;
  const oRow = 12;
  const oTop = 6;
  const bands = r.faults.map(
    (f) =>
      `<rect x="${x(f.at)}" y="0" width="${f1(Math.max(1, x(f.at + f.durationMs) - x(f.at)))}" height="${oTop + ips.length * oRow}" fill="${KIND_COLOURS[f.kind] ?? '#333'}" opacity="0.12"/>`,
  );
  const rows = ips.flatMap((ip, i) => {
    const y = oTop + i * oRow;
    return [
      `<text x="${left - 6}" y="${y + 9}" text-anchor="end">${ip}</text>`,
      ...(spans.get(ip) ?? []).map((s) => {
        const fill = s.nodes.length === 0 ? '#ddd' : s.nodes.length > 1 ? '#e00' : colour(s.nodes[0] as string);
        const cls = s.nodes.length === 0 ? 'gap' : s.nodes.length > 1 ? 'dual' : 'owned';
        return `<rect class="${cls}" x="${x(s.from)}" y="${y}" width="${f1(Math.max(0.5, x(s.to) - x(s.from)))}" height="${oRow - 2}" fill="${fill}"><title>${esc(`${ip} ${s.from}–${s.to} ms: ${s.nodes.join(', ') || 'nobody'}`)}</title></rect>`;
      }),
    ];
  });
  const oH = oTop + ips.length * oRow + 24;
  const ownersSvg = svg(W, oH, bands.join('') + rows.join('') + axis(oH - 22));
  const legend = nodes
    .slice(0, NODE_PALETTE.length)
    .map((n) => `<span class="key" style="background:${colour(n)}"></span>${esc(n)}`)
    .concat(['<span class="key" style="background:#e00"></span>two or more', '<span class="key" style="background:#ddd"></span>nobody'])
    .join(' ');

  // Failover histogram.
  const fo = r.result.failovers;
  const hist = histogram(fo);
  const hH = 200;
  const maxCount = Math.max(1, ...hist.map((b) => b.count));
  const bw = hist.length > 0 ? (W - left - 10) / hist.length : 0;
  const bars = hist.map((b, i) => {
    const h = f1(((hH - 40) * b.count) / maxCount);
    return `<rect class="bin" data-count="${b.count}" x="${f1(left + i * bw + 1)}" y="${f1(hH - 30 - h)}" width="${f1(Math.max(1, bw - 2))}" height="${h}" fill="#1f77b4"><title>${b.from}–${b.to} ms: ${b.count}</title></rect>${
      i % Math.ceil(hist.length / 10) === 0 ? `<text x="${f1(left + i * bw)}" y="${hH - 14}">${b.from} ms</text>` : ''
    }`;
  });
  // The CDF over the same axis: the share of failovers at most as long as x (right-hand scale, 0–100 %).
  const span = hist.length > 0 ? (hist[hist.length - 1] as { to: number }).to : 1;
  const xc = (v: number) => f1(left + ((W - left - 10) * v) / span);
  const yc = (share: number) => f1(hH - 30 - (hH - 40) * share);
  let cdf = fo.length > 0 ? `M${xc(0)},${yc(0)}` : '';
  fo.forEach((v, i) => {
    cdf += ` L${xc(v)},${yc(i / fo.length)} L${xc(v)},${yc((i + 1) / fo.length)}`;
  });
  if (fo.length > 0) cdf += ` L${xc(span)},${yc(1)}`;
  const histSvg = svg(
    W,
    hH,
    `<line x1="${left}" y1="${hH - 30}" x2="${W - 10}" y2="${hH - 30}" stroke="#333"/><text x="${left - 6}" y="${hH - 30 - (hH - 40) + 10}" text-anchor="end">${maxCount}</text>${bars.join('')}` +
      (cdf
        ? `<path class="cdf" d="${cdf}" fill="none" stroke="#d62728" stroke-width="1.5"><title>CDF</title></path><text x="${W - 12}" y="${yc(1) + 10}" text-anchor="end">100 %</text>`
        : ''),
  );

  // BGP paths at the router: two step lines (paths; prefixes with a path).
  const series = bgpSeries(r.log);
  const bH = 160;
  const maxPaths = Math.max(1, ...series.map((p) => p.paths));
  const yb = (v: number) => f1(bH - 30 - ((bH - 40) * v) / maxPaths);
  const step = (key: 'paths' | 'prefixes') => {
    let d = `M${x(0)},${yb(0)}`;
    let prev = 0;
    for (const p of series) {
      d += ` L${x(p.at)},${yb(prev)} L${x(p.at)},${yb(p[key])}`;
      prev = p[key];
    }
    return `${d} L${x(end)},${yb(prev)}`;
  };
  // Few prefixes (the lab's): one step line per prefix too, its path count over time.
  const perPrefix = prefixSeries(r.log);
  const prefixLines =
    perPrefix.size > 0 && perPrefix.size <= 8
      ? [...perPrefix].map(([prefix, pts], i) => {
          let d = `M${x(0)},${yb(0)}`;
          let prev = 0;
          for (const p of pts) {
            d += ` L${x(p.at)},${yb(prev)} L${x(p.at)},${yb(p.paths)}`;
            prev = p.paths;
          }
          return `<path class="bgp-prefix" data-prefix="${esc(prefix)}" d="${d} L${x(end)},${yb(prev)}" fill="none" stroke="${NODE_PALETTE[(i + 2) % NODE_PALETTE.length] as string}" stroke-width="1" stroke-dasharray="4 2"><title>${esc(prefix)}</title></path>`;
        })
      : [];
  const bgpSvg = svg(
    W,
    bH,
    `<text x="${left - 6}" y="${yb(maxPaths) + 4}" text-anchor="end">${maxPaths}</text><text x="${left - 6}" y="${yb(0)}" text-anchor="end">0</text>` +
      `<path class="bgp-paths" d="${step('paths')}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>` +
      `<path class="bgp-prefixes" d="${step('prefixes')}" fill="none" stroke="#ff7f0e" stroke-width="1.5"/>` +
      prefixLines.join('') +
      axis(bH - 30),
  );

  // Invariants.
  const byInv = new Map<string, string[]>();
  for (const v of r.result.violations) {
    const id = /^t=\d+ms ([A-Z]\d+)/.exec(v)?.[1] ?? '?';
    byInv.set(id, [...(byInv.get(id) ?? []), v]);
  }
  const invariants = (r.lab?.invariants ?? INVARIANTS).map((i) => ({ id: i.id, text: i.text, violations: byInv.get(i.id)?.length ?? 0 }));
  const summary = r.lab?.summary ?? {
    simSeconds: r.result.simSeconds,
    wallSeconds: Number(r.result.wallSeconds.toFixed(2)),
    faults: r.result.faults,
    violations: r.result.violations.length,
  };
  const violations = r.result.violations.length;
  const data = {
    summary,
    options: { seed: r.opts.seed, nodes: r.opts.nodes, services: r.opts.services, durationMs: r.opts.durationMs, kinds: r.opts.kinds },
    command: r.command,
    faultsByKind: r.result.faultsByKind,
    failovers: { count: fo.length, p50: quantile(fo, 0.5), p99: quantile(fo, 0.99), max: quantile(fo, 1), histogram: hist },
    invariants,
    settledChecks: r.result.settledChecks,
    bgp: { changes: series.length, maxPaths: series.length ? maxPaths : 0, maxPrefixes: Math.max(0, ...series.map((p) => p.prefixes)) },
    ipsShown: ips.length,
    ipsTotal: spans.size,
    ...(r.lab ? { lab: r.lab.figures } : {}),
  };
  const title =
    r.lab?.title ??
    `Mooring chaos run: seed ${r.opts.seed}, ${r.opts.nodes} nodes × ${r.opts.services} Services × ${fmtT(r.opts.durationMs)} simulated`;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mooring chaos run: seed ${r.opts.seed}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1040px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
svg{display:block;border:1px solid #eee}svg text{font:10px monospace;fill:#333}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.ok{color:#070}.bad{color:#c00;font-weight:bold}.key{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
pre{background:#f6f6f6;padding:8px;overflow:auto}
</style></head><body>
<h1>${esc(title)}</h1>
<section id="summary"><h2>Summary</h2>
<p class="${violations === 0 ? 'ok' : 'bad'}">${violations === 0 ? 'No invariant broke.' : `${violations} violations.`}
${r.result.faults} faults (${Object.entries(r.result.faultsByKind)
    .map(([k, n]) => `${esc(k)} ${n}`)
    .join(', ')}); ${r.result.settledChecks} settled checks.</p>
<p>Run it again: <code>${esc(r.command)}</code></p>
<pre>${esc(JSON.stringify(summary))}</pre></section>
<section id="schedule"><h2>Fault schedule</h2>${schedSvg}</section>
<section id="owners"><h2>Who answers for each IP</h2><p>${ips.length} of ${spans.size} IPs (the ones that changed most); faults as bands behind.</p><p>${legend}</p>${ownersSvg}</section>
<section id="failovers"><h2>Failover times</h2><p>${fo.length} failovers (${r.lab?.failoverWhat ?? 'SIGKILL → the IP answered again, simulated ms'}): p50 ${data.failovers.p50}, p99 ${data.failovers.p99}, max ${data.failovers.max}. Bars: histogram; red line: CDF (right scale, 0–100 %).</p>${histSvg}</section>
<section id="bgp"><h2>BGP paths at the router</h2><p>${series.length === 0 ? 'No BGP path in this run (no BGPPeer).' : `<span class="key" style="background:#1f77b4"></span>paths (node, prefix), at most ${maxPaths} <span class="key" style="background:#ff7f0e"></span>prefixes with a path`}</p>${bgpSvg}</section>
<section id="invariants"><h2>Invariants (checked after every step)</h2><table><tr><th>invariant</th><th>checks</th><th>violations</th></tr>
${invariants.map((i) => `<tr><td>${i.id}</td><td>${esc(i.text)}</td><td class="${i.violations === 0 ? 'ok' : 'bad'}">${i.violations}</td></tr>`).join('\n')}
</table>${r.result.violations.length > 0 ? `<pre>${esc(r.result.violations.slice(0, 20).join('\n'))}</pre>` : ''}</section>
<script type="application/json" id="data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
</body></html>
`;
}

/** Per prefix: its path count after each change. */
export function prefixSeries(log: readonly LogEntry[]): Map<string, Array<{ at: number; paths: number }>> {
  const out = new Map<string, Array<{ at: number; paths: number }>>();
  for (const e of log) {
    if (e.kind !== 'bgp') continue;
    const pts = out.get(e.prefix) ?? [];
    const n = (pts[pts.length - 1]?.paths ?? 0) + (e.up ? 1 : -1);
    const last = pts[pts.length - 1];
    if (last && last.at === e.at) last.paths = n;
    else pts.push({ at: e.at, paths: n });
    out.set(e.prefix, pts);
  }
  return out;
}

function svg(w: number, h: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">${body}</svg>`;
}

function niceStep(raw: number): number {
  for (const s of [100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000])
    if (s >= raw) return s;
  return 3_600_000;
}

function fmtT(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

function ipCmp(a: string, b: string): number {
  const n = (s: string) => s.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
  return n(a) - n(b) || a.localeCompare(b);
}
