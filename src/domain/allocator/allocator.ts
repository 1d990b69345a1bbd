// The IP allocator (controller side): which addresses each LoadBalancer service holds, with
// MetalLB's semantics (internal/allocator + controller/service.go) made deterministic. Pure: no
// I/O, no clock, no randomness; every choice depends only on the pools, the services and their
// keys, never on arrival or Map order.
//
// Order of choice for a service without addresses (docs/allocator.md has the full rules):
//   1. requested IPs (metallb.io/loadBalancerIPs or spec.loadBalancerIP), checked against pools,
//      serviceAllocation, sharing and the address-pool annotation;
//   2. else the pool named by metallb.io/address-pool (autoAssign does not matter);
//   3. else the pinned pools (serviceAllocation matching the namespace/labels, autoAssign), by
//      priority then name, then the general pools (autoAssign, no serviceAllocation) by name.
// Inside a pool, ranges in the order listed and the lowest usable address first, where "usable"
// includes an address already shared under the same allow-shared-ip key with no port overlap.
import type { Labels } from '../label-selector.js';
import { ChurnMap } from './churn-map.js';
import { formatIp, type IpFamily, type ParsedIp, parseIp } from './ip.js';
import { IP_FAMILIES, kubeFamily, otherFamily } from '../ip-family.js';
import { buildPools, comparePinned, isPinnable, poolRefusal, RangeLookup, type PoolState, type RangeState } from './pool.js';
import { Annotation, readIntent, type ServiceIntent } from './service.js';
import type {
  Allocation,
  AllocatorPool,
  AssignResult,
  ChangeReport,
  PoolStats,
  ReclaimEntry,
  ReclaimReport,
  RefusalCode,
  ServiceKey,
  ServiceRequest,
  SetPoolsResult,
} from './types.js';

/** One address in use, by one service or by several that share it. */
interface IpUse {
  readonly ip: string;
  readonly family: IpFamily;
  readonly value: bigint;
  range: RangeState;
  idx: bigint;
  /** Holders in assignment order: the first inline (almost every address has exactly one), the rest only when shared. */
  owner: Alloc | undefined;
  more: Alloc[] | undefined;
  /** The allow-shared-ip key and backend key every holder agrees on. */
  sharing: string;
  backend: string;
}

interface Alloc {
  readonly key: ServiceKey;
  req: ServiceRequest;
  /** The config epoch at which `req` was last found valid for these addresses; -1 = `req` itself was refused. */
  epoch: number;
  pool: PoolState;
  ips: IpUse[];
  ports: readonly string[];
  sharing: string;
  backend: string;
}

/** An address chosen for a service, not yet committed. */
interface Target {
  readonly range: RangeState;
  readonly idx: bigint;
  readonly family: IpFamily;
  readonly value: bigint;
  readonly use: IpUse | undefined;
}

type Refusal = { ok: false; code: RefusalCode; reason: string };
type Check = { ok: true; pool: PoolState; targets: Target[] } | Refusal;

const MAX_LISTED = 8;

export class Allocator {
  private pools: PoolState[] = [];
  /** Pools with a serviceAllocation that selects something, and the general auto-assign pools. */
  private pinnable: PoolState[] = [];
  private general: PoolState[] = [];
  /** Bumped by every pool or namespace change: an allocation validated at this epoch is still valid. */
  private epoch = 0;
  private byName = new Map<string, PoolState>();
  private lookup = new RangeLookup([]);
  // Addresses and services are released and re-added under the same keys all the time.
  private readonly uses = new ChurnMap<string, IpUse>();
  private readonly allocs = new ChurnMap<ServiceKey, Alloc>();
  /**
   * Addresses held under each (allow-shared-ip key, backend key), with, per port, how many of
   * them have that port taken: when one of a service's ports is taken on every address of its
   * group, none can be shared and the probe skips the scan (many services, one key, same port).
   */
  private readonly shared = new Map<string, ShareGroup>();
  private namespaces = new Map<string, Labels>();
  /** Port lists are shared between services with the same ports (most services look alike). */
  private readonly portLists = new Map<string, readonly string[]>();
  private readonly nsLookup = (ns: string): Labels | undefined => this.namespaces.get(ns);

  // ---------------------------------------------------------------- configuration

  /**
   * Replaces the pool set. Invalid sets (bad entries, duplicate names, overlaps) are refused as
   * a whole and change nothing. Services whose addresses fall outside every pool, straddle two
   * pools or are no longer accepted by their pool's serviceAllocation are released and allocated
   * again (in key order); `autoAssign: false` alone evicts nothing.
   */
  setPools(defs: readonly AllocatorPool[]): SetPoolsResult {
    const built = buildPools(defs);
    if (!built.ok) return built;
    const byName = new Map(built.pools.map((p) => [p.name, p] as const));

    // Where each held address lives under the new pools.
    const home = new Map<IpUse, { range: RangeState; idx: bigint }>();
    for (const use of this.uses.values()) {
      const range = built.lookup.find(use.family, use.value);
      const idx = range?.index.indexOf(use.value);
      if (range && idx !== undefined) home.set(use, { range, idx });
    }
    const evicted: Alloc[] = [];
    const repooled: Array<{ key: ServiceKey; from: string; to: string }> = [];
    const kept: Array<{ alloc: Alloc; pool: PoolState }> = [];
    for (const alloc of this.allocs.values()) {
      const pools = new Set(alloc.ips.map((u) => home.get(u)?.range.pool));
      const [pool] = pools;
      if (pools.size !== 1 || !pool || poolRefusal(pool, alloc.req, this.nsLookup)) evicted.push(alloc);
      else kept.push({ alloc, pool });
    }
    for (const alloc of evicted) this.detach(alloc, false);

    this.pools = built.pools;
    this.pinnable = built.pools.filter((p) => p.autoAssign && isPinnable(p));
    this.general = built.pools.filter((p) => p.autoAssign && !p.def.serviceAllocation);
    this.byName = byName;
    this.lookup = built.lookup;
    this.epoch++;
    for (const use of [...this.uses.values()]) {
      const h = home.get(use);
      if (!h || !use.owner) {
        this.forget(use);
        continue;
      }
      use.range = h.range;
      use.idx = h.idx;
      h.range.free.take(h.idx);
      h.range.pool.inUse[use.family]++;
    }
    for (const { alloc, pool } of kept) {
      if (alloc.pool.name !== pool.name) repooled.push({ key: alloc.key, from: alloc.pool.name, to: pool.name });
      alloc.pool = pool;
      pool.services++;
    }
    repooled.sort((a, b) => cmp(a.key, b.key));
    return { ok: true, moved: this.reallocate(evicted), repooled };
  }

  /** Replaces the namespace labels used by namespaceSelectors; re-checks every allocation. */
  setNamespaces(labelsByName: Readonly<Record<string, Labels>>): ChangeReport {
    this.namespaces = new Map(Object.entries(labelsByName));
    this.epoch++;
    return this.recheck(() => true);
  }

  /** One namespace added, relabelled (labels) or deleted (undefined). */
  setNamespaceLabels(name: string, labels: Labels | undefined): ChangeReport {
    if (labels) this.namespaces.set(name, labels);
    else this.namespaces.delete(name);
    this.epoch++;
    return this.recheck((a) => a.req.namespace === name);
  }

  // ---------------------------------------------------------------- services

  /**
   * Converges one service, as MetalLB's convergeBalancer does: keeps its addresses while they are
   * still valid for the request (same result, `changed: false`), otherwise releases them and
   * allocates again. A refused service holds nothing (see AssignResult for the one exception).
   */
  assign(req: ServiceRequest): AssignResult {
    const cur = this.allocs.get(req.key);
    // Fast path (controller resyncs): the very same request object, no config change since it was
    // validated, and nothing left to try (a PreferDualStack service missing a family retries).
    if (cur && cur.req === req && cur.epoch === this.epoch && !this.missingFamily(cur)) {
      return { ok: true, ips: cur.ips.map((u) => u.ip), pool: cur.pool.name, changed: false };
    }
    const before = cur ? cur.ips.map((u) => u.ip) : [];
    if (this.pools.length === 0) {
      if (cur) this.detach(cur, true);
      return refused('noPools', 'no address pools are configured: create an IPAddressPool', []);
    }
    const intent = readIntent(req);
    if (!intent.ok) {
      if (cur && intent.fallback && this.check(req, intent.fallback, cur.ips, false).ok) {
        this.update(cur, req, intent.fallback);
        cur.epoch = -1; // the request is unreadable: never take the fast path on it
        return refused(intent.code, `${intent.reason} (keeping ${before.join(', ')})`, before);
      }
      if (cur) this.detach(cur, true);
      return refused(intent.code, intent.reason, []);
    }
    const want = intent.value;
    if (cur) {
      const ok = this.check(req, want, cur.ips, false);
      if (ok.ok) {
        this.update(cur, req, want);
        cur.epoch = this.epoch;
        const warning = this.completeDualStack(cur, want);
        const ips = cur.ips.map((u) => u.ip);
        return { ok: true, ips, pool: cur.pool.name, changed: !sameList(before, ips), ...(warning ? { warning } : {}) };
      }
      this.detach(cur, true);
    }
    const res = this.allocate(req, want);
    if (!res.ok) return res;
    const m = want.mode;
    const only = res.ips.length === 1 && m.kind === 'dual' && !m.require ? this.allocs.get(req.key)?.ips[0] : undefined;
    if (only) {
      const warning = `PreferDualStack: pool "${res.pool}" has no free ${kubeFamily(otherFamily(only.family))} address, serving ${kubeFamily(only.family)} only`;
      return { ok: true, ips: res.ips, pool: res.pool, changed: !sameList(before, res.ips), warning };
    }
    if (before.length > 0 && sameList(before, res.ips)) return { ok: true, ips: res.ips, pool: res.pool, changed: false };
    return res;
  }

  /** Frees the service's addresses; false when it held none. */
  release(key: ServiceKey): boolean {
    const cur = this.allocs.get(key);
    if (!cur) return false;
    this.detach(cur, true);
    return true;
  }

  /**
   * Start-up: re-claims the addresses services already hold (status.loadBalancer) before any new
   * allocation, so a controller restart moves nothing. Entries are taken in key order whatever
   * order they come in; an address claimed by two incompatible services goes to the lower key.
   * Then every entry is converged (services whose old addresses were invalid get new ones, and
   * PreferDualStack services may gain their second family).
   */
  reclaim(entries: readonly ReclaimEntry[]): ReclaimReport {
    const sorted = [...entries].sort((a, b) => cmp(a.service.key, b.service.key));
    const kept = new Set<ServiceKey>();
    if (this.pools.length > 0) {
      for (const e of sorted) {
        if (this.allocs.has(e.service.key) || e.ips.length === 0) continue;
        const intent = readIntent(e.service);
        const want = intent.ok ? intent.value : intent.fallback;
        if (!want) continue;
        const parsed = e.ips.map((s) => parseIp(s));
        if (parsed.some((p) => !p)) continue;
        const ok = this.check(e.service, want, parsed as ParsedIp[], false);
        if (!ok.ok) continue;
        this.commit(e.service, want, ok.pool, ok.targets);
        if (!intent.ok) (this.allocs.get(e.service.key) as Alloc).epoch = -1;
        kept.add(e.service.key);
      }
    }
    const results = sorted.map((e) => ({ key: e.service.key, kept: kept.has(e.service.key), result: this.assign(e.service) }));
    return { results };
  }

  // ---------------------------------------------------------------- queries

  get(key: ServiceKey): Allocation | undefined {
    const a = this.allocs.get(key);
    return a ? { key, ips: a.ips.map((u) => u.ip), pool: a.pool.name } : undefined;
  }

  /** Every allocation, sorted by key. */
  list(): Allocation[] {
    return [...this.allocs.keys()].sort(cmp).map((k) => this.get(k) as Allocation);
  }

  /** Services holding an address (sorted), [] when it is free or not an address. */
  servicesOn(ip: string): ServiceKey[] {
    const p = parseIp(ip);
    const use = p ? this.uses.get(formatIp(p.family, p.value)) : undefined;
    return use
      ? holders(use)
          .map((u) => u.key)
          .sort(cmp)
      : [];
  }

  /** The pool an address belongs to (usable addresses only), or undefined. */
  poolOf(ip: string): string | undefined {
    const p = parseIp(ip);
    if (!p) return undefined;
    const r = this.lookup.find(p.family, p.value);
    return r && r.index.indexOf(p.value) !== undefined ? r.pool.name : undefined;
  }

  /** Per pool (sorted by name): services, and per family addresses assigned / total / available. */
  stats(): PoolStats[] {
    // `available` is read from the free-space sets themselves, not derived from `assigned`.
    return this.pools.map((p) => ({
      pool: p.name,
      services: p.services,
      ipv4: { assigned: p.inUse[4], total: p.total[4], available: freeCount(p, 4) },
      ipv6: { assigned: p.inUse[6], total: p.total[6], available: freeCount(p, 6) },
    }));
  }

  /**
   * Recomputes every index from scratch and lists disagreements ([] when consistent). For tests
   * and debugging (`mooringctl`); O(n).
   */
  audit(): string[] {
    const errs: string[] = [];
    const groups = new Map<string, { ips: Set<IpUse>; ports: Map<string, number> }>();
    const inUse = new Map<PoolState, Record<IpFamily, number>>();
    for (const use of this.uses.values()) {
      if (!use.owner) errs.push(`${use.ip}: held by nobody`);
      if (use.range.free.has(use.idx)) errs.push(`${use.ip}: held but free in its range`);
      if (this.lookup.find(use.family, use.value) !== use.range) errs.push(`${use.ip}: stale range`);
      const c = inUse.get(use.range.pool) ?? { 4: 0, 6: 0 };
      c[use.family]++;
      inUse.set(use.range.pool, c);
      if (use.sharing === '') continue;
      const k = groupKey(use.sharing, use.backend);
      const g = groups.get(k) ?? { ips: new Set<IpUse>(), ports: new Map<string, number>() };
      groups.set(k, g);
      g.ips.add(use);
      for (const h of holders(use)) for (const p of h.ports) g.ports.set(p, (g.ports.get(p) ?? 0) + 1);
    }
    for (const p of this.pools) {
      const c = inUse.get(p) ?? { 4: 0, 6: 0 };
      if (c[4] !== p.inUse[4] || c[6] !== p.inUse[6])
        errs.push(`pool ${p.name}: inUse ${JSON.stringify(p.inUse)}, counted ${JSON.stringify(c)}`);
      const services = [...this.allocs.values()].filter((a) => a.pool === p).length;
      if (services !== p.services) errs.push(`pool ${p.name}: services ${p.services}, counted ${services}`);
    }
    const keys = new Set([...groups.keys(), ...this.shared.keys()]);
    for (const k of keys) {
      const want = groups.get(k);
      const got = this.shared.get(k);
      const name = JSON.stringify(k);
      if (!want || !got) {
        errs.push(`share group ${name}: ${want ? 'missing' : 'stale'}`);
        continue;
      }
      if (want.ips.size !== got.ips.size || [...want.ips].some((u) => !got.ips.has(u))) errs.push(`share group ${name}: addresses differ`);
      const ports = new Set([...want.ports.keys(), ...got.ports.keys()]);
      for (const p of ports) {
        if (want.ports.get(p) !== got.ports.get(p))
          errs.push(`share group ${name}: port ${p} counted ${got.ports.get(p)}, expected ${want.ports.get(p)}`);
      }
    }
    return errs;
  }

  // ---------------------------------------------------------------- allocation

  private allocate(req: ServiceRequest, want: ServiceIntent): AssignResult {
    if (want.requested.length > 0) {
      const ok = this.check(req, want, want.requested, true);
      if (!ok.ok) return { ...ok, ips: [] };
      return this.commit(req, want, ok.pool, ok.targets);
    }
    if (want.pool !== '') {
      const pool = this.byName.get(want.pool);
      if (!pool) {
        return refused('unknownPool', `unknown pool "${want.pool}" in ${Annotation.addressPool}: no IPAddressPool has that name`, []);
      }
      const why = poolRefusal(pool, req, this.nsLookup);
      if (why) return refused('poolIncompatible', why, []);
      const pick = this.pick([pool], req.key, want);
      if (!pick)
        return refused(
          'exhausted',
          `pool "${pool.name}" has no free ${this.wanted(want)} address for this service (${this.poolState(pool, want)})`,
          [],
        );
      return this.commit(req, want, pick.pool, pick.targets);
    }
    const pinned =
      this.pinnable.length === 0 ? this.pinnable : this.pinnable.filter((p) => !poolRefusal(p, req, this.nsLookup)).sort(comparePinned);
    const pick = (pinned.length > 0 ? this.pick(pinned, req.key, want) : undefined) ?? this.pick(this.general, req.key, want);
    if (pick) return this.commit(req, want, pick.pool, pick.targets);
    return refused('exhausted', this.exhaustedReason(req, want, [...pinned, ...this.general]), []);
  }

  /** MetalLB's findBestPoolForService, over pools in the given order. */
  private pick(pools: readonly PoolState[], key: ServiceKey, want: ServiceIntent): { pool: PoolState; targets: Target[] } | undefined {
    const mode = want.mode;
    if (mode.kind === 'single') {
      for (const pool of pools) {
        const t = this.probe(pool, mode.family, key, want);
        if (t) return { pool, targets: [t] };
      }
      return undefined;
    }
    let first: { pool: PoolState; targets: Target[] } | undefined;
    let second: { pool: PoolState; targets: Target[] } | undefined;
    for (const pool of pools) {
      const a = this.probe(pool, mode.primary, key, want);
      const b = this.probe(pool, mode.secondary, key, want);
      if (a && b) return { pool, targets: [a, b] };
      if (mode.require) continue;
      if (a && !first) first = { pool, targets: [a] };
      if (b && !second) second = { pool, targets: [b] };
    }
    return first ?? second;
  }

  /** The first usable address of a family in a pool: ranges in listed order, lowest first. */
  private probe(pool: PoolState, family: IpFamily, key: ServiceKey, want: ServiceIntent): Target | undefined {
    let shareable: IpUse[] | undefined;
    const group = want.sharing !== '' ? this.shared.get(groupKey(want.sharing, want.backend)) : undefined;
    if (group && !want.ports.some((p) => group.ports.get(p) === group.ips.size)) {
      for (const use of group.ips) {
        if (use.range.pool !== pool || use.family !== family) continue;
        if (!canShare(use, key, want)) continue;
        (shareable ??= []).push(use);
      }
    }
    for (const range of pool.ranges) {
      if (range.family !== family) continue;
      let best: Target | undefined;
      const free = range.free.first();
      if (free !== undefined) {
        best = { range, idx: free, family, value: range.index.addressAt(free), use: undefined };
      }
      for (const use of shareable ?? []) {
        if (use.range === range && (!best || use.idx < best.idx)) {
          best = { range, idx: use.idx, family, value: use.value, use };
        }
      }
      if (best) return best;
    }
    return undefined;
  }

  /**
   * Can the service hold exactly these addresses? (MetalLB's Assign, plus the checks its
   * convergeBalancer makes on an existing assignment.) `requested` = the addresses come from the
   * request itself, whose families readIntent already checked.
   */
  private check(req: ServiceRequest, want: ServiceIntent, ips: ReadonlyArray<ParsedIp | IpUse>, requested: boolean): Check {
    const targets: Target[] = [];
    let pool: PoolState | undefined;
    for (const p of ips) {
      const known = 'ip' in p ? p : undefined;
      const text = known ? known.ip : formatIp(p.family, p.value);
      const range = this.lookup.find(p.family, p.value);
      if (!range) return refusal('notInPool', `IP ${text} is not in any pool: add it to an IPAddressPool or request another address`);
      const idx = range.index.indexOf(p.value);
      if (idx === undefined) {
        return refusal(
          'notInPool',
          `IP ${text} is in pool "${range.pool.name}", which sets avoidBuggyIPs and so never uses addresses ending in .0 or .255`,
        );
      }
      if (pool && pool !== range.pool) {
        return refusal(
          'notInPool',
          `IPs ${ips.map((x) => formatIp(x.family, x.value)).join(', ')} are in different pools ("${pool.name}", "${range.pool.name}"): a service's addresses must come from one pool`,
        );
      }
      pool = range.pool;
      targets.push({ range, idx, family: p.family, value: p.value, use: known ?? this.uses.get(text) });
    }
    if (!pool) return refusal('invalidRequest', 'no address given');
    if (!requested) {
      const fams = targets.map((t) => t.family);
      const m = want.mode;
      const fits =
        m.kind === 'single'
          ? fams.length === 1 && fams[0] === m.family
          : (fams.length === 2 && fams[0] !== fams[1]) || (!m.require && fams.length === 1);
      if (!fits) {
        return refusal(
          'familyMismatch',
          `addresses ${targets.map((t) => formatIp(t.family, t.value)).join(', ')} do not fit the service's ipFamilies/ipFamilyPolicy`,
        );
      }
    }
    const why = poolRefusal(pool, req, this.nsLookup);
    if (why) return refusal('poolIncompatible', why);
    for (const t of targets) {
      const share = t.use && this.shareRefusal(t.use, req.key, want);
      if (share) return refusal('notShareable', share);
    }
    if (want.pool !== '' && want.pool !== pool.name) {
      return refusal(
        'poolIncompatible',
        `IP(s) ${targets.map((t) => formatIp(t.family, t.value)).join(', ')} are in pool "${pool.name}", not in pool "${want.pool}" requested by ${Annotation.addressPool}`,
      );
    }
    if (!requested && want.requested.length > 0) {
      const have = new Set(targets.map((t) => formatIp(t.family, t.value)));
      const asked = want.requested.map((r) => formatIp(r.family, r.value));
      if (asked.length !== have.size || asked.some((a) => !have.has(a))) {
        return refusal('invalidRequest', `${want.requestedFrom ?? 'requested IPs'} asks for ${asked.join(', ')}`);
      }
    }
    return { ok: true, pool, targets };
  }

  /** Why `key` may not hold this address next to its current holders (MetalLB checkSharing). */
  private shareRefusal(use: IpUse, key: ServiceKey, want: ServiceIntent): string | undefined {
    if (!use.owner || (!use.more && use.owner.key === key)) return undefined; // free, or a sole owner (which may change its key)
    const others = holders(use).filter((u) => u.key !== key);
    const first = others[0];
    if (!first) return undefined;
    const head = `IP ${use.ip} in use by ${list(others.map((o) => o.key))} and not shareable`;
    if (use.sharing === '') return `${head}: ${first.key} has no ${Annotation.allowSharedIP} annotation`;
    if (want.sharing === '') return `${head}: this service has no ${Annotation.allowSharedIP} annotation (theirs is "${use.sharing}")`;
    if (want.sharing !== use.sharing) return `${head}: allow-shared-ip key "${want.sharing}" does not match "${use.sharing}"`;
    if (want.backend !== use.backend) {
      return `${head}: with externalTrafficPolicy Local, services sharing an IP need the same pod selector (theirs "${use.backend}", this one "${want.backend}")`;
    }
    for (const port of want.ports) {
      for (const o of others) {
        if (o.ports.includes(port)) return `IP ${use.ip} in use by ${o.key} and not shareable: port ${port} overlaps`;
      }
    }
    return undefined;
  }

  private commit(req: ServiceRequest, want: ServiceIntent, pool: PoolState, targets: readonly Target[]): AssignResult {
    const alloc: Alloc = {
      key: req.key,
      req,
      epoch: this.epoch,
      pool,
      ips: [],
      ports: this.internPorts(want.ports),
      sharing: want.sharing,
      backend: want.backend,
    };
    for (const t of targets) alloc.ips.push(this.attach(alloc, t));
    this.allocs.set(req.key, alloc);
    pool.services++;
    return { ok: true, ips: alloc.ips.map((u) => u.ip), pool: pool.name, changed: true };
  }

  private attach(alloc: Alloc, t: Target): IpUse {
    let use = t.use ?? this.uses.get(formatIp(t.family, t.value));
    if (!use) {
      use = {
        ip: formatIp(t.family, t.value),
        family: t.family,
        value: t.value,
        range: t.range,
        idx: t.idx,
        owner: undefined,
        more: undefined,
        sharing: alloc.sharing,
        backend: alloc.backend,
      };
      t.range.free.take(t.idx);
      t.range.pool.inUse[t.family]++;
      this.uses.set(use.ip, use);
      use.owner = alloc;
      this.index(use);
      return use;
    }
    if (!use.owner) use.owner = alloc;
    else (use.more ??= []).push(alloc);
    this.countPorts(use, alloc.ports, 1);
    return use;
  }

  /** Removes a service from its addresses; `free` returns unheld addresses to their range. */
  private detach(alloc: Alloc, free: boolean): void {
    for (const use of alloc.ips) {
      this.countPorts(use, alloc.ports, -1);
      removeHolder(use, alloc);
      if (free && !use.owner) {
        use.range.free.give(use.idx);
        use.range.pool.inUse[use.family]--;
        this.forget(use);
      }
    }
    alloc.pool.services--;
    this.allocs.delete(alloc.key);
  }

  private forget(use: IpUse): void {
    this.uses.delete(use.ip);
    this.unindex(use);
  }

  /** A valid allocation takes the request's new ports and keys; a sole owner re-keys its addresses. */
  private update(cur: Alloc, req: ServiceRequest, want: ServiceIntent): void {
    const moving: IpUse[] = [];
    for (const use of cur.ips) {
      if (!use.more && (use.sharing !== want.sharing || use.backend !== want.backend)) moving.push(use);
    }
    // Take this service's old ports out of the port counts, switch, put the new ones in.
    for (const use of cur.ips) {
      if (moving.includes(use)) this.unindex(use);
      else this.countPorts(use, cur.ports, -1);
    }
    cur.ports = this.internPorts(want.ports);
    for (const use of cur.ips) {
      if (moving.includes(use)) {
        use.sharing = want.sharing;
        use.backend = want.backend;
        this.index(use);
      } else this.countPorts(use, cur.ports, 1);
    }
    cur.req = req;
    cur.sharing = want.sharing;
    cur.backend = want.backend;
  }

  private internPorts(ports: readonly string[]): readonly string[] {
    const sig = ports.join(',');
    const hit = this.portLists.get(sig);
    if (hit) return hit;
    if (this.portLists.size < 4096) this.portLists.set(sig, ports);
    return ports;
  }

  /** A PreferDualStack dual-family service holding one address (it retries the other family). */
  private missingFamily(cur: Alloc): boolean {
    return cur.ips.length === 1 && cur.req.ipFamilyPolicy === 'PreferDualStack' && cur.req.ipFamilies.length === 2;
  }

  /** PreferDualStack with one address: try the missing family from the same pool. */
  private completeDualStack(cur: Alloc, want: ServiceIntent): string | undefined {
    const m = want.mode;
    const only = cur.ips[0];
    if (m.kind !== 'dual' || m.require || cur.ips.length !== 1 || !only) return undefined;
    const missing = otherFamily(only.family);
    const t = this.probe(cur.pool, missing, cur.key, want);
    if (!t)
      return `PreferDualStack: pool "${cur.pool.name}" has no free ${kubeFamily(missing)} address, serving ${kubeFamily(only.family)} only`;
    const use = this.attach(cur, t);
    cur.ips = m.primary === missing ? [use, only] : [only, use];
    return undefined;
  }

  private index(use: IpUse): void {
    if (use.sharing === '') return;
    const k = groupKey(use.sharing, use.backend);
    let group = this.shared.get(k);
    if (!group) this.shared.set(k, (group = { ips: new Set(), ports: new Map() }));
    group.ips.add(use);
    for (const h of holders(use)) this.countPorts(use, h.ports, 1);
  }

  private unindex(use: IpUse): void {
    const k = groupKey(use.sharing, use.backend);
    const group = this.shared.get(k);
    if (!group || !group.ips.has(use)) return;
    for (const h of holders(use)) this.countPorts(use, h.ports, -1);
    group.ips.delete(use);
    if (group.ips.size === 0) this.shared.delete(k);
  }

  /** Ports of one holder taken (+1) or given back (-1) on an address, in its share group. */
  private countPorts(use: IpUse, ports: readonly string[], delta: 1 | -1): void {
    if (use.sharing === '' || ports.length === 0) return;
    const group = this.shared.get(groupKey(use.sharing, use.backend));
    if (!group || !group.ips.has(use)) return;
    for (const p of ports) {
      const n = (group.ports.get(p) ?? 0) + delta;
      if (n === 0) group.ports.delete(p);
      else group.ports.set(p, n);
    }
  }

  /** Releases allocations (in scope) that their pool no longer accepts, then allocates them again in key order. */
  private recheck(scope: (a: Alloc) => boolean): ChangeReport {
    const bad: Alloc[] = [];
    for (const a of this.allocs.values()) {
      if (scope(a) && poolRefusal(a.pool, a.req, this.nsLookup)) bad.push(a);
    }
    for (const a of bad) this.detach(a, true);
    return { moved: this.reallocate(bad), repooled: [] };
  }

  private reallocate(evicted: readonly Alloc[]): ChangeReport['moved'] {
    return [...evicted]
      .sort((a, b) => cmp(a.key, b.key))
      .map((a) => ({ key: a.key, from: a.ips.map((u) => u.ip), result: this.assign(a.req) }));
  }

  // ---------------------------------------------------------------- messages

  private wanted(want: ServiceIntent): string {
    const m = want.mode;
    if (m.kind === 'single') return kubeFamily(m.family);
    return m.require ? 'IPv4+IPv6 pair of' : `${kubeFamily(m.primary)} or ${kubeFamily(m.secondary)}`;
  }

  private poolState(pool: PoolState, want: ServiceIntent): string {
    const fams: readonly IpFamily[] = want.mode.kind === 'single' ? [want.mode.family] : IP_FAMILIES;
    return fams
      .map((f) => (pool.total[f] === 0n ? `no ${kubeFamily(f)} range` : `${kubeFamily(f)} ${pool.inUse[f]}/${pool.total[f]} in use`))
      .join(', ');
  }

  private exhaustedReason(req: ServiceRequest, want: ServiceIntent, tried: readonly PoolState[]): string {
    const triedSet = new Set(tried);
    const skipped: string[] = [];
    for (const p of this.pools) {
      if (triedSet.has(p)) continue;
      if (!p.autoAssign) skipped.push(`"${p.name}" (autoAssign: false)`);
      else if (p.def.serviceAllocation && !isPinnable(p))
        skipped.push(`"${p.name}" (serviceAllocation selects no namespace or service; use ${Annotation.addressPool})`);
      else skipped.push(`"${p.name}" (${poolRefusal(p, req, this.nsLookup) ?? 'not eligible'})`);
    }
    const head = `no available ${this.wanted(want)} address`;
    const t =
      tried.length > 0
        ? `pools tried: ${list(tried.map((p) => `"${p.name}" (${this.poolState(p, want)})`))}`
        : 'no pool is eligible for this service';
    return skipped.length > 0 ? `${head}; ${t}; not eligible: ${list(skipped)}` : `${head}; ${t}`;
  }
}

interface ShareGroup {
  readonly ips: Set<IpUse>;
  /** port -> number of addresses in the group where a holder uses it (holders never overlap). */
  readonly ports: Map<string, number>;
}

function groupKey(sharing: string, backend: string): string {
  return `${sharing}\u0000${backend}`;
}

/** shareRefusal(...) === undefined, without building messages or arrays (the probe's hot loop). */
function canShare(use: IpUse, key: ServiceKey, want: ServiceIntent): boolean {
  const others = use.more;
  if (!use.owner || (!others && use.owner.key === key)) return true;
  // Incompatible keys are fine only for a sole holder, handled above.
  if (use.sharing === '' || want.sharing !== use.sharing || want.backend !== use.backend) return false;
  const clash = (o: Alloc): boolean => o.key !== key && want.ports.some((p) => o.ports.includes(p));
  if (clash(use.owner)) return false;
  return !others || !others.some(clash);
}

function holders(use: IpUse): Alloc[] {
  if (!use.owner) return [];
  return use.more ? [use.owner, ...use.more] : [use.owner];
}

function removeHolder(use: IpUse, a: Alloc): void {
  if (use.owner === a) {
    use.owner = use.more?.shift();
  } else if (use.more) {
    const i = use.more.indexOf(a);
    if (i >= 0) use.more.splice(i, 1);
  }
  if (use.more?.length === 0) use.more = undefined;
}

function freeCount(p: PoolState, f: IpFamily): bigint {
  let n = 0n;
  for (const r of p.ranges) if (r.family === f) n += r.free.count;
  return n;
}

function refused(code: RefusalCode, reason: string, ips: readonly string[]): AssignResult {
  return { ok: false, code, reason, ips };
}

function refusal(code: RefusalCode, reason: string): Refusal {
  return { ok: false, code, reason };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function list(items: readonly string[]): string {
  if (items.length <= MAX_LISTED) return items.join(', ');
  return `${items.slice(0, MAX_LISTED).join(', ')} and ${items.length - MAX_LISTED} more`;
}
