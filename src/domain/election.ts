// L2 owner election (pure): which live, eligible node announces a service IP. MetalLB's order,
// so a cluster migrating from MetalLB keeps every IP on the same node:
//   eligible = some L2Advertisement of the pool selects the node (nodeSelectors), the node is not
//              NetworkUnavailable, not labelled exclude-from-external-load-balancers, its speaker is
//              live, and with externalTrafficPolicy=Local it hosts a serving endpoint;
//   order    = preferredNodeSelectors score descending (weights summed per ad, only over the ad's
//              own nodes), then sha256(nodeName + "#" + firstLbIp) ascending (MetalLB
//              speaker/layer2_controller.go ShouldAnnounce: bytes.Compare of the digests, which
//              is the same as comparing lower-case hex).
// Ours on top: carrier up on an announcing interface, and a draining node is not elected; a
// cordoned node (spec.unschedulable, as `kubectl drain` leaves it) is elected only when no
// uncordoned node is eligible, so a drain moves its IPs away (make-before-break, as a SIGTERM).
// `node:crypto` hash is used for the digest: hashing is computation, not I/O.
import { hash } from 'node:crypto';
import { matchesAny, matchesSelector, type LabelSelector, type Labels } from './label-selector.js';

export const EXCLUDE_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

/** Why a node does not announce an IP. MetalLB's names where MetalLB has one, then ours. */
export const Reason = {
  notOwner: 'notOwner',
  noMatchingAdvertisement: 'noMatchingAdvertisement',
  noServingEndpoints: 'noServingEndpoints',
  noLocalEndpoints: 'noLocalEndpoints',
  nodeExcluded: 'nodeExcluded',
  networkUnavailable: 'networkUnavailable',
  carrierDown: 'carrierDown',
  draining: 'draining',
  natsDisconnected: 'natsDisconnected',
  /** Connected to NATS, hearing peers before taking anything over (resync window; after start, until the NATS cluster is known formed). */
  natsSettling: 'natsSettling',
  conflictDetected: 'conflictDetected',
  fencedByEpoch: 'fencedByEpoch',
  /** Elected, waiting for the live current owner to hand the IP over (failback, config moves). */
  handoverPending: 'handoverPending',
  notConfigured: 'notConfigured',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export interface ElectionNode {
  readonly name: string;
  readonly labels: Labels;
  /** Node condition NetworkUnavailable=True. */
  readonly networkUnavailable?: boolean;
  /** spec.unschedulable (cordoned): ranked after every uncordoned node. */
  readonly unschedulable?: boolean;
}

export interface PreferredNodeSelector {
  /** 1..100 (validated by the CRD schema). */
  readonly weight: number;
  readonly preference: LabelSelector;
}

/** The parts of an L2Advertisement the election reads (only ads that apply to the service). */
export interface L2AdView {
  readonly name: string;
  readonly nodeSelectors?: readonly LabelSelector[];
  readonly preferredNodeSelectors?: readonly PreferredNodeSelector[];
}

export interface ServiceIpView {
  /** First LB IP of the service: the hash key, so every IP of a dual-stack service lands on one node. */
  readonly firstIp: string;
  /** L2Advertisements that target the service's pool and match it by serviceSelectors. */
  readonly ads: readonly L2AdView[];
  readonly etpLocal: boolean;
  /** Nodes hosting at least one serving endpoint (EndpointSlice conditions). */
  readonly endpointNodes: ReadonlySet<string>;
}

/** Dynamic facts about nodes, from membership (speaker live, carrier, draining). */
export interface LiveView {
  isLive(node: string): boolean;
  carrierUp(node: string): boolean;
  draining(node: string): boolean;
}

export interface ElectionOptions {
  /** MetalLB's --ignore-exclude-lb. */
  readonly ignoreExcludeLB?: boolean;
}

/** sha256(node + "#" + ip) in lower-case hex. */
export function electionHash(node: string, ip: string): string {
  return hash('sha256', `${node}#${ip}`, 'hex');
}

/** How many best-ranked nodes are kept per IP; the full order is computed only if a walk needs more. */
const TOP = 8;

interface Ranking {
  top: readonly string[];
  full?: readonly string[];
}

/**
 * Node names sorted by electionHash for one IP, memoised. Pure (a cache of a pure function);
 * one instance may be shared by many speakers in a simulation. Only the first `TOP` names are
 * kept (one pass over the hashes, no full sort): an election almost always stops at the first
 * or second; `ranked` computes and keeps the full order when asked for more.
 */
export class HashOrder {
  /** node-list fingerprint → ip → ranking. Speakers with equal node lists share entries. */
  private readonly memo = new Map<string, Map<string, Ranking>>();
  private readonly prints = new WeakMap<readonly string[], Map<string, Ranking>>();

  /** The best `atLeast` names (all when omitted or when there are fewer), best first. */
  ranked(ip: string, names: readonly string[], atLeast = Infinity): readonly string[] {
    const byIp = this.table(names);
    let r = byIp.get(ip);
    if (r === undefined) {
      r = { top: topByHash(ip, names, TOP) };
      if (r.top.length === names.length) r.full = r.top;
      byIp.set(ip, r);
    }
    if (atLeast <= r.top.length) return r.top;
    r.full ??= topByHash(ip, names, names.length);
    return r.full;
  }

  private table(names: readonly string[]): Map<string, Ranking> {
    let t = this.prints.get(names);
    if (t === undefined) {
      // Order-independent: the same set of nodes in any order shares one table.
      const fp = hash('sha256', [...names].sort().join('\n'), 'base64');
      t = this.memo.get(fp);
      if (t === undefined) {
        t = new Map();
        this.memo.set(fp, t);
      }
      this.prints.set(names, t);
    }
    return t;
  }

  clear(): void {
    for (const t of this.memo.values()) t.clear();
  }
}

/**
 * The `k` names with the lowest electionHash for `ip`, in order (ties by name). The digest is
 * taken as 'binary' (latin1, one char per byte): string order = byte order = hex order, at half
 * the length. One-shot `hash` is ~3× faster than createHash for short input.
 */
function topByHash(ip: string, names: readonly string[], k: number): string[] {
  const before = (h1: string, n1: string, h2: string, n2: string): boolean => h1 < h2 || (h1 === h2 && n1 < n2);
  if (k >= names.length) {
    const keyed = names.map((n) => ({ n, h: hash('sha256', `${n}#${ip}`, 'binary') }));
    keyed.sort((a, b) => (before(a.h, a.n, b.h, b.n) ? -1 : before(b.h, b.n, a.h, a.n) ? 1 : 0));
    return keyed.map((x) => x.n);
  }
  // Insertion into a sorted buffer of k: one pass, ~one comparison per name.
  const hs: string[] = [];
  const ns: string[] = [];
  for (const n of names) {
    const h = hash('sha256', `${n}#${ip}`, 'binary');
    if (hs.length === k && !before(h, n, hs[k - 1] as string, ns[k - 1] as string)) continue;
    let i = hs.length === k ? k - 1 : hs.length;
    while (i > 0 && before(h, n, hs[i - 1] as string, ns[i - 1] as string)) {
      hs[i] = hs[i - 1] as string;
      ns[i] = ns[i - 1] as string;
      i--;
    }
    hs[i] = h;
    ns[i] = n;
  }
  return ns;
}

/** Above any sum of preference weights (each 1..100, a handful of ads). */
const UNCORDONED = 1e9;

/** Preference score of a node for a service: weights summed over ads that select the node. */
export function preferenceScore(svc: ServiceIpView, node: ElectionNode): number {
  let score = 0;
  for (const ad of svc.ads) {
    if (!ad.preferredNodeSelectors?.length || !matchesAny(ad.nodeSelectors, node.labels)) continue;
    for (const p of ad.preferredNodeSelectors) if (matchesSelector(p.preference, node.labels)) score += p.weight;
  }
  return score;
}

/**
 * Why `node` may not announce the service (undefined = eligible). Checks in MetalLB's order, then
 * ours; the first failing check is the reason reported.
 */
export function ineligibility(svc: ServiceIpView, node: ElectionNode, live: LiveView, opts: ElectionOptions = {}): Reason | undefined {
  if (svc.endpointNodes.size === 0) return Reason.noServingEndpoints;
  let selected = false;
  for (const ad of svc.ads)
    if (matchesAny(ad.nodeSelectors, node.labels)) {
      selected = true;
      break;
    }
  if (!selected) return Reason.noMatchingAdvertisement;
  if (node.networkUnavailable) return Reason.networkUnavailable;
  if (!opts.ignoreExcludeLB && Object.prototype.hasOwnProperty.call(node.labels, EXCLUDE_LB_LABEL)) return Reason.nodeExcluded;
  if (svc.etpLocal && !svc.endpointNodes.has(node.name)) return Reason.noLocalEndpoints;
  if (!live.carrierUp(node.name)) return Reason.carrierDown;
  if (live.draining(node.name)) return Reason.draining;
  return undefined;
}

export interface Decision {
  /** The elected node, if any node is eligible and live. */
  readonly owner: string | undefined;
  /** Why `me` does not announce (undefined when `me` is the owner). */
  readonly reason: Reason | undefined;
}

/** One election's inputs (one object: seven positional parameters were too easy to swap). */
export interface Election {
  /** The service IP being elected. */
  readonly svc: ServiceIpView;
  /** All known nodes, in any order. */
  readonly nodes: ReadonlyMap<string, ElectionNode>;
  readonly live: LiveView;
  /** The node asking: it counts as live for itself. */
  readonly me: string;
  /** Supplies the hash order (share one to memoise across calls). */
  readonly order: HashOrder;
  /** The names of `nodes`, the order's input. */
  readonly names: readonly string[];
  readonly opts?: ElectionOptions;
}

/** The elected owner of a service IP, if any node is eligible and live. */
export function electOwner({ svc, nodes, live, me, order, names, opts = {} }: Election): string | undefined {
  let scored = false;
  for (const ad of svc.ads)
    if ((ad.preferredNodeSelectors?.length ?? 0) > 0) {
      scored = true;
      break;
    }
  // Without preferences the first eligible node in hash order wins: usually among the top few.
  // A cordoned node is only the fallback: the first eligible uncordoned node wins.
  if (!scored) {
    let cordoned: string | undefined;
    let ranked = order.ranked(svc.firstIp, names, 1);
    for (let i = 0; i < names.length; i++) {
      if (i === ranked.length) ranked = order.ranked(svc.firstIp, names);
      const name = ranked[i] as string;
      const n = nodes.get(name);
      if (!n || (name !== me && !live.isLive(name)) || ineligibility(svc, n, live, opts) !== undefined) continue;
      if (!n.unschedulable) return name;
      cordoned ??= name;
    }
    return cordoned;
  }
  let owner: string | undefined;
  let best = -1;
  for (const name of order.ranked(svc.firstIp, names)) {
    const n = nodes.get(name);
    if (!n || (name !== me && !live.isLive(name)) || ineligibility(svc, n, live, opts) !== undefined) continue;
    // Uncordoned first (by a margin above any score), then the preference score.
    const s = preferenceScore(svc, n) + (n.unschedulable ? 0 : UNCORDONED);
    if (s > best) {
      best = s;
      owner = name;
    }
  }
  return owner;
}

/** Why `me` does not announce the service, given the elected `owner`. */
export function reasonFor(
  { svc, nodes, live, me, opts = {} }: Omit<Election, 'order' | 'names'>,
  owner: string | undefined,
): Reason | undefined {
  if (owner === me) return undefined;
  const self = nodes.get(me);
  const why = self ? ineligibility(svc, self, live, opts) : Reason.noMatchingAdvertisement;
  return why ?? Reason.notOwner;
}

/** Elects the owner of a service IP and says why `me` is not it. */
export function decide(e: Election): Decision {
  const owner = electOwner(e);
  return { owner, reason: reasonFor(e, owner) };
}

/** The full election order (eligible live nodes, best first): for explain/status and tests. */
export function electionOrder(
  svc: ServiceIpView,
  nodes: ReadonlyMap<string, ElectionNode>,
  live: LiveView,
  opts: ElectionOptions = {},
): string[] {
  const eligible = [...nodes.values()].filter((n) => live.isLive(n.name) && ineligibility(svc, n, live, opts) === undefined);
  const keyed = eligible.map((n) => ({
    n: n.name,
    s: preferenceScore(svc, n) + (n.unschedulable ? 0 : UNCORDONED),
    h: electionHash(n.name, svc.firstIp),
  }));
  keyed.sort((a, b) => b.s - a.s || (a.h < b.h ? -1 : a.h > b.h ? 1 : a.n < b.n ? -1 : 1));
  return keyed.map((k) => k.n);
}
