/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The visualizer page (docs/visualizer.md), bundled by esbuild and served by `mooring viz`.
// Plain DOM, no framework: a cluster view (nodes, Service IPs with owner and standby order, BGP and
// BFD sessions), a machine view (the statechart laid out server-side from the XState definition,
// current state lit, history), a timeline, and a scrubber over time (live: it follows the end).
import { VizModel, apiSessionText, compareIps, inputAt, type VizInput } from '../domain/viz-model.js';
import type { MachineKind } from '../domain/state-feed.js';
import type { Chart } from '../actors/viz-charts.js';

interface Selected {
  node: string;
  machine: MachineKind;
  id: string;
}

const CSS = `
body{font:13px system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{display:flex;gap:12px;align-items:center;padding:8px 12px;background:#1d2430;color:#fff;position:sticky;top:0;z-index:2}
header h1{font-size:15px;margin:0} header input[type=range]{flex:1} #clock{font-variant-numeric:tabular-nums;min-width:150px}
main{display:grid;grid-template-columns:minmax(420px,1fr) minmax(420px,1fr);gap:12px;padding:12px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:8px 10px;overflow:auto}
h2{font-size:13px;margin:2px 0 8px;text-transform:uppercase;letter-spacing:.05em;color:#556}
.node{display:inline-block;vertical-align:top;border:1px solid #ccd;border-radius:5px;padding:6px 8px;margin:0 8px 8px 0;min-width:170px}
.node[data-up=false]{background:#fde8e8;border-color:#e99} .node b{font-size:14px}
.up{color:#187a2f}.down{color:#b3261e} table{border-collapse:collapse;width:100%} td,th{padding:2px 6px;border-bottom:1px solid #eef;text-align:left;white-space:nowrap}
tr[data-ip]{cursor:pointer} tr.sel{background:#e6f0ff} .owner{font-weight:600;color:#187a2f} .none{color:#b3261e}
.standby span{margin-right:8px;color:#555} .nofeed,.note{color:#8a5a00} .api{color:#556;font-size:12px} #ips-wrap,#allocs-wrap{max-height:420px;overflow:auto}
svg .state rect{fill:#fff;stroke:#8895a7;rx:6} svg .state.compound rect{fill:#f3f5f8} svg .state.lit rect{fill:#ffe27a;stroke:#b58900;stroke-width:2}
svg .state text{font-size:12px} svg path{fill:none;stroke:#9aa6b5} svg .edge text{font-size:9px;fill:#667}
#timeline li.failover{color:#0b57d0} #timeline li.flap{color:#b3261e} #timeline li.nats{color:#8a5a00} #timeline li.cause{color:#555}
ol,ul{margin:0;padding-left:28px} .hist{max-height:180px;overflow:auto;font-family:ui-monospace,monospace;font-size:12px}
`;

const $ = <T extends Element = HTMLElement>(sel: string): T => document.querySelector(sel) as T;
const el = (tag: string, attrs: Record<string, string> = {}, text?: string): HTMLElement => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};
const SVG = 'http://www.w3.org/2000/svg';
const svgEl = (tag: string, attrs: Record<string, string | number>): SVGElement => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
};

let inputs: VizInput[] = [];
let model = new VizModel();
let mode: 'live' | 'replay' = 'live';
let follow = true;
let cursor = 0;
let t0 = 0;
let charts: Chart[] = [];
let selected: Selected | undefined;
let selectedIp: string | undefined;
const rows = new Map<string, HTMLTableRowElement>();
const lat: number[] = [];
let pendingLat: number[] = [];
let renderQueued = false;
let full = true;
(window as unknown as { __viz: unknown }).__viz = { lat, model: () => model, inputs: () => inputs };

function layout(): void {
  document.head.append(el('style', {}, CSS));
  const app = $('#app');
  app.textContent = '';
  app.innerHTML = `<header><h1>Mooring</h1><span id="mode"></span><span id="clock"></span>
<input id="scrub" type="range" min="0" max="0" value="0" step="1" aria-label="time"><label><input id="follow" type="checkbox" checked> live</label></header>
<main><div><section id="cluster"><h2>Nodes</h2><div id="nodes"></div></section>
<section><h2>Service IPs</h2><div id="ips-wrap"><table id="ips"><thead><tr><th>IP</th><th>Service</th><th>Owner</th><th>Standby (election order) and why not announcing</th></tr></thead><tbody></tbody></table></div></section>
<section><h2>Pools (apiserver)</h2><p id="api-none">the apiserver is not read (mooring viz reads it with a kubeconfig or in the cluster)</p><p id="api-problems"></p><table id="pools"><thead><tr><th>Pool</th><th>Addresses</th><th>Assigned</th></tr></thead><tbody></tbody></table></section>
<section><h2>Allocations (controller)</h2><div id="allocs-wrap"><p id="allocs-none">no allocation reported (the controller publishes them with --nats-url)</p><table id="allocs"><thead><tr><th>Service</th><th>IPs</th><th>Pool and why, or why none</th></tr></thead><tbody></tbody></table></div></section></div>
<div><section id="machine"><h2>Machine</h2><div id="machine-title">select an IP or a session</div><div id="chart"></div><div id="ip-detail"></div><div class="hist" id="history"></div></section>
<section><h2>Timeline</h2><ol id="timeline" reversed></ol></section></div></main>`;
  $<HTMLInputElement>('#scrub').addEventListener('input', (e) => {
    const v = Number((e.target as HTMLInputElement).value);
    follow = v >= Number((e.target as HTMLInputElement).max);
    $<HTMLInputElement>('#follow').checked = follow;
    rebuild(t0 + v);
  });
  $<HTMLInputElement>('#follow').addEventListener('change', (e) => {
    follow = (e.target as HTMLInputElement).checked;
    if (follow) rebuild(Infinity);
  });
  $('#ips tbody').addEventListener('click', (e) => {
    const tr = (e.target as HTMLElement).closest('tr');
    const node = (e.target as HTMLElement).closest('[data-node]')?.getAttribute('data-node');
    const ip = tr?.getAttribute('data-ip');
    if (!ip) return;
    selectedIp = ip;
    const owner = node ?? model.owners(ip)[0] ?? model.ipRow(ip).others[0]?.node;
    if (owner) select({ node: owner, machine: 'serviceIp', id: ip });
  });
  $('#nodes').addEventListener('click', (e) => {
    const m = (e.target as HTMLElement).closest('[data-machine]');
    if (!m) return;
    selectedIp = undefined;
    select({
      node: m.getAttribute('data-node') ?? '',
      machine: m.getAttribute('data-machine') as MachineKind,
      id: m.getAttribute('data-id') ?? '',
    });
  });
}

/** Folds the inputs up to time `upTo` into a fresh model. */
function rebuild(upTo: number): void {
  model = new VizModel();
  cursor = 0;
  for (; cursor < inputs.length; cursor++) {
    const x = inputs[cursor] as VizInput;
    const at = inputAt(x);
    if (at !== undefined && at > upTo) break;
    model.apply(x);
  }
  if (upTo !== Infinity) model.now = upTo;
  full = true;
  queueRender();
}

function receive(batch: VizInput[]): void {
  for (const x of batch) inputs.push(x);
  if (!follow) return updateScrub();
  for (; cursor < inputs.length; cursor++) {
    const x = inputs[cursor] as VizInput;
    model.apply(x);
    if (x.t === 'tr' && mode === 'live') pendingLat.push(x.r.at);
  }
  queueRender();
}

function queueRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
    const now = Date.now();
    for (const at of pendingLat) lat.push(now - at);
    pendingLat = [];
  });
}

function updateScrub(): void {
  const s = $<HTMLInputElement>('#scrub');
  let first = Infinity;
  let last = -Infinity;
  for (const x of inputs) {
    const at = inputAt(x);
    if (at === undefined) continue;
    if (at < first) first = at;
    if (at > last) last = at;
  }
  if (first === Infinity) return;
  t0 = first;
  s.max = String(Math.ceil(last - first));
  if (follow) s.value = s.max;
}

function fmtTime(ms: number): string {
  return ms > 1e12 ? new Date(ms).toISOString().slice(11, 23) : `t=${(ms / 1000).toFixed(3)}s`;
}

function render(): void {
  updateScrub();
  $('#mode').textContent = mode === 'replay' ? 'replay' : 'live';
  $('#clock').textContent = fmtTime(model.now);
  if (model.clusterChanged) full = true; // the apiserver's view touches every row
  renderNodes();
  renderIps();
  renderApi();
  renderAllocs();
  renderMachine();
  renderTimeline();
  full = false;
}

function renderNodes(): void {
  const box = $('#nodes');
  box.textContent = '';
  for (const name of model.nodeNames()) {
    const h = model.nodes.get(name);
    const info = model.nodeInfo(name);
    const up = h?.up !== false;
    const d = el('div', { class: 'node', 'data-node': name, 'data-up': String(up), 'data-feed': String(!info.noFeed) });
    d.append(el('b', {}, name), el('span', { class: up ? 'up' : 'down' }, info.noFeed ? '' : up ? ' up' : ' down'));
    if (info.api) {
      const a = info.api;
      const flags = [
        a.ready ? 'Ready' : 'not Ready',
        ...(a.networkUnavailable ? ['NetworkUnavailable'] : []),
        ...(a.excluded ? ['excluded'] : []),
      ];
      d.append(
        el('div', { class: 'api' }, `apiserver: ${flags.join(', ')}; speaker config ${a.speaker}; L2 ${a.l2}, BGP ${a.bgp} Services`),
      );
    }
    if (info.noFeed) {
      d.append(el('div', { class: 'nofeed' }, info.noFeed));
      if (info.sessions && info.sessions.length > 0) {
        // No feed, so no machines: the sessions as its speaker wrote them to the apiserver (BGPSessionState).
        const ul = el('ul', { class: 'bgpSession api-sessions', title: 'read from the apiserver (BGPSessionState)' });
        for (const x of info.sessions) {
          const li = el('li', { 'data-api-session': x.peer, 'data-node': name, 'data-state': x.bgp, 'data-bfd': x.bfd });
          li.append(
            el('b', {}, `BGP ${x.peer}${x.peerAddress ? ` ${x.peerAddress}` : ''}${x.vrf ? ` (VRF ${x.vrf})` : ''}`),
            document.createTextNode(`: ${apiSessionText(x)}`),
          );
          li.append(el('span', { class: 'api' }, ' [apiserver]'));
          ul.append(li);
        }
        d.append(el('div', { class: 'api' }, 'BGP sessions, read from the apiserver (BGPSessionState):'), ul);
      }
      box.append(d);
      continue;
    }
    const ips = model.ofKind(name, 'serviceIp');
    d.append(
      el(
        'div',
        {},
        `${ips.filter((v) => v.state === 'announcing').length} announcing / ${ips.length} serviceIp${up ? '' : ' (last known)'}`,
      ),
    );
    for (const [kind, title] of [
      ['bgpSession', 'BGP'],
      ['bfdSession', 'BFD'],
    ] as const) {
      const ms = model.ofKind(name, kind);
      if (ms.length === 0) continue;
      const ul = el('ul', { class: kind });
      for (const m of ms) {
        const lastDown = [...m.history].reverse().find((r) => r.reason)?.reason ?? m.reason;
        const li = el('li', { 'data-machine': kind, 'data-node': name, 'data-id': m.id, 'data-state': m.state });
        li.append(el('a', { href: '#' }, `${title} ${m.id}`), document.createTextNode(`: ${m.state}`));
        if (lastDown) li.append(el('span', { class: 'down-reason' }, ` (last down: ${lastDown})`));
        ul.append(li);
      }
      d.append(ul);
    }
    box.append(d);
  }
}

function renderIps(): void {
  const tbody = $('#ips tbody');
  const ips = full ? model.ips() : [...model.changed].sort(compareIps);
  if (full) {
    tbody.textContent = '';
    rows.clear();
  }
  const known = full ? undefined : new Set(model.ips());
  for (const ip of ips) {
    if (known && !known.has(ip)) {
      // Its Service is gone: no node has its machine any more.
      rows.get(ip)?.remove();
      rows.delete(ip);
      continue;
    }
    const r = model.ipRow(ip);
    let tr = rows.get(ip);
    if (!tr) {
      tr = el('tr', { 'data-ip': ip }) as HTMLTableRowElement;
      rows.set(ip, tr);
      const next = [...rows.keys()].sort(compareIps).indexOf(ip);
      const before = tbody.children[next] ?? null;
      tbody.insertBefore(tr, before);
    }
    tr.textContent = '';
    tr.append(
      el('td', {}, ip),
      el('td', { class: 'service', ...(r.pool ? { 'data-pool': r.pool } : {}) }, `${r.service}${r.pool ? ` (pool ${r.pool})` : ''}`),
    );
    const ownerText = r.owners.join(', ') || (r.l2Status ? `${r.l2Status} (ServiceL2Status)` : r.bgp.length ? 'BGP' : 'none');
    tr.append(
      el(
        'td',
        { class: r.owners.length || r.l2Status || r.bgp.length ? 'owner' : 'owner none', 'data-owner': r.owners.join(',') },
        ownerText,
      ),
    );
    const sb = el('td', { class: 'standby' });
    if (r.note) sb.append(el('span', { class: 'note' }, r.note));
    if (r.bgp.length) sb.append(el('span', { class: 'bgp' }, `BGP: ${r.bgp.join('; ')}`));
    for (const o of r.others)
      sb.append(
        el(
          'span',
          { 'data-node': o.node },
          o.state === 'none' ? `${o.node}: no state reported` : `${o.node}: ${o.state}${o.reason ? ` (${o.reason})` : ''}`,
        ),
      );
    tr.append(sb);
    tr.classList.toggle('sel', ip === selectedIp);
  }
  model.changed.clear();
}

function renderApi(): void {
  if (!full && !model.clusterChanged) return;
  model.clusterChanged = false;
  const c = model.cluster;
  $('#api-none').hidden = c !== undefined;
  $('#api-problems').textContent = c?.problems.length ? `cannot read: ${c.problems.join('; ')}` : '';
  const tbody = $('#pools tbody');
  tbody.textContent = '';
  for (const p of c?.status.pools ?? []) {
    const tr = el('tr', { 'data-pool': p.name });
    tr.append(
      el('td', {}, p.name),
      el('td', {}, p.addresses.join(', ')),
      el(
        'td',
        {},
        `${p.assignedIPv4}/${p.assignedIPv4 + p.availableIPv4} IPv4, ${p.assignedIPv6} IPv6${p.autoAssign ? '' : ', no auto-assign'}`,
      ),
    );
    tbody.append(tr);
  }
}

function renderAllocs(): void {
  if (!full && !model.allocChanged) return;
  model.allocChanged = false;
  const all = model.allocations();
  $('#allocs-none').hidden = all.length > 0;
  const tbody = $('#allocs tbody');
  tbody.textContent = '';
  for (const a of all) {
    const tr = el('tr', { 'data-service': a.id, 'data-ips': a.state });
    tr.append(
      el('td', {}, a.id),
      el('td', { class: a.state ? 'ips' : 'ips none' }, a.state ? a.state.split(',').join(', ') : 'none'),
      el('td', { class: 'why' }, a.reason ?? ''),
    );
    tbody.append(tr);
  }
}

function select(s: Selected): void {
  selected = s;
  renderMachine();
  for (const [ip, tr] of rows) tr.classList.toggle('sel', ip === selectedIp);
}

let drawn: string | undefined;
function renderMachine(): void {
  if (!selected) return;
  const { node, machine, id } = selected;
  const v = model.view(node, machine, id);
  $('#machine-title').textContent = `${machine} ${id} on ${node}: ${v?.state ?? 'unknown'}${v?.reason ? ` (${v.reason})` : ''}`;
  const chart = charts.find((c) => c.machine === machine);
  const box = $('#chart');
  if (chart && drawn !== machine) {
    box.textContent = '';
    box.append(drawChart(chart));
    drawn = machine;
  }
  box.setAttribute('data-machine', machine);
  box.setAttribute('data-node', node);
  box.setAttribute('data-id', id);
  for (const g of box.querySelectorAll('g.state')) {
    const key = g.getAttribute('data-state');
    g.classList.toggle('lit', v !== undefined && (key === v.state || g.getAttribute('data-path')?.endsWith(`.${v.state}`) === true));
  }
  const hist = $('#history');
  hist.textContent = '';
  const ol = el('ol');
  for (const r of v?.history ?? [])
    ol.append(el('li', {}, `${fmtTime(r.at)} ${r.from} → ${r.to}${r.event ? ` on ${r.event}` : ''}${r.reason ? ` (${r.reason})` : ''}`));
  hist.append(ol);
  const det = $('#ip-detail');
  det.textContent = '';
  if (machine === 'serviceIp') {
    det.append(el('div', {}, `owners of ${id} over time:`));
    const seq = el('ol', { class: 'owner-seq', 'data-ip': id });
    for (const n of model.ownerHistory.get(id) ?? []) seq.append(el('li', {}, n));
    det.append(seq);
  }
}

function drawChart(c: Chart): SVGElement {
  const svg = svgEl('svg', { width: '100%', viewBox: `0 0 ${c.width + 20} ${c.height + 20}`, 'data-chart': c.machine });
  const root = svgEl('g', { transform: 'translate(10,10)' });
  for (const n of c.nodes) {
    const g = svgEl('g', { class: `state${n.compound ? ' compound' : ''}`, 'data-state': n.key, 'data-path': n.id });
    g.append(svgEl('rect', { x: n.x, y: n.y, width: n.w, height: n.h }));
    const t = svgEl('text', {
      x: n.x + (n.compound ? 6 : n.w / 2),
      y: n.y + (n.compound ? 15 : n.h / 2 + 4),
      'text-anchor': n.compound ? 'start' : 'middle',
    });
    t.textContent = n.key;
    g.append(t);
    root.append(g);
  }
  for (const e of c.edges) {
    if (e.points.length < 2) continue;
    const g = svgEl('g', { class: 'edge' });
    g.append(svgEl('path', { d: e.points.map(([x, y], i) => `${i ? 'L' : 'M'}${x},${y}`).join(' '), 'marker-end': 'url(#arrow)' }));
    const mid = e.points[Math.floor(e.points.length / 2)] as readonly [number, number];
    const t = svgEl('text', { x: mid[0] + 3, y: mid[1] - 3 });
    t.textContent = e.label;
    g.append(t);
    root.append(g);
  }
  const defs = svgEl('defs', {});
  const marker = svgEl('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto' });
  marker.append(svgEl('path', { d: 'M0,0 L10,5 L0,10 z', style: 'fill:#9aa6b5' }));
  defs.append(marker);
  svg.append(defs, root);
  return svg;
}

let shownTimeline = -1;
function renderTimeline(): void {
  if (!full && shownTimeline === model.timeline.length) return;
  shownTimeline = model.timeline.length;
  const ol = $('#timeline');
  ol.textContent = '';
  for (const it of model.timeline.slice(-200).reverse()) {
    const dur =
      it.until !== undefined ? `, ${Math.round(it.until - it.at)} ms` : it.kind === 'flap' || it.kind === 'nats' ? ', ongoing' : '';
    ol.append(el('li', { class: it.kind, ...(it.ip ? { 'data-ip': it.ip } : {}) }, `${fmtTime(it.at)} ${it.kind}: ${it.text}${dur}`));
  }
}

async function main(): Promise<void> {
  layout();
  charts = (await (await fetch('charts.json')).json()) as Chart[];
  const es = new EventSource('events');
  es.addEventListener('init', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { mode: 'live' | 'replay'; inputs: VizInput[] };
    mode = d.mode;
    inputs = d.inputs;
    document.body.setAttribute('data-mode', mode);
    rebuild(Infinity);
    document.body.setAttribute('data-ready', 'true');
  });
  es.onmessage = (e) => receive(JSON.parse(e.data as string) as VizInput[]);
}

void main();
