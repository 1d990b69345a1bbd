// L2 owner election (pure): which live, eligible node announces a service IP. MetalLB's order,
// so a cluster migrating from MetalLB keeps every IP on the same node:
//   eligible = some L2Advertisement of the pool selects the node (nodeSelectors), the node is not
//              NetworkUnavailable, not labelled exclude-from-external-load-balancers, its speaker is
//              live, and with externalTrafficPolicy=Local it hosts a serving endpoint;
//   order    = preferredNodeSelectors score descending (weights summed per ad, only over the ad's
//              own nodes), then sha256(nodeName + "#" + firstLbIp) ascending (MetalLB
//              speaker/layer2_controller.go ShouldAnnounce: bytes.Compare of the digests, which
//              is the same as comparing lower-case hex).
// Ours on top: carrier up on an announcing interface, and a draining node is not elected.
// `node:crypto` createHash is used for the digest: hashing is computation, not I/O.
import { createHash } from 'node:crypto';
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
  conflictDetected: 'conflictDetected',
  fencedByEpoch: 'fencedByEpoch',
  notConfigured: 'notConfigured',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export interface ElectionNode {
  readonly name: string;
  readonly labels: Labels;
  /** Node condition NetworkUnavailable=True. */
  readonly networkUnavailable?: boolean;
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
  return createHash('sha256').update(`${node}#${ip}`).digest('hex');
}

/**
 * Node names sorted by electionHash for one IP, memoised. Pure (a cache of a pure function);
 * one instance may be shared by many speakers in a simulation.
 */
export class HashOrder {
  /** (node-list fingerprint + ip) → order. Speakers with equal node lists share entries. */
  private readonly memo = new Map<string, readonly string[]>();
  private readonly prints = new WeakMap<readonly string[], string>();

  ranked(ip: string, names: readonly string[]): readonly string[] {
    const key = `${this.fingerprint(names)}|${ip}`;
    const hit = this.memo.get(key);
    if (hit) return hit;
    const keyed = names.map((n) => ({ n, h: electionHash(n, ip) }));
    keyed.sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
    const order = keyed.map((k) => k.n);
    this.memo.set(key, order);
    return order;
  }

  private fingerprint(names: readonly string[]): string {
    let fp = this.prints.get(names);
    if (fp === undefined) {
      // Order-independent: the same set of nodes in any order shares one entry.
      fp = createHash('sha256').update([...names].sort().join('\n')).digest('base64');
      this.prints.set(names, fp);
    }
    return fp;
  }

  clear(): void {
    this.memo.clear();
  }
}

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
  if (!svc.ads.some((ad) => matchesAny(ad.nodeSelectors, node.labels))) return Reason.noMatchingAdvertisement;
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

/**
 * Elects the owner of a service IP among `nodes` (all known nodes, in any order) and says why `me`
 * is not it. `order` supplies the hash order (share one to memoise across calls).
 */
export function decide(
  svc: ServiceIpView,
  nodes: ReadonlyMap<string, ElectionNode>,
  live: LiveView,
  me: string,
  order: HashOrder,
  names: readonly string[],
  opts: ElectionOptions = {},
): Decision {
  const ranked = order.ranked(svc.firstIp, names);
  const scored = svc.ads.some((ad) => (ad.preferredNodeSelectors?.length ?? 0) > 0);
  let owner: string | undefined;
  let best = -1;
  for (const name of ranked) {
    const n = nodes.get(name);
    if (!n || (name !== me && !live.isLive(name)) || ineligibility(svc, n, live, opts) !== undefined) continue;
    if (!scored) { owner = name; break; }
    const s = preferenceScore(svc, n);
    if (s > best) { best = s; owner = name; }
  }
  if (owner === me) return { owner, reason: undefined };
  const self = nodes.get(me);
  const why = self ? ineligibility(svc, self, live, opts) : Reason.noMatchingAdvertisement;
  return { owner, reason: why ?? Reason.notOwner };
}

/** The full election order (eligible live nodes, best first): for explain/status and tests. */
export function electionOrder(
  svc: ServiceIpView,
  nodes: ReadonlyMap<string, ElectionNode>,
  live: LiveView,
  opts: ElectionOptions = {},
): string[] {
  const eligible = [...nodes.values()].filter((n) => live.isLive(n.name) && ineligibility(svc, n, live, opts) === undefined);
  const keyed = eligible.map((n) => ({ n: n.name, s: preferenceScore(svc, n), h: electionHash(n.name, svc.firstIp) }));
  keyed.sort((a, b) => b.s - a.s || (a.h < b.h ? -1 : a.h > b.h ? 1 : a.n < b.n ? -1 : 1));
  return keyed.map((k) => k.n);
}
