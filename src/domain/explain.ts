// `mooringctl explain svc NAMESPACE/NAME`: why a Service's IP is (not) reachable, on one screen
// (pure: the apiserver's objects and the speakers' snapshots are read elsewhere). It reuses the
// code that decides: parseConfig (the configuration), the Allocator (which pool, or why none),
// planSpeaker per node (service-level and BGP reasons), the election (L2 eligibility per node and
// the order), desiredRoutes (the prefixes each BGP peer should hold, with their attributes). What
// the speakers themselves say (each serviceIp machine's state and reason, BGP and BFD session
// states) comes from their state-feed snapshots; when NATS could not be reached that part is
// missing and the report says so.
import { parseConfig, formatConfigError, type Config, type RawObject } from './config.js';
import { Allocator, Annotation } from './allocator/index.js';
import { ingressIps, isManaged, serviceKey, toAllocatorPools, toServiceRequest, type ServiceLike } from './lb-service.js';
import { planSpeaker, type EndpointSliceObj, type NodeObj, type PlanService, type ServiceObj } from './speaker-plan.js';
import { electionOrder, ineligibility, type ElectionNode, type LiveView, type ServiceIpView } from './election.js';
import { desiredRoutes, type RouteAttrs } from './bgp-advertisements.js';
import { matchesAny } from './label-selector.js';
import type { MachineState, SnapshotMessage } from './state-feed.js';
import { prefixContains } from './ip.js';

type Obj = {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
};

export interface ExplainInput {
  /** `namespace/name`. */
  readonly service: string;
  /** Every Service (the allocation is replayed against the others' addresses). */
  readonly services: readonly Obj[];
  /** The Service's EndpointSlices. */
  readonly endpointSlices: readonly Obj[];
  readonly nodes: readonly Obj[];
  /** metallb.io configuration objects (apiVersion and kind set). */
  readonly config: readonly Obj[];
  readonly namespaces: readonly Obj[];
  readonly l2Statuses: readonly Obj[];
  readonly bgpStatuses: readonly Obj[];
  /** The Service's Events. */
  readonly events: readonly Obj[];
  /** The speakers' snapshots, or why none could be asked for. */
  readonly live: { readonly snapshots: readonly SnapshotMessage[] } | { readonly error: string };
  /** Mooring's namespace (where namespaced config objects live). */
  readonly namespace?: string;
  /** The speakers' --lb-class, when set. */
  readonly loadBalancerClass?: string;
}

export interface MachineRow {
  ip: string;
  state: string;
  reason?: string;
  since?: number;
}
export interface NodeExplain {
  name: string;
  /** The speaker answered the snapshot request (undefined: NATS was not reachable). */
  speaker?: boolean;
  /** L2: undefined when the Service has no L2Advertisement; '' when eligible, else the reason. */
  l2?: string;
  /** BGP: undefined when the Service has no BGPAdvertisement; '' when it is advertised from this node, else the reason. */
  bgp?: string;
  /** What the node's serviceIp machines say for the Service's IPs. */
  machines: MachineRow[];
}
export interface PrefixRow {
  prefix: string;
  localPref?: number;
  communities: string[];
  largeCommunities: string[];
}
export interface PeerExplain {
  node: string;
  peer: string;
  address: string;
  asn: string;
  /** Session state from the node's snapshot (undefined: no snapshot). */
  state?: string;
  reason?: string;
  bfd?: string;
  /** The Service's prefixes planned for this peer from this node. */
  prefixes: PrefixRow[];
}
export interface ExplainReport {
  service: string;
  found: boolean;
  type?: string;
  ips: string[];
  externalTrafficPolicy?: string;
  allocation: { state: 'allocated' | 'pending' | 'notOurs' | 'notFound'; pool?: string; why: string };
  config: { valid: boolean; errors: string[] };
  /** L2Advertisements and BGPAdvertisements that apply, endpoints' nodes. */
  advertisements: { l2: string[]; bgp: string[]; interfaces: string[] };
  endpointNodes: string[];
  /** L2 election: eligible nodes best first, the ServiceL2Status owner, nodes whose machine announces. */
  election?: { order: string[]; statusOwner?: string; announcing: string[] };
  nodes: NodeExplain[];
  peers: PeerExplain[];
  events: Array<{ type: string; reason: string; message: string; count: number; last: string }>;
  nats: { reachable: boolean; problem?: string; answered: string[]; silent: string[] };
  /** One-line answers, the most important first. */
  verdict: string[];
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const arr = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const nameOf = (o: Obj) => o.metadata?.name ?? '';
const condition = (o: Obj, type: string): string | undefined =>
  arr<{ type?: string; status?: string }>(o.status?.conditions).find((c) => c.type === type)?.status;

function communityText(c: number): string {
  return `${c >>> 16}:${c & 0xffff}`;
}
function prefixRow(prefix: string, a: RouteAttrs): PrefixRow {
  return {
    prefix,
    ...(a.localPref !== undefined ? { localPref: a.localPref } : {}),
    communities: a.communities.map(communityText),
    largeCommunities: a.largeCommunities.map((l) => l.join(':')),
  };
}

/** Why the allocator chose the pool (or that it would choose none), replayed against the other Services' addresses. */
function allocation(
  svc: Obj,
  input: ExplainInput,
  cfg: Config | undefined,
  ips: string[],
  plan: PlanService | undefined,
): ExplainReport['allocation'] {
  const s = svc as ServiceLike;
  if (!isManaged(s, input.loadBalancerClass))
    return {
      state: 'notOurs',
      why:
        s.spec?.type !== 'LoadBalancer'
          ? `type ${s.spec?.type ?? 'ClusterIP'}: not a LoadBalancer Service`
          : `loadBalancerClass ${JSON.stringify(s.spec.loadBalancerClass ?? null)} is not Mooring's`,
    };
  const ann = s.metadata?.annotations ?? {};
  const requested = ann[Annotation.addressPool] ?? ann[Annotation.deprecatedAddressPool];
  const requestedIps = ann[Annotation.loadBalancerIPs] ?? ann[Annotation.deprecatedLoadBalancerIPs] ?? s.spec?.loadBalancerIP;
  if (ips.length > 0) {
    const ip = ips[0] as string;
    const pool =
      plan?.pool ?? cfg?.pools.find((x) => x.addresses.some((a) => prefixContains(a, ip)))?.name ?? ann[Annotation.ipAllocatedFromPool];
    const p = cfg?.pools.find((x) => x.name === pool);
    const why = requested
      ? `requested with ${Annotation.addressPool}: ${requested}`
      : requestedIps
        ? `requested IP ${requestedIps} lies in it`
        : p?.serviceAllocation && matchesAny(p.serviceAllocation.serviceSelectors, s.metadata?.labels ?? {})
          ? `its serviceAllocation (priority ${p.serviceAllocation.priority ?? 'unset'}) selects this Service`
          : 'auto-assigned: the first pool in MetalLB order with a free address';
    return { state: 'allocated', ...(pool ? { pool } : {}), why: pool ? why : `IP ${ips[0]} is in no configured IPAddressPool` };
  }
  if (!cfg) return { state: 'pending', why: 'the configuration is invalid: the controller keeps its last valid one (see config errors)' };
  const alloc = new Allocator();
  alloc.setNamespaces(Object.fromEntries(input.namespaces.map((n) => [nameOf(n), n.metadata?.labels ?? {}])));
  const set = alloc.setPools(toAllocatorPools(cfg));
  if (!set.ok) return { state: 'pending', why: `the allocator refuses the pools: ${set.reason}` };
  const key = serviceKey(s);
  alloc.reclaim(
    input.services
      .filter((o) => serviceKey(o as ServiceLike) !== key && isManaged(o as ServiceLike, input.loadBalancerClass))
      .map((o) => ({ service: toServiceRequest(o as ServiceLike), ips: ingressIps(o as ServiceLike) }))
      .filter((e) => e.ips.length > 0),
  );
  const r = alloc.assign(toServiceRequest(s));
  return r.ok
    ? { state: 'pending', pool: r.pool, why: `pool ${r.pool} has room now (${r.ips.join(', ')}): the controller has not written it yet` }
    : { state: 'pending', why: `${r.code}: ${r.reason}` };
}

export function explainService(input: ExplainInput): ExplainReport {
  const [ns = '', name = ''] = input.service.split('/');
  const svc = input.services.find((s) => s.metadata?.namespace === ns && s.metadata?.name === name);
  const snapshots = 'snapshots' in input.live ? input.live.snapshots : undefined;
  const nodeNames = input.nodes.map(nameOf).sort();
  const nats: ExplainReport['nats'] = snapshots
    ? {
        reachable: true,
        answered: snapshots.map((x) => x.node).sort(),
        silent: nodeNames.filter((n) => !snapshots.some((x) => x.node === n)),
      }
    : { reachable: false, problem: 'error' in input.live ? input.live.error : '', answered: [], silent: [] };
  const parsed = parseConfig({
    objects: input.config as RawObject[],
    namespaces: input.namespaces.map((n) => ({ name: nameOf(n), labels: n.metadata?.labels ?? {} })),
    ...(input.namespace ? { namespace: input.namespace } : {}),
  });
  const config = { valid: parsed.ok, errors: parsed.ok ? [] : parsed.errors.map(formatConfigError) };
  const cfg = parsed.ok ? parsed.config : undefined;
  const events = input.events
    .map((e) => ({
      type: str(e.type),
      reason: str(e.reason),
      message: str(e.message),
      count: typeof e.count === 'number' ? e.count : 1,
      last:
        str(e.lastTimestamp) ||
        str((e as { eventTime?: unknown }).eventTime) ||
        str((e.metadata as { creationTimestamp?: unknown } | undefined)?.creationTimestamp),
    }))
    .sort((a, b) => (a.last < b.last ? -1 : a.last > b.last ? 1 : 0))
    .slice(-10);
  const empty: ExplainReport = {
    service: input.service,
    found: false,
    ips: [],
    allocation: { state: 'notFound', why: `no Service ${input.service}` },
    config,
    advertisements: { l2: [], bgp: [], interfaces: [] },
    endpointNodes: [],
    nodes: [],
    peers: [],
    events,
    nats,
    verdict: [`Service ${input.service} does not exist`],
  };
  if (!svc) return empty;

  const ips = ingressIps(svc as ServiceLike);
  const spec = (svc.spec ?? {}) as { type?: string; externalTrafficPolicy?: string };
  const planFor = (node: string) =>
    cfg
      ? planSpeaker({
          node,
          config: cfg,
          services: [svc as unknown as ServiceObj],
          endpointSlices: input.endpointSlices as unknown as EndpointSliceObj[],
          nodes: input.nodes as unknown as NodeObj[],
          ...(input.loadBalancerClass ? { loadBalancerClass: input.loadBalancerClass } : {}),
        })
      : undefined;
  const base = planFor(nodeNames[0] ?? '');
  const planned = base?.services.find((p) => p.key === input.service);
  const serviceMiss = base?.notAnnounced.find((n) => n.service === input.service && n.mode === 'any');

  const machinesOf = (node: string): MachineState[] =>
    (snapshots?.find((x) => x.node === node)?.machines ?? []).filter(
      (m) => m.machine === 'serviceIp' && (ips.includes(m.id) || m.service === input.service),
    );
  const announcing = nodeNames.filter((n) => machinesOf(n).some((m) => m.state === 'announcing'));

  // L2: the election over the apiserver's nodes; "live" = the speaker answered (all, without NATS).
  let election: ExplainReport['election'];
  const l2Reason = new Map<string, string>();
  const electionNodes = new Map<string, ElectionNode>(
    input.nodes.map((n) => [
      nameOf(n),
      { name: nameOf(n), labels: n.metadata?.labels ?? {}, networkUnavailable: condition(n, 'NetworkUnavailable') === 'True' },
    ]),
  );
  const live: LiveView = {
    isLive: (n) => !snapshots || nats.answered.includes(n),
    carrierUp: (n) => !machinesOf(n).some((m) => m.reason === 'carrierDown'),
    draining: (n) => machinesOf(n).some((m) => m.reason === 'draining'),
  };
  if (planned && planned.l2Ads.length > 0 && ips[0]) {
    const view: ServiceIpView = {
      firstIp: ips[0],
      ads: planned.l2Ads,
      etpLocal: planned.etpLocal,
      endpointNodes: new Set(planned.endpointNodes),
    };
    for (const [n, en] of electionNodes) {
      const why = ineligibility(view, en, live);
      l2Reason.set(n, why ?? (live.isLive(n) ? '' : 'speakerNotAnswering'));
    }
    const statusOwner = input.l2Statuses
      .map((s) => s.status ?? {})
      .find((st) => str(st.serviceNamespace) === ns && str(st.serviceName) === name);
    election = {
      order: electionOrder(view, electionNodes, live),
      ...(statusOwner && str(statusOwner.node) ? { statusOwner: str(statusOwner.node) } : {}),
      announcing,
    };
  }

  // BGP: per node, the plan's reasons and the prefixes each selected peer should hold.
  const peers: PeerExplain[] = [];
  const bgpReason = new Map<string, string>();
  if (planned && planned.bgpAds.length > 0 && cfg) {
    for (const node of nodeNames) {
      const plan = planFor(node);
      if (!plan) continue;
      const miss = plan.notAnnounced.find((n) => n.service === input.service && n.mode === 'bgp');
      bgpReason.set(node, miss ? `${miss.reason}: ${miss.detail}` : '');
      const self = input.nodes.find((n) => nameOf(n) === node);
      const routes = desiredRoutes({
        node: { name: node, labels: self?.metadata?.labels ?? {} },
        peers: plan.bgp.advPeers,
        advertisements: plan.bgp.advertisements,
        services: plan.bgp.services,
      });
      const snap = snapshots?.find((x) => x.node === node);
      for (const p of plan.bgp.peers) {
        const session = snap?.machines.find((m) => m.machine === 'bgpSession' && m.id === p.name);
        const bfd = snap?.machines.find((m) => m.machine === 'bfdSession' && m.id.startsWith(`${p.name} `));
        const mine = [...(routes.get(p.name) ?? new Map<string, RouteAttrs>())].filter(([prefix]) =>
          ips.some((ip) => prefixContains(prefix, ip)),
        );
        peers.push({
          node,
          peer: p.name,
          address: p.address ?? p.interface ?? '',
          asn: `${p.myASN}→${p.peerASN ?? p.dynamicASN ?? '?'}`,
          ...(session ? { state: session.state, ...(session.reason ? { reason: session.reason } : {}) } : {}),
          ...(bfd ? { bfd: bfd.reason ? `${bfd.state} (${bfd.reason})` : bfd.state } : {}),
          prefixes: mine.map(([prefix, a]) => prefixRow(prefix, a)),
        });
      }
    }
  }

  const nodes: NodeExplain[] = nodeNames.map((n) => ({
    name: n,
    ...(snapshots ? { speaker: nats.answered.includes(n) } : {}),
    ...(l2Reason.has(n) ? { l2: l2Reason.get(n) as string } : {}),
    ...(bgpReason.has(n) ? { bgp: bgpReason.get(n) as string } : {}),
    machines: machinesOf(n).map((m) => ({
      ip: m.id,
      state: m.state,
      ...(m.reason ? { reason: m.reason } : {}),
      since: m.since,
    })),
  }));

  const report: ExplainReport = {
    service: input.service,
    found: true,
    ...(spec.type ? { type: spec.type } : {}),
    ips,
    ...(spec.externalTrafficPolicy ? { externalTrafficPolicy: spec.externalTrafficPolicy } : {}),
    allocation: allocation(svc, input, cfg, ips, planned),
    config,
    advertisements: {
      l2: planned?.l2Ads.map((a) => a.name) ?? [],
      bgp: planned?.bgpAds ?? [],
      interfaces: planned?.l2Interfaces ?? [],
    },
    endpointNodes: planned?.endpointNodes ?? endpointNodesOf(input.endpointSlices),
    ...(election ? { election } : {}),
    nodes,
    peers,
    events,
    nats,
    verdict: [],
  };
  report.verdict = verdict(report, serviceMiss ? `${serviceMiss.reason}: ${serviceMiss.detail}` : undefined);
  return report;
}

function endpointNodesOf(slices: readonly Obj[]): string[] {
  const out = new Set<string>();
  for (const s of slices)
    for (const e of arr<{ nodeName?: string; conditions?: { ready?: boolean } }>(s.endpoints))
      if (e.nodeName && e.conditions?.ready !== false) out.add(e.nodeName);
  return [...out].sort();
}

function verdict(r: ExplainReport, serviceMiss: string | undefined): string[] {
  const out: string[] = [];
  if (r.allocation.state === 'notOurs') return [`not handled by Mooring: ${r.allocation.why}`];
  if (r.ips.length === 0) out.push(`no IP: ${r.allocation.why}`);
  if (!r.config.valid) out.push(`configuration invalid (${r.config.errors.length} errors): components keep their last valid one`);
  if (r.ips.length > 0 && serviceMiss) out.push(`${r.ips.join(', ')} announced nowhere: ${serviceMiss}`);
  if (r.election && r.ips.length > 0) {
    const { order, statusOwner, announcing } = r.election;
    if (announcing.length > 0) out.push(`L2: ${r.ips.join(', ')} answered by ${announcing.join(', ')}`);
    else if (statusOwner && r.nats.reachable) out.push(`L2: ServiceL2Status names ${statusOwner}, but no live speaker announces it`);
    else if (statusOwner) out.push(`L2: ServiceL2Status names ${statusOwner} (speakers not asked: NATS unreachable)`);
    else if (order.length === 0) {
      const reasons = [...new Set(r.nodes.map((n) => n.l2).filter((x): x is string => !!x))];
      out.push(`L2: no node may announce it (${reasons.join(', ') || 'no nodes'})`);
    } else out.push(`L2: ${order[0]} should announce it, none does yet`);
    if (announcing.length > 1) out.push(`L2: more than one node announces it (${announcing.join(', ')})`);
  }
  if (r.advertisements.bgp.length > 0 && r.ips.length > 0) {
    const sent = r.peers.filter((p) => p.prefixes.length > 0);
    const up = sent.filter((p) => p.state === 'established');
    if (sent.length === 0) {
      const reasons = [...new Set(r.nodes.map((n) => n.bgp).filter((x): x is string => !!x))];
      out.push(`BGP: advertised to no peer (${reasons.join('; ') || 'no BGPPeer selects a node'})`);
    } else if (r.nats.reachable)
      out.push(
        `BGP: planned for ${sent.length} session(s), ${up.length} established${
          up.length < sent.length
            ? `: ${sent
                .filter((p) => p.state !== 'established')
                .map((p) => `${p.node}→${p.peer} ${p.state ?? 'no session'}${p.reason ? ` (${p.reason})` : ''}`)
                .join(', ')}`
            : ''
        }`,
      );
    else out.push(`BGP: planned for ${sent.length} session(s) (states unknown: NATS unreachable)`);
  }
  if (!r.nats.reachable) out.push(`speakers not asked: ${r.nats.problem}`);
  else if (r.nats.silent.length > 0) out.push(`no answer from the speaker on ${r.nats.silent.join(', ')}`);
  return out;
}

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n));

export function formatExplain(r: ExplainReport): string {
  const lines: string[] = [];
  lines.push(
    `Service ${r.service}${r.found ? `: ${r.type ?? 'ClusterIP'}, IPs ${r.ips.join(', ') || '(none)'}${r.externalTrafficPolicy ? `, externalTrafficPolicy ${r.externalTrafficPolicy}` : ''}` : ''}`,
  );
  for (const v of r.verdict) lines.push(`  => ${v}`);
  if (!r.found) return `${lines.join('\n')}\n`;
  lines.push('');
  lines.push(`allocation: ${r.allocation.state}${r.allocation.pool ? `, pool ${r.allocation.pool}` : ''}: ${r.allocation.why}`);
  if (!r.config.valid) for (const e of r.config.errors.slice(0, 5)) lines.push(`config error: ${e}`);
  lines.push(
    `advertisements: L2 ${r.advertisements.l2.join(', ') || '-'}${r.advertisements.interfaces.length ? ` (interfaces ${r.advertisements.interfaces.join(', ')})` : ''}; BGP ${r.advertisements.bgp.join(', ') || '-'}`,
  );
  lines.push(`endpoints on: ${r.endpointNodes.join(', ') || '(none ready)'}`);
  if (r.election)
    lines.push(
      `L2 election order: ${r.election.order.join(' > ') || '(no eligible node)'}; ServiceL2Status: ${r.election.statusOwner ?? '-'}; announcing: ${r.election.announcing.join(', ') || '-'}`,
    );
  lines.push('');
  lines.push(`${pad('NODE', 10)}${pad('SPEAKER', 9)}${pad('L2', 26)}${pad('BGP', 34)}MACHINES`);
  for (const n of r.nodes) {
    const speaker = n.speaker === undefined ? '?' : n.speaker ? 'up' : 'silent';
    const l2 = n.l2 === undefined ? '-' : n.l2 === '' ? 'eligible' : n.l2;
    const bgp = n.bgp === undefined ? '-' : n.bgp === '' ? 'advertised' : (n.bgp.split(':')[0] ?? '');
    const m = n.machines.map((x) => `${x.ip} ${x.state}${x.reason ? ` (${x.reason})` : ''}`).join('; ') || '-';
    lines.push(`${pad(n.name, 10)}${pad(speaker, 9)}${pad(l2, 26)}${pad(bgp, 34)}${m}`);
  }
  if (r.peers.length > 0) {
    lines.push('');
    lines.push(`${pad('NODE', 10)}${pad('PEER', 14)}${pad('ADDRESS', 18)}${pad('ASN', 14)}${pad('SESSION', 34)}${pad('BFD', 10)}PREFIXES`);
    for (const p of r.peers) {
      const session = p.state === undefined ? '?' : `${p.state}${p.reason ? ` (${p.reason})` : ''}`;
      const prefixes =
        p.prefixes
          .map(
            (x) =>
              `${x.prefix}${x.localPref !== undefined ? ` localPref ${x.localPref}` : ''}${x.communities.length ? ` communities ${x.communities.join(',')}` : ''}${x.largeCommunities.length ? ` large ${x.largeCommunities.join(',')}` : ''}`,
          )
          .join('; ') || '-';
      lines.push(
        `${pad(p.node, 10)}${pad(p.peer, 14)}${pad(p.address, 18)}${pad(p.asn, 14)}${pad(session, 34)}${pad(p.bfd ?? '-', 10)}${prefixes}`,
      );
    }
  }
  if (r.events.length > 0) {
    lines.push('');
    lines.push('recent events:');
    for (const e of r.events) lines.push(`  ${e.type} ${e.reason}${e.count > 1 ? ` (×${e.count})` : ''}: ${e.message}`);
  }
  if (!r.nats.reachable) lines.push('', `speakers: not asked (${r.nats.problem}); the above is the apiserver's part only`);
  return `${lines.join('\n')}\n`;
}
