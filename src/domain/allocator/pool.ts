// Pools as the allocator holds them: parsed ranges with their free space, per-family counters,
// and the serviceAllocation rules (which namespaces and services may draw from a pool).
import { matchesAny, type Labels } from '../label-selector.js';
import { IntervalSet } from './interval-set.js';
import { parseAddressEntry, RangeIndex, formatIp, type IpFamily } from './ip.js';
import { IP_FAMILIES } from '../ip-family.js';
import type { AllocatorPool, ServiceRequest } from './types.js';

export interface RangeState {
  readonly pool: PoolState;
  readonly family: IpFamily;
  readonly index: RangeIndex;
  readonly free: IntervalSet;
}

export interface PoolState {
  readonly name: string;
  readonly def: AllocatorPool;
  readonly autoAssign: boolean;
  /** Ranges in the order the pool lists them (MetalLB walks them in that order). */
  readonly ranges: RangeState[];
  readonly total: Record<IpFamily, bigint>;
  readonly inUse: Record<IpFamily, number>;
  services: number;
}

/** All ranges of one family across pools, sorted, for address -> range lookups. */
export class RangeLookup {
  private readonly byFamily: Record<IpFamily, RangeState[]> = { 4: [], 6: [] };

  constructor(pools: readonly PoolState[]) {
    for (const p of pools) for (const r of p.ranges) this.byFamily[r.family].push(r);
    for (const f of IP_FAMILIES) {
      this.byFamily[f].sort((a, b) => (a.index.range.first < b.index.range.first ? -1 : 1));
    }
  }

  /** The range that holds this address, whether or not the address is usable (buggy) there. */
  find(family: IpFamily, value: bigint): RangeState | undefined {
    const rs = this.byFamily[family];
    let lo = 0,
      hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid] as RangeState;
      if (value < r.index.range.first) hi = mid - 1;
      else if (value > r.index.range.last) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  /** Overlap check: the first pair of ranges that share an address, as a message. */
  overlap(): string | undefined {
    for (const f of IP_FAMILIES) {
      const rs = this.byFamily[f];
      for (let i = 1; i < rs.length; i++) {
        const a = rs[i - 1] as RangeState;
        const b = rs[i] as RangeState;
        if (b.index.range.first <= a.index.range.last) {
          return `"${b.index.range.source}" in pool "${b.pool.name}" overlaps with "${a.index.range.source}" in pool "${a.pool.name}" (they share ${formatIp(f, b.index.range.first)})`;
        }
      }
    }
    return undefined;
  }
}

export type BuildResult = { ok: true; pools: PoolState[]; lookup: RangeLookup } | { ok: false; reason: string };

/** Parses and validates a whole pool set (names unique, entries valid, no overlaps). Never throws. */
export function buildPools(defs: readonly AllocatorPool[]): BuildResult {
  const pools: PoolState[] = [];
  const names = new Set<string>();
  for (const def of defs) {
    if (!def.name) return { ok: false, reason: 'an address pool has no name' };
    if (names.has(def.name)) return { ok: false, reason: `duplicate definition of pool "${def.name}"` };
    names.add(def.name);
    if (def.addresses.length === 0) return { ok: false, reason: `pool "${def.name}" has no addresses defined` };
    const pool: PoolState = {
      name: def.name,
      def,
      autoAssign: def.autoAssign ?? true,
      ranges: [],
      total: { 4: 0n, 6: 0n },
      inUse: { 4: 0, 6: 0 },
      services: 0,
    };
    for (const entry of def.addresses) {
      const r = parseAddressEntry(entry);
      if (!r.ok) return { ok: false, reason: `pool "${def.name}": ${r.error}` };
      const index = new RangeIndex(r.value, def.avoidBuggyIPs ?? false);
      pool.ranges.push({ pool, family: r.value.family, index, free: new IntervalSet(index.size) });
      pool.total[r.value.family] += index.size;
    }
    const pr = def.serviceAllocation?.priority ?? 0;
    if (!Number.isInteger(pr) || pr < 0)
      return { ok: false, reason: `pool "${def.name}": serviceAllocation.priority must be a non-negative integer` };
    pools.push(pool);
  }
  pools.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lookup = new RangeLookup(pools);
  const overlap = lookup.overlap();
  if (overlap) return { ok: false, reason: overlap };
  return { ok: true, pools, lookup };
}

/** MetalLB puts a pool with a serviceAllocation only in the "pinned" lists, never in the general fallback. */
export function isPinnable(p: PoolState): boolean {
  const sa = p.def.serviceAllocation;
  if (!sa) return false;
  return restrictsNamespaces(p) || (sa.serviceSelectors?.length ?? 0) > 0;
}

function restrictsNamespaces(p: PoolState): boolean {
  const sa = p.def.serviceAllocation;
  return (sa?.namespaces?.length ?? 0) > 0 || (sa?.namespaceSelectors?.length ?? 0) > 0;
}

/**
 * Why this pool refuses the service (serviceAllocation namespaces/namespaceSelectors and
 * serviceSelectors), or undefined when it accepts it. Deliberate difference from MetalLB: a pool
 * whose namespaceSelectors match no namespace accepts no namespace (MetalLB then accepts all).
 */
export function poolRefusal(p: PoolState, req: ServiceRequest, nsLabels: (ns: string) => Labels | undefined): string | undefined {
  const sa = p.def.serviceAllocation;
  if (!sa) return undefined;
  if (restrictsNamespaces(p)) {
    const inList = (sa.namespaces ?? []).includes(req.namespace);
    const sels = sa.namespaceSelectors ?? [];
    const bySelector = sels.length > 0 && matchesAny(sels, nsLabels(req.namespace) ?? {});
    if (!inList && !bySelector) {
      return `pool "${p.name}" does not accept services from namespace "${req.namespace}" (serviceAllocation.namespaces/namespaceSelectors)`;
    }
  }
  const svcSels = sa.serviceSelectors ?? [];
  if (svcSels.length > 0 && !matchesAny(svcSels, req.labels ?? {})) {
    return `pool "${p.name}" does not accept service ${req.key}: its labels match none of serviceAllocation.serviceSelectors`;
  }
  return undefined;
}

/** Pinned pools first by priority (1 before 2, 0 = unset last), then by name: never random. */
export function comparePinned(a: PoolState, b: PoolState): number {
  const pa = a.def.serviceAllocation?.priority ?? 0;
  const pb = b.def.serviceAllocation?.priority ?? 0;
  if (pa !== pb) {
    if (pa === 0) return 1;
    if (pb === 0) return -1;
    return pa - pb;
  }
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
