// What one speaker reports about its services (pure): the ServiceBGPStatus objects (services it
// advertises, with the peers it advertises them to), the ServiceL2Status objects (services with
// an IP this node announces, with the L2 ads' interfaces), and the `notAnnounced` Events that
// say why an IP is not announced from here. An Event is sent when the reason for a
// (service, ip, mode) changes: a reason that goes away (the IP is announced, another reason
// replaces it, the service is deleted) and comes back is reported again.
import type { RouteAttrs } from './bgp-advertisements.js';
import { Reason } from './election.js';
import { prefixContains } from './ip.js';
import type { NotAnnounced, SpeakerPlan } from './speaker-plan.js';

/** One status object this node wants to exist (the shape the status writer takes). */
export interface StatusObject {
  serviceKey: string;
  status: Record<string, unknown>;
}

/** The coordinator's `explain(ip)` for this node. */
export interface Explained {
  readonly owner: string | undefined;
  readonly state: string;
  readonly reason: string | undefined;
}

/** A Warning Event `notAnnounced` on the Service namespace/name. */
export interface NotAnnouncedEvent {
  readonly namespace: string;
  readonly name: string;
  readonly message: string;
}

/** The reason last reported per (service, ip, mode): what the next call compares with. */
export type ReportedReasons = ReadonlyMap<string, string>;

/**
 * Election reasons that describe config or cluster facts. Transient NATS or ownership states
 * (notOwner is the normal state of every node but one) are not reported.
 */
export const STABLE_REASONS: ReadonlySet<string> = new Set<string>([
  Reason.noServingEndpoints,
  Reason.noLocalEndpoints,
  Reason.noMatchingAdvertisement,
  Reason.nodeExcluded,
  Reason.networkUnavailable,
  Reason.carrierDown,
]);

const split = (key: string): [string, string] => {
  const [ns = '', name = ''] = key.split('/');
  return [ns, name];
};

/** ServiceBGPStatus: services this node advertises to at least one peer, with those peers (sorted). */
export function bgpStatuses(node: string, plan: SpeakerPlan, routes: ReadonlyMap<string, ReadonlyMap<string, RouteAttrs>>): StatusObject[] {
  return plan.bgp.services.flatMap((s) => {
    const peers = [...routes]
      .filter(([, m]) => s.ips.some((ip) => [...m.keys()].some((pfx) => prefixContains(pfx, ip))))
      .map(([p]) => p)
      .sort();
    if (peers.length === 0) return [];
    const [ns, name] = split(s.key);
    return [{ serviceKey: s.key, status: { node, serviceName: name, serviceNamespace: ns, peers } }];
  });
}

/** ServiceL2Status: services with an IP in `owned`, with the interfaces their L2 ads allow. */
export function l2Statuses(node: string, plan: SpeakerPlan, owned: ReadonlySet<string>): StatusObject[] {
  return plan.services
    .filter((s) => s.ips.some((ip) => owned.has(ip)))
    .map((s) => {
      const [ns, name] = split(s.key);
      return {
        serviceKey: s.key,
        status: { node, serviceName: name, serviceNamespace: ns, interfaces: s.l2Interfaces.map((i) => ({ name: i })) },
      };
    });
}

/** Why IPs are not announced from `node` now: the plan's reasons and the election's stable ones. */
export function currentReasons(node: string, plan: SpeakerPlan, explained: ReadonlyMap<string, Explained>): NotAnnounced[] {
  const election: NotAnnounced[] = [];
  for (const s of plan.l2.services) {
    for (const ip of s.ips) {
      const ex = explained.get(ip);
      if (!ex || ex.state === 'announcing' || ex.reason === undefined || !STABLE_REASONS.has(ex.reason)) continue;
      election.push({
        service: s.key,
        ip,
        mode: 'l2',
        reason: ex.reason as NotAnnounced['reason'],
        detail: `the layer2 election excludes node ${node}${ex.owner ? ` (owner: ${ex.owner})` : ' (no eligible node)'}`,
      });
    }
  }
  return [...plan.notAnnounced, ...election];
}

const reasonKey = (n: NotAnnounced): string => `${n.service}\n${n.ip}\n${n.mode}`;

/**
 * The Events for reasons that differ from the ones reported before, and the reasons to compare
 * the next call with (only the current ones: a reason that is gone is forgotten).
 */
export function notAnnouncedEvents(
  node: string,
  reasons: readonly NotAnnounced[],
  reported: ReportedReasons,
): { events: NotAnnouncedEvent[]; reported: Map<string, string> } {
  const events: NotAnnouncedEvent[] = [];
  const next = new Map<string, string>();
  for (const n of reasons) {
    const k = reasonKey(n);
    if (next.has(k)) continue; // one reason per (service, ip, mode): the first one given
    next.set(k, n.reason);
    if (reported.get(k) === n.reason) continue;
    const [ns, name] = split(n.service);
    events.push({
      namespace: ns,
      name,
      message: `node ${node} does not announce ${n.ip}${n.mode === 'any' ? '' : ` by ${n.mode === 'l2' ? 'layer2' : 'BGP'}`}: ${n.reason}: ${n.detail}`,
    });
  }
  return { events, reported: next };
}

export interface SpeakerStatusInput {
  readonly node: string;
  readonly plan: SpeakerPlan;
  /** Desired routes: peer → prefix → attributes. */
  readonly routes: ReadonlyMap<string, ReadonlyMap<string, RouteAttrs>>;
  /** IPs this node announces by L2 now. */
  readonly owned: ReadonlySet<string>;
  /** explain(ip) for the plan's L2 IPs. */
  readonly explained: ReadonlyMap<string, Explained>;
  readonly reported: ReportedReasons;
}

export interface SpeakerStatus {
  readonly bgp: StatusObject[];
  readonly l2: StatusObject[];
  readonly events: NotAnnouncedEvent[];
  readonly reported: Map<string, string>;
}

/** Everything a reconcile reports, from one snapshot. */
export function speakerStatus(i: SpeakerStatusInput): SpeakerStatus {
  const { events, reported } = notAnnouncedEvents(i.node, currentReasons(i.node, i.plan, i.explained), i.reported);
  return { bgp: bgpStatuses(i.node, i.plan, i.routes), l2: l2Statuses(i.node, i.plan, i.owned), events, reported };
}
