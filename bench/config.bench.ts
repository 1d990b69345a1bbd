// `npm run bench:config`: the config path at scale (issue 20). Generates N IPAddressPools (one
// 2001:db8::/32 /64 each, documentation space: pure data, never reaches a network) plus one
// L2Advertisement and one BGPAdvertisement that select every pool and one BGPPeer, then times
// `parseConfig` on the objects and the `mooringctl validate` path (YAML text → loadManifests →
// parseConfig; "validate" includes the YAML parse, measured alone as "YAML load"). Prints a table
// and one JSON line. Measures, never asserts times. Sizes: BENCH_CONFIG_SIZES=1000,4000,...
import { performance } from 'node:perf_hooks';
import { availableParallelism, loadavg } from 'node:os';
import { parseConfig } from '../src/domain/config.js';
import { loadManifests } from '../src/domain/manifests.js';

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

interface Row {
  pools: number;
  parseMs: number;
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
  const y = timed(() => loadManifests([{ file: 'bench.yaml', text }]));
  const v = timed(() => {
    const l = loadManifests([{ file: 'bench.yaml', text }]);
    return parseConfig(l.snapshot);
  });
  if (!v.value.ok || v.value.config.pools.length !== n) throw new Error('validate path lost pools');
  rows.push({ pools: n, parseMs: p.ms, yamlMs: y.ms, validateMs: v.ms, validateCpuMs: v.cpuMs, perPoolUs: (v.ms * 1000) / n });
}

console.log(`config bench: ${availableParallelism()} cpus, load ${loadavg()[0]?.toFixed(2)}`);
console.log('pools    parseConfig ms   YAML load ms   validate ms   validate CPU ms   validate µs/pool');
for (const r of rows)
  console.log(
    `${String(r.pools).padEnd(8)} ${r.parseMs.toFixed(1).padStart(14)} ${r.yamlMs.toFixed(1).padStart(14)} ${r.validateMs.toFixed(1).padStart(13)} ${r.validateCpuMs.toFixed(1).padStart(17)} ${r.perPoolUs.toFixed(1).padStart(18)}`,
  );
const at = (n: number) => rows.find((r) => r.pools === n);
const r4 = at(4000);
const r36 = at(36000);
console.log(
  JSON.stringify({
    pools10kMs: at(10000) ? Math.round(at(10000)!.validateMs) : null,
    pools10kCpuMs: at(10000) ? Math.round(at(10000)!.validateCpuMs) : null,
    pools36kMs: r36 ? Math.round(r36.validateMs) : null,
    ratio36kVs4kPerPool: r4 && r36 ? Number((r36.perPoolUs / r4.perPoolUs).toFixed(2)) : null,
  }),
);
