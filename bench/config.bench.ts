// `npm run bench:config`: the config path at scale (issue 20). Generates N IPAddressPools (one
// 2001:db8::/32 /64 each, documentation space: pure data, never reaches a network) plus one
// L2Advertisement and one BGPAdvertisement that select every pool and one BGPPeer, then times
// `parseConfig` on the objects, the controller's parse path (its configSnapshot of the informer
// objects → parseConfig → the allocator taking the pools), and the `mooringctl validate` path
// (YAML text → loadManifests → parseConfig; "validate" includes the YAML parse, measured alone as
// "YAML load"). Prints a table and one JSON line. Measures, never asserts times.
// Sizes: BENCH_CONFIG_SIZES=1000,4000,...
//
// Then the pool-entry parser against ip-cidr (issue 20: use it or say why not): the same CIDRs
// through both (µs per entry, same results required), and a table of entries where they disagree
// (ranges, zones, IPv4-mapped prefixes, messages). ip-cidr is a devDependency for this comparison only.
import { performance } from 'node:perf_hooks';
import { availableParallelism, loadavg } from 'node:os';
import { parseConfig } from '../src/domain/config.js';
import { loadManifests } from '../src/domain/manifests.js';
import { Allocator } from '../src/domain/allocator/index.js';
import { toAllocatorPools } from '../src/domain/lb-service.js';
import { configSnapshot } from '../src/actors/service-reconciler.js';
import { KINDS } from '../src/api/metallb.js';
import type { KubeObject, ObjectSource } from '../src/actors/kube-ports.js';
import IPCIDR from 'ip-cidr';
import { formatIp, parseAddressEntry } from '../src/domain/allocator/index.js';

const SIZES = (process.env.BENCH_CONFIG_SIZES ?? '1000,4000,10000,36000').split(',').map(Number);

function manifest(n: number): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    docs.push(
      `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: pool-${i}\n  namespace: metallb-system\n  labels:\n    tier: t${i % 7}\nspec:\n  addresses:\n    - 2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64\n`,
    );
  }
  docs.push('apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: l2-all\n  namespace: metallb-system\nspec: {}\n');
  docs.push('apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata:\n  name: bgp-all\n  namespace: metallb-system\nspec: {}\n');
  docs.push(
    'apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata:\n  name: router\n  namespace: metallb-system\nspec:\n  myASN: 64512\n  peerASN: 64513\n  peerAddress: 2001:db8::1\n',
  );
  return docs.join('---\n');
}

/** Wall and CPU milliseconds (CPU: this process; on a shared machine wall time includes waiting for a core). */
function timed<T>(f: () => T): { value: T; ms: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const c = process.cpuUsage(c0);
  return { value, ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

/** An informer's cache as the controller sees it (objects as the apiserver returns them: no apiVersion/kind). */
function source(objects: KubeObject[]): ObjectSource {
  return { list: () => objects, get: () => undefined, onChange: () => undefined } as unknown as ObjectSource;
}

/** The controller's full-pass config step (ServiceReconciler.applyConfig without the status writes). */
function controllerParse(sources: Array<{ kind: string; source: ObjectSource }>, namespaces: ObjectSource): number {
  const { objects, namespaces: ns } = configSnapshot(sources, namespaces);
  const res = parseConfig({ objects, namespaces: ns, namespace: 'metallb-system' });
  if (!res.ok) throw new Error('controller path: config invalid');
  const set = new Allocator().setPools(toAllocatorPools(res.config));
  if (!set.ok) throw new Error(`controller path: pools refused: ${set.reason}`);
  return res.config.pools.length;
}

interface Row {
  pools: number;
  parseMs: number;
  controllerMs: number;
  controllerCpuMs: number;
  yamlMs: number;
  validateMs: number;
  validateCpuMs: number;
  perPoolUs: number;
}
const rows: Row[] = [];
for (const n of SIZES) {
  const text = manifest(n);
  const loaded = loadManifests([{ file: 'bench.yaml', text }]);
  const p = timed(() => parseConfig(loaded.snapshot));
  if (!p.value.ok) throw new Error(`generated config invalid: ${JSON.stringify(p.value.errors.slice(0, 3))}`);
  const byKind = new Map<string, KubeObject[]>();
  for (const o of loaded.snapshot.objects) {
    const { apiVersion: _a, kind, ...rest } = o as Record<string, unknown>;
    const list = byKind.get(String(kind)) ?? [];
    list.push(rest as KubeObject);
    byKind.set(String(kind), list);
  }
  const sources = KINDS.map((k) => ({ kind: k.kind, source: source(byKind.get(k.kind) ?? []) }));
  const c = timed(() => controllerParse(sources, source([])));
  if (c.value !== n) throw new Error('controller path lost pools');
  const y = timed(() => loadManifests([{ file: 'bench.yaml', text }]));
  const v = timed(() => {
    const l = loadManifests([{ file: 'bench.yaml', text }]);
    return parseConfig(l.snapshot);
  });
  if (!v.value.ok || v.value.config.pools.length !== n) throw new Error('validate path lost pools');
  rows.push({
    pools: n,
    parseMs: p.ms,
    controllerMs: c.ms,
    controllerCpuMs: c.cpuMs,
    yamlMs: y.ms,
    validateMs: v.ms,
    validateCpuMs: v.cpuMs,
    perPoolUs: (v.ms * 1000) / n,
  });
}

console.log(`config bench: ${availableParallelism()} cpus, load ${loadavg()[0]?.toFixed(2)}`);
console.log('pools    parseConfig ms   controller ms   YAML load ms   validate ms   validate CPU ms   validate µs/pool');
for (const r of rows)
  console.log(
    `${String(r.pools).padEnd(8)} ${r.parseMs.toFixed(1).padStart(14)} ${r.controllerMs.toFixed(1).padStart(15)} ${r.yamlMs.toFixed(1).padStart(14)} ${r.validateMs.toFixed(1).padStart(13)} ${r.validateCpuMs.toFixed(1).padStart(17)} ${r.perPoolUs.toFixed(1).padStart(18)}`,
  );
const at = (n: number) => rows.find((r) => r.pools === n);
const r4 = at(4000);
const r36 = at(36000);
// ---- pool entries: our parser against ip-cidr ----
const CIDRS = Number(process.env.BENCH_CIDR_ENTRIES ?? 20000);
const entries = Array.from({ length: CIDRS }, (_, i) =>
  i % 2 ? `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64` : `198.51.${(i >> 8) & 255}.${i & 255}/32`,
);
function oursSpan(): bigint {
  let s = 0n;
  for (const e of entries) {
    const r = parseAddressEntry(e);
    if (!r.ok) throw new Error(r.error);
    s += r.value.last - r.value.first + 1n;
  }
  return s;
}
function ipCidrSpan(): bigint {
  let s = 0n;
  for (const e of entries) {
    const c = new IPCIDR(e);
    s += c.end<bigint>({ type: 'bigInteger' }) - c.start<bigint>({ type: 'bigInteger' }) + 1n;
  }
  return s;
}
oursSpan(); // warm both up
ipCidrSpan();
const ours = timed(oursSpan);
const theirs = timed(ipCidrSpan);
if (ours.value !== theirs.value) throw new Error('ip-cidr and our parser disagree on the benchmark entries');
const oursUs = (ours.cpuMs * 1000) / CIDRS;
const ipCidrUs = (theirs.cpuMs * 1000) / CIDRS;

/** What each parser makes of an entry: "first..last", or why not. */
function ourView(e: string): string {
  const r = parseAddressEntry(e);
  return r.ok ? `${formatIp(r.value.family, r.value.first)}..${formatIp(r.value.family, r.value.last)}` : `refused: ${r.error}`;
}
function ipCidrView(e: string): string {
  try {
    if (!IPCIDR.isValidCIDR(e)) return 'refused (no reason given)';
    const c = new IPCIDR(e);
    const f = (x: bigint, v6: boolean) => formatIp(v6 ? 6 : 4, x);
    const v6 = e.includes(':');
    return `${f(c.start<bigint>({ type: 'bigInteger' }), v6)}..${f(c.end<bigint>({ type: 'bigInteger' }), v6)}`;
  } catch (err) {
    return `throws: ${String(err)}`;
  }
}
const tricky = [
  '198.51.100.10-198.51.100.20',
  '2001:db8::10-2001:db8::ff',
  '2001:db8::%eth0/64',
  '::ffff:198.51.100.0/120',
  '198.51.100.0/33',
  '2001:db8::/129',
  '2001:db8::1-2001:db8::',
  '198.51.100.0/24',
  '0.0.0.0/0',
  '::/0',
  '2001:db8::1/128',
];
console.log(
  `\npool entries (${CIDRS} CIDRs, half IPv4 /32, half IPv6 /64): ours ${oursUs.toFixed(2)} µs CPU each, ip-cidr ${ipCidrUs.toFixed(2)} µs`,
);
console.log(`${'entry'.padEnd(30)} ${'ours'.padEnd(72)} ip-cidr`);
let disagreements = 0;
for (const e of tricky) {
  const [a, b] = [ourView(e), ipCidrView(e)];
  if (a !== b) disagreements++;
  console.log(`${e.padEnd(30)} ${a.padEnd(72)} ${b}${a === b ? '' : '   ≠'}`);
}
console.log(
  JSON.stringify({
    pools10kMs: at(10000) ? Math.round(at(10000)!.validateMs) : null,
    pools10kParseMs: at(10000) ? Math.round(at(10000)!.controllerMs) : null,
    pools10kParseCpuMs: at(10000) ? Math.round(at(10000)!.controllerCpuMs) : null,
    pools10kCpuMs: at(10000) ? Math.round(at(10000)!.validateCpuMs) : null,
    pools36kMs: r36 ? Math.round(r36.validateMs) : null,
    ratio36kVs4kPerPool: r4 && r36 ? Number((r36.perPoolUs / r4.perPoolUs).toFixed(2)) : null,
    cidrParseUsOurs: Number(oursUs.toFixed(2)),
    cidrParseUsIpCidr: Number(ipCidrUs.toFixed(2)),
    ipCidrSlowdown: Number((ipCidrUs / oursUs).toFixed(1)),
    ipCidrDisagreements: `${disagreements}/${tricky.length}`,
  }),
);
