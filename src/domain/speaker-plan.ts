// What one speaker should do, from what it watches (pure): Services with their LB IPs, the
// EndpointSlices, the Nodes and the validated Config become
//   - the L2 cluster view the coordinator elects owners from (services with their L2
//     advertisements, ETP=Local endpoint nodes, node facts),
//   - the BGP inputs for this node (peers that select it, advertisements, announceable services),
//   - for every service IP this speaker will not announce at all, the reason (MetalLB's
//     speaker reasons plus ours), so status can say why an IP is not reachable.
import type { Config, Peer } from './config.js';
import { matchesAny, type LabelSelector, type Labels } from './label-selector.js';
import { EXCLUDE_LB_LABEL, type ElectionNode, type L2AdView } from './election.js';
import { sessionLocalAsn, type AdvPeer, type AdvService, type AdvSpec } from './bgp-advertisements.js';
import { parseIp } from './ip.js';

export const POOL_ANNOTATION = 'metallb.io/ip-allocated-from-pool';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface ServiceObj {
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Record<string, string> };
  spec?: { type?: string; loadBalancerClass?: string; externalTrafficPolicy?: string };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}
export interface EndpointSliceObj {
  metadata: { namespace?: string; labels?: Labels };
  endpoints?: Array<{ nodeName?: string; conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null } }>;
}
export interface NodeObj {
  metadata: { name: string; labels?: Labels };
  spec?: { unschedulable?: boolean };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** Service-level reasons a speaker announces an IP nowhere (node-level ones come from the election). */
export const PlanReason = {
  notLoadBalancer: 'notLoadBalancer',
  otherLoadBalancerClass: 'otherLoadBalancerClass',
  noPool: 'noPool',
  noMatchingAdvertisement: 'noMatchingAdvertisement',
  nodeExcluded: 'nodeExcluded',
  networkUnavailable: 'networkUnavailable',
  noLocalEndpoints: 'noLocalEndpoints',
  noMatchingPeer: 'noMatchingPeer',
} as const;
export type PlanReason = (typeof PlanReason)[keyof typeof PlanReason];

export interface PlanService {
  key: string;
  ips: string[];
  pool: string;
  labels: Labels;
  etpLocal: boolean;
  endpointNodes: string[];
  l2Ads: L2AdView[];
  /** Interfaces the L2 ads restrict announcements to (empty = all eligible interfaces). */
  l2Interfaces: string[];
  bgpAds: string[];
}
export interface NotAnnounced {
  service: string;
  ip: string;
  mode: 'l2' | 'bgp' | 'any';
  reason: PlanReason;
  detail: string;
}

export interface SpeakerPlan {
  node: string;
  services: PlanService[];
  /** `interfaces`: the L2 ads' interfaces, absent when they allow every interface. */
  l2: {
    nodes: ElectionNode[];
    services: Array<{ key: string; ips: string[]; ads: L2AdView[]; etpLocal: boolean; endpointNodes: Set<string>; interfaces?: string[] }>;
  };
  bgp: { peers: Peer[]; advPeers: AdvPeer[]; advertisements: AdvSpec[]; services: AdvService[] };
  notAnnounced: NotAnnounced[];
}

export interface PlanInput {
  node: string;
  config: Config;
  services: readonly ServiceObj[];
  endpointSlices: readonly EndpointSliceObj[];
  nodes: readonly NodeObj[];
  /** --lb-class: only services of this class (unset: only services without a class). */
  loadBalancerClass?: string;
  /** MetalLB's --ignore-exclude-lb. */
  ignoreExcludeLB?: boolean;
}

const keyOf = (s: { metadata: { name: string; namespace?: string } }) => `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`;

function poolOf(cfg: Config, svc: ServiceObj, ip: string): string | undefined {
  const annotated = svc.metadata.annotations?.[POOL_ANNOTATION];
  if (annotated && cfg.pools.some((p) => p.name === annotated)) return annotated;
  const parsed = parseIp(ip);
  if (!parsed) return undefined;
  return cfg.pools.find((p) => p.ranges.some((r) => r.family === parsed.family && r.first <= parsed.value && parsed.value <= r.last))?.name;
}

/**
 * Nodes with a ready endpoint of each service (MetalLB: Ready unset counts as ready), by service
 * key: one pass over the slices (a lookup per service, not a scan: linear in Services + slices).
 */
function endpointNodesBy(slices: readonly EndpointSliceObj[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const s of slices) {
    const name = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (name === undefined) continue;
    const key = `${s.metadata.namespace ?? 'default'}/${name}`;
    let nodes = out.get(key);
    for (const e of s.endpoints ?? []) {
      if (!e.nodeName || e.conditions?.ready === false) continue;
      if (!nodes) out.set(key, (nodes = new Set()));
      nodes.add(e.nodeName);
    }
  }
  return out;
}

const networkUnavailable = (n: NodeObj | undefined) =>
  (n?.status?.conditions ?? []).some((c) => c.type === 'NetworkUnavailable' && c.status === 'True');

export function planSpeaker(input: PlanInput): SpeakerPlan {
  const { config: cfg, node } = input;
  const self = input.nodes.find((n) => n.metadata.name === node);
  const selfLabels = self?.metadata.labels ?? {};
  const services: PlanService[] = [];
  const notAnnounced: NotAnnounced[] = [];
  const sorted = [...input.services].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const endpointNodes = endpointNodesBy(input.endpointSlices);
  for (const svc of sorted) {
    const key = keyOf(svc);
    const ips = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((x): x is string => !!x);
    if (ips.length === 0) continue;
    const miss = (reason: PlanReason, detail: string, mode: NotAnnounced['mode'] = 'any') => {
      for (const ip of ips) notAnnounced.push({ service: key, ip, mode, reason, detail });
    };
    if (svc.spec?.type !== 'LoadBalancer') {
      miss(PlanReason.notLoadBalancer, `service type is ${svc.spec?.type ?? 'ClusterIP'}`);
      continue;
    }
    if ((svc.spec.loadBalancerClass ?? undefined) !== input.loadBalancerClass) {
      miss(
        PlanReason.otherLoadBalancerClass,
        `loadBalancerClass ${JSON.stringify(svc.spec.loadBalancerClass ?? null)} is not ours (${JSON.stringify(input.loadBalancerClass ?? null)})`,
      );
      continue;
    }
    const pool = poolOf(cfg, svc, ips[0] as string);
    if (!pool) {
      miss(PlanReason.noPool, `IP ${ips[0]} is in no configured IPAddressPool`);
      continue;
    }
    const labels = svc.metadata.labels ?? {};
    const l2 = cfg.l2Advertisements.filter((a) => a.pools.includes(pool) && matchesAny(a.serviceSelectors, labels));
    const bgp = cfg.bgpAdvertisements.filter((a) => a.pools.includes(pool) && matchesAny(a.serviceSelectors, labels));
    if (l2.length === 0 && bgp.length === 0) {
      miss(
        PlanReason.noMatchingAdvertisement,
        `no L2Advertisement or BGPAdvertisement selects pool ${JSON.stringify(pool)} for this service`,
      );
      continue;
    }
    services.push({
      key,
      ips,
      pool,
      labels,
      etpLocal: svc.spec.externalTrafficPolicy === 'Local',
      endpointNodes: [...(endpointNodes.get(key) ?? [])].sort(),
      l2Ads: l2.map((a) => ({
        name: a.name,
        nodeSelectors: a.nodeSelectors as LabelSelector[],
        preferredNodeSelectors: a.preferredNodeSelectors,
      })),
      l2Interfaces: l2.some((a) => a.allInterfaces) ? [] : [...new Set(l2.flatMap((a) => a.interfaces))].sort(),
      bgpAds: bgp.map((a) => a.name),
    });
  }

  // BGP: peers that select this node; nothing is announced from an excluded or unavailable node.
  const peers = cfg.peers.filter((p) => matchesAny(p.nodeSelectors, selfLabels));
  const excluded = !input.ignoreExcludeLB && Object.prototype.hasOwnProperty.call(selfLabels, EXCLUDE_LB_LABEL);
  const unavailable = networkUnavailable(self);
  const bgpServices: AdvService[] = [];
  for (const s of services.filter((x) => x.bgpAds.length > 0)) {
    const miss = (reason: PlanReason, detail: string) => {
      for (const ip of s.ips) notAnnounced.push({ service: s.key, ip, mode: 'bgp', reason, detail });
    };
    if (excluded) {
      miss(PlanReason.nodeExcluded, `node ${node} has label ${EXCLUDE_LB_LABEL}`);
      continue;
    }
    if (unavailable) {
      miss(PlanReason.networkUnavailable, `node ${node} has condition NetworkUnavailable=True`);
      continue;
    }
    const local = s.endpointNodes.includes(node);
    if (s.etpLocal && !local) miss(PlanReason.noLocalEndpoints, `externalTrafficPolicy=Local and no ready endpoint on node ${node}`);
    else if (peers.length === 0) miss(PlanReason.noMatchingPeer, `no BGPPeer selects node ${node}`);
    bgpServices.push({
      key: s.key,
      ips: s.ips,
      pool: s.pool,
      labels: s.labels,
      externalTrafficPolicyLocal: s.etpLocal,
      hasLocalEndpoints: local,
    });
  }
  const advertisements: AdvSpec[] = cfg.bgpAdvertisements.map((a) => ({
    name: a.name,
    pools: a.pools,
    aggregationLength: a.aggregationLength,
    aggregationLengthV6: a.aggregationLengthV6,
    ...(a.localPref !== undefined ? { localPref: a.localPref } : {}),
    ...(a.asPathPrepend !== undefined ? { asPathPrepend: a.asPathPrepend } : {}),
    communities: a.communities.map((c) => c.text),
    peers: a.peers,
    nodeSelectors: a.nodeSelectors,
    serviceSelectors: a.serviceSelectors,
  }));
  const advPeers: AdvPeer[] = peers.map((p) => ({
    name: p.name,
    myAsn: sessionLocalAsn(p),
    peerAsn: p.peerASN ?? (p.dynamicASN === 'internal' ? sessionLocalAsn(p) : 0),
    nodeSelectors: p.nodeSelectors,
  }));

  return {
    node,
    services,
    l2: {
      nodes: input.nodes
        .map((n) => ({
          name: n.metadata.name,
          labels: n.metadata.labels ?? {},
          networkUnavailable: networkUnavailable(n),
          ...(n.spec?.unschedulable === true ? { unschedulable: true } : {}),
        }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      services: services
        .filter((s) => s.l2Ads.length > 0)
        .map((s) => ({
          key: s.key,
          ips: s.ips,
          ads: s.l2Ads,
          etpLocal: s.etpLocal,
          endpointNodes: new Set(s.endpointNodes),
          ...(s.l2Interfaces.length > 0 ? { interfaces: s.l2Interfaces } : {}),
        })),
    },
    bgp: { peers, advPeers, advertisements, services: bgpServices },
    notAnnounced,
  };
}
