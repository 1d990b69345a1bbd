// BGP advertisements (pure): from the advertisement config, the service IPs this node may
// announce and the node itself, compute the routes each peer should hold (MetalLB
// bgp_controller semantics), and diff them against what a session has already sent.
//
// - An advertisement applies to a service IP when its pool is listed (or the list is empty), its
//   nodeSelectors match this node, its serviceSelectors match the service, and the peer is listed
//   (or `peers` is empty). The peer itself must select this node (BGPPeer nodeSelectors).
// - ETP=Local services are announced only from nodes with a local ready endpoint.
// - The prefix is the IP masked to aggregationLength (v4, default 32) / aggregationLengthV6
//   (default 128); LOCAL_PREF only on iBGP sessions; communities are unioned when several
//   advertisements yield the same prefix for a peer.
// - asPathPrepend n puts the session's local AS n extra times in front of the AS_PATH (as
//   frr-k8s's `set as-path prepend last-as n` does for a locally originated route).
// - A BGPPeer's localASN (local-as … no-prepend replace-as) replaces myASN for that session: the
//   OPEN carries it, iBGP/eBGP is decided against it, and it alone fills the AS_PATH.
import {
  AsSegment,
  canonicalPrefix,
  parseCommunity,
  parseLargeCommunity,
  type AsPathSegment,
  type LargeCommunity,
} from '../codecs/bgp/index.js';
import { matchesAny, type LabelSelector, type Labels } from './label-selector.js';

export interface AdvPeer {
  readonly name: string;
  /** The session's local AS: BGPPeer localASN when set, else myASN (sessionLocalAsn). */
  readonly myAsn: number;
  readonly peerAsn: number;
  readonly nodeSelectors?: readonly LabelSelector[];
}

export interface AdvSpec {
  readonly name: string;
  /** Pools this advertisement covers; empty or absent = all. */
  readonly pools?: readonly string[];
  readonly aggregationLength?: number;
  readonly aggregationLengthV6?: number;
  readonly localPref?: number;
  /** 1-10: extra copies of the local AS in front of the AS_PATH. */
  readonly asPathPrepend?: number;
  /** Resolved community values ("65000:100", "NO_EXPORT", "large:1:2:3"); aliases resolved by config. */
  readonly communities?: readonly string[];
  readonly peers?: readonly string[];
  readonly nodeSelectors?: readonly LabelSelector[];
  readonly serviceSelectors?: readonly LabelSelector[];
}

export interface AdvService {
  /** "namespace/name". */
  readonly key: string;
  readonly ips: readonly string[];
  readonly pool: string;
  readonly labels?: Labels;
  readonly externalTrafficPolicyLocal?: boolean;
  readonly hasLocalEndpoints?: boolean;
}

export interface AdvNode {
  readonly name: string;
  readonly labels?: Labels;
}

export interface RouteAttrs {
  readonly localPref?: number;
  readonly asPathPrepend?: number;
  /** Sorted, unique. */
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

/** peer name → prefix → attributes. */
export type DesiredRoutes = Map<string, Map<string, RouteAttrs>>;

function aggregate(ip: string, spec: AdvSpec): string | undefined {
  const v6 = ip.includes(':');
  const len = v6 ? (spec.aggregationLengthV6 ?? 128) : (spec.aggregationLength ?? 32);
  return canonicalPrefix(`${ip}/${len}`);
}

function merge(a: RouteAttrs | undefined, b: RouteAttrs): RouteAttrs {
  if (!a) return b;
  const communities = [...new Set([...a.communities, ...b.communities])].sort((x, y) => x - y);
  const lk = (c: LargeCommunity) => c.join(':');
  const large = new Map([...a.largeCommunities, ...b.largeCommunities].map((c) => [lk(c), c]));
  const largeCommunities = [...large.values()].sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
  // Config validation guarantees agreeing LOCAL_PREF; keep the higher if not.
  const localPref = a.localPref === undefined ? b.localPref : b.localPref === undefined ? a.localPref : Math.max(a.localPref, b.localPref);
  // Likewise for asPathPrepend (BGPAdvertisementsHaveCompatibleAsPathPrepend): keep the longer.
  const asPathPrepend = Math.max(a.asPathPrepend ?? 0, b.asPathPrepend ?? 0);
  return {
    ...(localPref !== undefined ? { localPref } : {}),
    ...(asPathPrepend > 0 ? { asPathPrepend } : {}),
    communities,
    largeCommunities,
  };
}

export function attrsOf(spec: AdvSpec, ibgp: boolean): RouteAttrs {
  const communities: number[] = [];
  const largeCommunities: LargeCommunity[] = [];
  for (const c of spec.communities ?? []) {
    if (c.startsWith('large:')) {
      const l = parseLargeCommunity(c);
      if (l) largeCommunities.push(l);
    } else {
      const n = parseCommunity(c);
      if (n !== undefined) communities.push(n);
    }
  }
  return merge(undefined, {
    ...(ibgp && spec.localPref !== undefined ? { localPref: spec.localPref } : {}),
    ...(spec.asPathPrepend ? { asPathPrepend: spec.asPathPrepend } : {}),
    communities: [...new Set(communities)].sort((x, y) => x - y),
    largeCommunities,
  });
}

export function desiredRoutes(input: {
  node: AdvNode;
  peers: readonly AdvPeer[];
  advertisements: readonly AdvSpec[];
  services: readonly AdvService[];
}): DesiredRoutes {
  const out: DesiredRoutes = new Map();
  for (const peer of input.peers) {
    const routes = new Map<string, RouteAttrs>();
    out.set(peer.name, routes);
    if (!matchesAny(peer.nodeSelectors, input.node.labels)) continue;
    const ibgp = peer.myAsn === peer.peerAsn;
    for (const adv of input.advertisements) {
      if (adv.peers && adv.peers.length > 0 && !adv.peers.includes(peer.name)) continue;
      if (!matchesAny(adv.nodeSelectors, input.node.labels)) continue;
      const attrs = attrsOf(adv, ibgp);
      for (const svc of input.services) {
        if (adv.pools && adv.pools.length > 0 && !adv.pools.includes(svc.pool)) continue;
        if (!matchesAny(adv.serviceSelectors, svc.labels)) continue;
        if (svc.externalTrafficPolicyLocal && !svc.hasLocalEndpoints) continue;
        for (const ip of svc.ips) {
          const p = aggregate(ip, adv);
          if (p) routes.set(p, merge(routes.get(p), attrs));
        }
      }
    }
  }
  return out;
}

/** The session's local AS: a BGPPeer's localASN (local-as, replace-as) wins over myASN. */
export const sessionLocalAsn = (p: { readonly myASN: number; readonly localASN?: number }): number => p.localASN ?? p.myASN;

/**
 * AS_PATH of a route this speaker originates: eBGP prepends the local AS once (RFC 4271 5.1.2),
 * asPathPrepend adds it `prepend` more times (on iBGP too); an iBGP route without prepends has an
 * empty AS_PATH.
 */
export function originatedAsPath(localAsn: number, ebgp: boolean, prepend = 0): AsPathSegment[] {
  const n = (ebgp ? 1 : 0) + prepend;
  return n === 0 ? [] : [{ type: AsSegment.sequence, asns: Array.from({ length: n }, () => localAsn) }];
}

export const attrsKey = (a: RouteAttrs): string =>
  `${a.localPref ?? ''}|${a.asPathPrepend ? `p${a.asPathPrepend}|` : ''}${a.communities.join(',')}|${a.largeCommunities.map((c) => c.join(':')).join(',')}`;

export interface RouteDiff {
  /** Groups of prefixes sharing attributes, to be packed into as few UPDATEs as possible. */
  readonly announce: ReadonlyArray<{ readonly attrs: RouteAttrs; readonly prefixes: readonly string[] }>;
  readonly withdraw: readonly string[];
}

/**
 * What to send so that a peer holding `sent` (prefix → attrsKey) ends up with `desired`.
 * Deterministic: prefixes sorted within groups, groups sorted by key.
 */
export function diffRoutes(sent: ReadonlyMap<string, string>, desired: ReadonlyMap<string, RouteAttrs>): RouteDiff {
  const groups = new Map<string, { attrs: RouteAttrs; prefixes: string[] }>();
  for (const [p, a] of desired) {
    const k = attrsKey(a);
    if (sent.get(p) === k) continue;
    let g = groups.get(k);
    if (!g) {
      g = { attrs: a, prefixes: [] };
      groups.set(k, g);
    }
    g.prefixes.push(p);
  }
  const withdraw = [...sent.keys()].filter((p) => !desired.has(p)).sort();
  const announce = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => ({ attrs: g.attrs, prefixes: g.prefixes.sort() }));
  return { announce, withdraw };
}
