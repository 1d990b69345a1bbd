// What one speaker reports about its services (pure): the ServiceBGPStatus objects (services it
// advertises, with the peers it advertises them to), the ServiceL2Status objects (services with
// an IP this node announces, with the L2 ads' interfaces), and the `notAnnounced` Events that
// say why an IP is not announced from here. An Event is sent when the reason for a
// (service, ip, mode) changes: a reason that goes away (the IP is announced, another reason
// replaces it, the service is deleted) and comes back is reported again. Every reason is reported
// (src/domain/event-limiter.ts keeps the rate down) except `notOwner` at first sight: every node
// but one is not the owner of every IP, so it is reported only when it follows something (this node
// announced the IP, or had another reason). The ARP/NDP conflict and missing-interface Events are
// built here too (l2ConflictEvent, noInterfaceEvent); docs/troubleshooting.md lists every reason.
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

export type EventType = 'Normal' | 'Warning';

/** An Event on the Service namespace/name (`reason` is the Event's reason, `why` the machine's). */
export interface NotAnnouncedEvent {
  readonly namespace: string;
  readonly name: string;
  readonly type: EventType;
  /** The Event reason: notAnnounced, l2Conflict or interfaceNotFound. */
  readonly reason: string;
  /** The reason behind it (the election's or the plan's), the rate limit's key with the Service. */
  readonly why: string;
  /** What a newer Event replaces while this one waits for the rate limit (service, ip, mode). */
  readonly slot: string;
  readonly message: string;
}

/** The reason last reported per (service, ip, mode), or `announcing`: what the next call compares with. */
export type ReportedReasons = ReadonlyMap<string, string>;

/** The Event reasons a speaker writes on Services (besides nodeAssigned), and peerRefused on BGPPeers. */
export const SpeakerEventReason = {
  notAnnounced: 'notAnnounced',
  l2Conflict: 'l2Conflict',
  interfaceNotFound: 'interfaceNotFound',
  /** A BGPPeer this node runs no session for: a field the BGP backend cannot honour (named in the message). */
  peerRefused: 'peerRefused',
} as const;

/** Reasons for a normal state (Events of type Normal); every other reason is a Warning. */
export const NORMAL_REASONS: ReadonlySet<string> = new Set<string>([
  Reason.notOwner,
  Reason.handoverPending,
  Reason.draining,
  Reason.natsSettling,
]);

/** What the election's reason means for this node, in words. */
function electionDetail(node: string, ex: Explained): string {
  switch (ex.reason) {
    case Reason.notOwner:
      return ex.owner ? `the layer2 election picks node ${ex.owner}` : 'the layer2 election picks no node';
    case Reason.handoverPending:
      return `node ${node} is elected and waits for the current owner to hand the IP over (make-before-break)`;
    case Reason.draining:
      return `node ${node} is draining (mooringctl drain): its IPs move to the next node in election order`;
    case Reason.natsDisconnected:
      return `node ${node} has no NATS connection: it takes over nothing until it reconnects (an owner keeps announcing what it has)`;
    case Reason.natsSettling:
      return `node ${node} is connected to NATS and hears its peers before taking anything over (a resync window after connecting; after start, until the NATS cluster is known formed)`;
    case Reason.fencedByEpoch:
      return `a newer claim (higher epoch) for this IP exists: another node took it over and node ${node} stands by`;
    case Reason.conflictDetected:
      return `another station answered ARP/NDP for this IP while NATS was down: node ${node} withdrew so that only one answers (see the l2Conflict Events)`;
    default:
      return `the layer2 election excludes node ${node}${ex.owner ? ` (owner: ${ex.owner})` : ' (no eligible node)'}`;
  }
}

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

/** A reason for one (service, ip, mode), from the plan or the election. */
export interface CurrentReason {
  readonly service: string;
  readonly ip: string;
  readonly mode: NotAnnounced['mode'];
  readonly reason: string;
  readonly detail: string;
}

const slotOf = (service: string, ip: string, mode: string): string => `${service}\n${ip}\n${mode}`;

/** Why IPs are not announced from `node` now (the plan's reasons and the election's), and which are. */
export function currentReasons(
  node: string,
  plan: SpeakerPlan,
  explained: ReadonlyMap<string, Explained>,
): { reasons: CurrentReason[]; announcing: string[] } {
  const election: CurrentReason[] = [];
  const announcing: string[] = [];
  for (const s of plan.l2.services) {
    for (const ip of s.ips) {
      const ex = explained.get(ip);
      if (!ex) continue;
      if (ex.state === 'announcing') announcing.push(slotOf(s.key, ip, 'l2'));
      else if (ex.reason !== undefined)
        election.push({ service: s.key, ip, mode: 'l2', reason: ex.reason, detail: electionDetail(node, ex) });
    }
  }
  return { reasons: [...plan.notAnnounced, ...election], announcing };
}

/**
 * The Events for reasons that differ from the ones reported before, and the reasons to compare
 * the next call with (only the current ones and `announcing`: a reason that is gone is forgotten).
 */
export function notAnnouncedEvents(
  node: string,
  reasons: readonly CurrentReason[],
  reported: ReportedReasons,
  announcing: readonly string[] = [],
): { events: NotAnnouncedEvent[]; reported: Map<string, string> } {
  const events: NotAnnouncedEvent[] = [];
  const next = new Map<string, string>();
  for (const n of reasons) {
    const k = slotOf(n.service, n.ip, n.mode);
    if (next.has(k)) continue; // one reason per (service, ip, mode): the first one given
    next.set(k, n.reason);
    const before = reported.get(k);
    if (before === n.reason) continue;
    // Not the owner, and nothing before: the normal state of every node but one.
    if (n.reason === Reason.notOwner && before === undefined) continue;
    const [ns, name] = split(n.service);
    const what = `${n.ip}${n.mode === 'any' ? '' : ` by ${n.mode === 'l2' ? 'layer2' : 'BGP'}`}`;
    events.push({
      namespace: ns,
      name,
      type: NORMAL_REASONS.has(n.reason) ? 'Normal' : 'Warning',
      reason: SpeakerEventReason.notAnnounced,
      why: n.reason,
      slot: k,
      message: `node ${node} ${before === 'announcing' ? 'no longer announces' : 'does not announce'} ${what}: ${n.reason}: ${n.detail}`,
    });
  }
  for (const k of announcing) if (!next.has(k)) next.set(k, 'announcing');
  return { events, reported: next };
}

const macOwnerHint =
  "if that MAC is a cluster node's, kube-proxy in IPVS mode answers ARP for LoadBalancer IPs: set strictARP: true in its configuration (kube-system/kube-proxy ConfigMap, ipvs.strictARP); otherwise another host uses this IP: remove it there or from the IPAddressPool";

/** Another station answered ARP/NDP for an IP this node announces (or probes). */
export function l2ConflictEvent(node: string, service: string, c: { ip: string; mac: string; iface: string }): NotAnnouncedEvent {
  const [ns, name] = split(service);
  return {
    namespace: ns,
    name,
    type: 'Warning',
    reason: SpeakerEventReason.l2Conflict,
    why: SpeakerEventReason.l2Conflict,
    slot: `${slotOf(service, c.ip, 'l2')}\nconflict\n${c.mac}`,
    message: `node ${node} announces ${c.ip} on ${c.iface} and another station (MAC ${c.mac}) answers ARP/NDP for it too: clients reach either one; ${macOwnerHint}`,
  };
}

/** This node should answer for an IP but none of the interfaces it may use exists here. */
export function noInterfaceEvent(
  node: string,
  service: string,
  ads: readonly string[],
  p: { ip: string; wanted: readonly string[]; eligible: readonly string[] },
): NotAnnouncedEvent {
  const [ns, name] = split(service);
  const list = (xs: readonly string[]) => (xs.length > 0 ? xs.join(', ') : 'none');
  const adText = ads.length > 0 ? `L2Advertisement ${ads.join(', ')}` : 'the L2Advertisements';
  return {
    namespace: ns,
    name,
    type: 'Warning',
    reason: SpeakerEventReason.interfaceNotFound,
    why: SpeakerEventReason.interfaceNotFound,
    slot: `${slotOf(service, p.ip, 'l2')}\ninterface`,
    message:
      p.wanted.length > 0
        ? `node ${node} owns ${p.ip} but answers ARP/NDP on no interface: ${adText} allow${ads.length === 1 ? 's' : ''} ${list(p.wanted)}, this node can announce on ${list(p.eligible)}; fix spec.interfaces, or the nodeSelectors so that only nodes with those interfaces are elected`
        : `node ${node} owns ${p.ip} but has no interface it can announce on (eligible: none): check the speaker's interface flags and the node's links`,
  };
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
  const { reasons, announcing } = currentReasons(i.node, i.plan, i.explained);
  const { events, reported } = notAnnouncedEvents(i.node, reasons, i.reported, announcing);
  return { bgp: bgpStatuses(i.node, i.plan, i.routes), l2: l2Statuses(i.node, i.plan, i.owned), events, reported };
}
