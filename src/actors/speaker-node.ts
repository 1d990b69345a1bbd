// One node's speaker: the reconcile loop from what the node watches to what it does. On a relevant
// change (30 ms debounce) it parses the config (an invalid one keeps the last good one in force,
// and ConfigurationState/speaker-<node> says why), plans (domain/speaker-plan.ts), hands the L2
// view to the coordinator, the BGP peers and routes to the peer supervisor, and writes
// ServiceBGPStatus, ServiceL2Status (also after every take-over or release, coalesced over 20 ms)
// and the Events (notAnnounced when a reason changes, also after take-overs and releases;
// l2Conflict and interfaceNotFound from the announcer's reports; nodeAssigned on a take-over),
// through the rate limit of domain/event-limiter.ts. `stop()` is
// the SIGTERM sequence: drain (peers take our L2 IPs make-before-break), stop BGP (graceful
// restart peers keep our routes), withdraw, remove our ServiceL2Status. Objects, status, Events,
// the coordinator, the peers and time all come through ports, so the simulator runs this code.
import type { ClusterSpec, Transition } from './coordinator.js';
import type { Clock } from './coord-ports.js';
import { HeldEventTimer } from './held-event-timer.js';
import type { EventSink, KubeObject, ObjectSource, StatusSink } from './kube-ports.js';
import type { LogPort, PeerSpec } from './peer-specs.js';
import { formatRefusals, peerSpecs, refusedPeers, type PeerLimits } from './peer-specs.js';
import { parseConfig, formatConfigError, type Config, type RawObject, type SecretInfo } from '../domain/config.js';
import { planSpeaker, type EndpointSliceObj, type NodeObj, type ServiceObj, type SpeakerPlan } from '../domain/speaker-plan.js';
import { desiredRoutes, type RouteAttrs } from '../domain/bgp-advertisements.js';
import {
  currentReasons,
  l2ConflictEvent,
  l2Statuses,
  noInterfaceEvent,
  notAnnouncedEvents,
  speakerStatus,
  SpeakerEventReason,
  type Explained,
  type NotAnnouncedEvent,
  type ReportedReasons,
} from '../domain/speaker-status.js';
import { emptyLimiter, isNews, limitEvents, type EventLimits, type LimiterState } from '../domain/event-limiter.js';
import type { L2Conflict, NoInterface } from './l2-port.js';
import type { ServiceIpState } from '../machines/service-ip.machine.js';

/** What the speaker reads: core kinds and the metallb.io config kinds. */
export interface SpeakerSources {
  readonly services: ObjectSource;
  readonly endpointSlices: ObjectSource;
  readonly nodes: ObjectSource;
  readonly namespaces: ObjectSource;
  readonly secrets: ObjectSource;
  /** One source per metallb.io config kind. */
  readonly config: readonly ObjectSource[];
}

/** The part of the Coordinator the speaker drives. */
export interface SpeakerCoordinator {
  start(): void;
  setCluster(spec: ClusterSpec): void;
  owned(): string[];
  explain(ip: string): Explained;
  stateOf(ip: string): { state: ServiceIpState };
  onTransition(cb: (t: Transition) => void): () => void;
  /** Another station answered for an IP we announce (optional: l2Conflict Events). */
  onConflict?(cb: (c: L2Conflict) => void): () => void;
  /** An IP we should answer for has no interface to answer on (optional: interfaceNotFound Events). */
  onNoInterface?(cb: (p: NoInterface) => void): () => void;
  setDraining(on: boolean): void;
  shutdown(): void;
}

/** The part of the peer supervisor (BgpPeers) the speaker drives. */
export interface SpeakerPeers {
  reconcile(specs: readonly PeerSpec[]): void;
  setRoutes(routes: Map<string, Map<string, RouteAttrs>>): void;
  stop(graceful: boolean): Promise<void>;
}

export interface SpeakerNodeOptions {
  readonly node: string;
  /** Where the config objects live (metallb-system). */
  readonly namespace: string;
  /** --lb-class: only services of this class (unset: only services without one). */
  readonly loadBalancerClass?: string;
  readonly ignoreExcludeLB?: boolean;
  readonly sources: SpeakerSources;
  readonly coordinator: SpeakerCoordinator;
  readonly peers: SpeakerPeers;
  /** What the BGP backend cannot honour (default: the native backend's, nativePeerLimits). */
  readonly peerLimits?: PeerLimits;
  readonly events: EventSink;
  readonly status: StatusSink;
  readonly clock: Clock;
  readonly log: LogPort;
  /** Called with every configuration put in force (the speaker opens NATS once it has an L2Advertisement). */
  readonly onConfig?: (config: Config) => void;
  /** Longest wait in `stop()` for peers to take our L2 IPs (default 3000 ms). */
  readonly drainTimeoutMs?: number;
  /** The Event rate limit (default DEFAULT_EVENT_LIMITS). */
  readonly eventLimits?: EventLimits;
}

const RECONCILE_DEBOUNCE_MS = 30;
const L2_STATUS_COALESCE_MS = 20;
const DRAIN_POLL_MS = 50;
/** The same ARP conflict (IP, MAC) or missing interface is reported again after this long without it. */
const SIGHTING_QUIET_MS = 600_000;

type Change = { type: 'add' | 'update' | 'delete'; obj: KubeObject };

const specKey = (o: KubeObject) =>
  JSON.stringify([o.metadata?.generation, o.metadata?.labels, o.metadata?.annotations, (o as { spec?: unknown }).spec]);
const nodeKey = (o: KubeObject) =>
  JSON.stringify([
    o.metadata?.labels,
    ((o as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? []).map((c) => [c.type, c.status]),
    (o as { spec?: { unschedulable?: boolean } }).spec?.unschedulable,
  ]);
const labelsKey = (o: KubeObject) => JSON.stringify(o.metadata?.labels ?? {});
const nameLabels = (o: KubeObject) => ({ name: o.metadata?.name ?? '', labels: o.metadata?.labels ?? {} });

export class SpeakerNode {
  private lastGood: Config | undefined;
  private stale = false;
  private lastErrors = '';
  private lastRefusals = '';
  private current: SpeakerPlan | undefined;
  private reported: ReportedReasons = new Map();
  private limiter: LimiterState<NotAnnouncedEvent> = emptyLimiter();
  private readonly limiterTimer: HeldEventTimer;
  /** When each conflict / missing interface was last seen (ms, the clock's). */
  private readonly sightings = new Map<string, number>();
  private pending: unknown;
  private l2StatusTimer: unknown;
  private stopping = false;
  /** The key of each object's last update that was relevant (uid → key). */
  private readonly relevant = new Map<string, string>();
  /** When each IP left `announcing`-free states for a take-over (ms, the clock's). */
  private readonly startedAt = new Map<string, number>();
  private readonly takeoverListeners: Array<(ip: string, seconds: number) => void> = [];
  private readonly all: readonly ObjectSource[];
  private readonly unsubs: Array<() => void> = [];

  constructor(private readonly o: SpeakerNodeOptions) {
    this.limiterTimer = new HeldEventTimer(o.clock, () => this.offer([]));
    const s = o.sources;
    this.all = [s.services, s.endpointSlices, s.nodes, s.namespaces, s.secrets, ...s.config];
  }

  /** Subscribes to the sources and the coordinator, starts the coordinator; reconciles once synced. */
  start(): void {
    const s = this.o.sources;
    for (const c of s.config) c.onChange(this.onlyRelevant(specKey));
    s.nodes.onChange(this.onlyRelevant(nodeKey));
    s.namespaces.onChange(this.onlyRelevant(labelsKey));
    for (const src of [s.services, s.endpointSlices, s.secrets]) src.onChange(() => this.schedule());
    const coord = this.o.coordinator;
    this.unsubs.push(coord.onTransition((t) => this.onTransition(t)));
    if (coord.onConflict) this.unsubs.push(coord.onConflict((c) => this.onConflict(c)));
    if (coord.onNoInterface) this.unsubs.push(coord.onNoInterface((p) => this.onNoInterface(p)));
    void Promise.all(this.all.map((x) => x.synced)).then(() => {
      this.o.log.info('caches synced', { event: 'informers.synced' });
      this.schedule();
    });
    this.o.coordinator.start();
  }

  /** Every source has listed once. */
  synced(): boolean {
    return this.all.every((x) => x.isSynced());
  }
  /** A valid configuration was loaded at least once. */
  loaded(): boolean {
    return this.lastGood !== undefined;
  }
  /** What readiness still waits for (empty when ready). */
  waitingFor(): string[] {
    return [...(this.synced() ? [] : ['informers not synced']), ...(this.loaded() ? [] : ['no valid configuration yet'])];
  }
  /** Running on the last good configuration because the latest one is invalid. */
  isStale(): boolean {
    return this.stale;
  }
  /** The current plan (undefined before the first valid configuration). */
  plan(): SpeakerPlan | undefined {
    return this.current;
  }

  /** Called on every take-over of an IP, with the time from leaving standby to announcing. */
  onTakeover(cb: (ip: string, seconds: number) => void): void {
    this.takeoverListeners.push(cb);
  }

  /** Reconciles now (the debounced path calls this; the simulator may too). */
  reconcile(): void {
    if (this.stopping || !this.synced()) return;
    const { node, sources: s, status, log } = this.o;
    const r = parseConfig({
      objects: s.config.flatMap((c) => c.list()) as unknown as RawObject[],
      secrets: s.secrets.list().map((x) => this.secretInfo(x)),
      namespace: this.o.namespace,
      nodes: s.nodes.list().map(nameLabels),
      namespaces: s.namespaces.list().map(nameLabels),
    });
    if (r.ok) {
      this.lastGood = r.config;
      this.stale = false;
      if (this.lastErrors !== '') log.info('configuration valid again', { event: 'config.loaded' });
      this.lastErrors = '';
    } else {
      const summary = r.errors.map(formatConfigError).join('; ');
      this.stale = this.lastGood !== undefined;
      if (summary !== this.lastErrors)
        log.error('invalid configuration, keeping the last good one', { event: 'config.invalid', err: summary, stale: this.stale });
      this.lastErrors = summary;
      void status.configurationState(`speaker-${node}`, false, summary).catch(() => undefined);
    }
    if (!this.lastGood) return;
    this.o.onConfig?.(this.lastGood);
    const nodes = s.nodes.list();
    const plan = planSpeaker({
      node,
      config: this.lastGood,
      services: s.services.list() as unknown as ServiceObj[],
      endpointSlices: s.endpointSlices.list() as unknown as EndpointSliceObj[],
      nodes: nodes as unknown as NodeObj[],
      ...(this.o.loadBalancerClass ? { loadBalancerClass: this.o.loadBalancerClass } : {}),
      ignoreExcludeLB: this.o.ignoreExcludeLB === true,
    });
    this.current = plan;
    this.o.coordinator.setCluster(plan.l2);
    // Peers with fields the native backend cannot honour get no session: logged and reported, not dropped silently.
    const refused = refusedPeers(plan.bgp.peers, this.o.peerLimits);
    const refusals = formatRefusals(refused);
    if (refusals !== this.lastRefusals)
      for (const x of refused) {
        log.error('BGPPeer refused on this node', {
          event: 'bgp.peerRefused',
          kind: x.kind,
          name: x.name,
          field: x.field,
          value: x.value,
          reason: x.message,
        });
        // On the BGPPeer, naming the field (only when the set of refusals changes: no flood).
        this.o.events.record(
          { kind: 'BGPPeer', apiVersion: 'metallb.io/v1beta2', namespace: this.o.namespace, name: x.name },
          'Warning',
          SpeakerEventReason.peerRefused,
          `refused on node "${node}": ${x.field}: ${JSON.stringify(x.value)}: ${x.message}`,
        );
      }
    this.lastRefusals = refusals;
    if (r.ok) void status.configurationState(`speaker-${node}`, refused.length === 0, refusals).catch(() => undefined);
    this.o.peers.reconcile(peerSpecs(plan.bgp.peers, this.lastGood.bfdProfiles, this.o.peerLimits));
    const self = nodes.find((n) => n.metadata?.name === node);
    const routes = desiredRoutes({
      node: { name: node, labels: self?.metadata?.labels ?? {} },
      peers: plan.bgp.advPeers,
      advertisements: plan.bgp.advertisements,
      services: plan.bgp.services,
    });
    this.o.peers.setRoutes(routes);
    const coord = this.o.coordinator;
    const explained = new Map(plan.l2.services.flatMap((x) => x.ips.map((ip) => [ip, coord.explain(ip)] as const)));
    const out = speakerStatus({ node, plan, routes, owned: new Set(coord.owned()), explained, reported: this.reported });
    this.reported = out.reported;
    void status.reconcile('servicebgpstatuses', node, out.bgp).catch(() => undefined);
    void status.reconcile('servicel2statuses', node, out.l2).catch(() => undefined);
    this.offer(out.events);
  }

  /** The reasons again after take-overs and releases (NATS loss, fencing, a move): Events for the changed ones. */
  private reportReasons(): void {
    const plan = this.current;
    if (!plan || this.stopping) return;
    const coord = this.o.coordinator;
    const explained = new Map(plan.l2.services.flatMap((x) => x.ips.map((ip) => [ip, coord.explain(ip)] as const)));
    const { reasons, announcing } = currentReasons(this.o.node, plan, explained);
    const out = notAnnouncedEvents(this.o.node, reasons, this.reported, announcing);
    this.reported = out.reported;
    this.offer(out.events);
  }

  /** Events through the rate limit; held ones go out when it allows, if still true then. */
  private offer(events: readonly NotAnnouncedEvent[]): void {
    if (this.stopping) return;
    const { clock } = this.o;
    const out = limitEvents(
      this.limiter,
      events.map((e) => ({ bucket: `${e.namespace}/${e.name}\n${e.why}`, slot: e.slot, event: e })),
      // A held notAnnounced Event is still true while its slot still has its reason.
      (o) => o.event.reason !== SpeakerEventReason.notAnnounced || this.reported.get(o.slot) === o.event.why,
      clock.now(),
      this.o.eventLimits,
    );
    this.limiter = out.state;
    for (const { event: e, unreported } of out.send) {
      const more =
        unreported > 0 ? ` (${unreported} earlier change${unreported === 1 ? '' : 's'} of this reason not reported: rate limit)` : '';
      this.o.events.record({ kind: 'Service', namespace: e.namespace, name: e.name, apiVersion: 'v1' }, e.type, e.reason, e.message + more);
    }
    this.limiterTimer.arm(out.nextAt);
  }

  /** Whether a repeated sighting is news (remembered for SIGHTING_QUIET_MS; old ones are forgotten). */
  private news(slot: string): boolean {
    const now = this.o.clock.now();
    const fresh = isNews(this.sightings.get(slot), now, SIGHTING_QUIET_MS);
    this.sightings.set(slot, now);
    if (this.sightings.size > 4096) for (const [k, at] of this.sightings) if (now - at >= SIGHTING_QUIET_MS) this.sightings.delete(k);
    return fresh;
  }

  private onConflict(c: L2Conflict): void {
    for (const s of this.current?.services ?? [])
      if (s.ips.includes(c.ip)) {
        const e = l2ConflictEvent(this.o.node, s.key, c);
        if (this.news(e.slot)) this.offer([e]);
      }
  }

  private onNoInterface(p: NoInterface): void {
    for (const s of this.current?.services ?? [])
      if (s.ips.includes(p.ip)) {
        const e = noInterfaceEvent(
          this.o.node,
          s.key,
          s.l2Ads.map((a) => a.name),
          p,
        );
        if (this.news(e.slot)) this.offer([e]);
      }
  }

  /**
   * The SIGTERM sequence: drain (wait, at most drainTimeoutMs, for peers to take our IPs), stop
   * BGP gracefully and BFD, withdraw what is left, remove our ServiceL2Status, flush Events.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const { clock, coordinator: coord, node } = this.o;
    if (this.pending !== undefined) {
      clock.clearTimeout(this.pending);
      this.pending = undefined;
    }
    coord.setDraining(true);
    const deadline = clock.now() + (this.o.drainTimeoutMs ?? 3000);
    while (coord.owned().length > 0 && clock.now() < deadline)
      await new Promise<void>((r) => {
        clock.setTimeout(r, DRAIN_POLL_MS);
      });
    const peersStopped = this.o.peers.stop(true);
    coord.shutdown();
    for (const u of this.unsubs.splice(0)) u();
    this.limiterTimer.stop();
    if (this.l2StatusTimer !== undefined) {
      clock.clearTimeout(this.l2StatusTimer);
      this.l2StatusTimer = undefined;
    }
    await this.o.status.reconcile('servicel2statuses', node, []).catch(() => undefined);
    await Promise.allSettled([this.o.events.flush(), peersStopped]);
  }

  private secretInfo(x: KubeObject): SecretInfo {
    const s = x as KubeObject & { type?: string; data?: Record<string, string> };
    return {
      name: s.metadata?.name ?? '',
      namespace: s.metadata?.namespace ?? this.o.namespace,
      ...(s.type ? { type: s.type } : {}),
      ...(s.data ? { data: s.data } : {}),
    };
  }

  private schedule(): void {
    if (this.pending !== undefined || this.stopping) return;
    this.pending = this.o.clock.setTimeout(() => {
      this.pending = undefined;
      try {
        this.reconcile();
      } catch (err) {
        this.o.log.error('reconcile failed', { event: 'reconcile.error', bug: true, err: err instanceof Error ? err : String(err) });
      }
    }, RECONCILE_DEBOUNCE_MS);
  }

  /**
   * Updates that change nothing the speaker reads are skipped: the controller writes
   * IPAddressPool status counts every second and kubelets refresh Node heartbeats every 10 s, and
   * each would cost a full reconcile (config parse, plan and election over every service).
   */
  private onlyRelevant(keyOf: (o: KubeObject) => string): (ev: Change) => void {
    return (ev) => {
      const id = ev.obj.metadata?.uid ?? `${ev.obj.kind ?? ''}/${ev.obj.metadata?.namespace ?? ''}/${ev.obj.metadata?.name ?? ''}`;
      if (ev.type === 'delete') {
        this.relevant.delete(id);
        this.schedule();
        return;
      }
      const k = keyOf(ev.obj);
      if (ev.type === 'update' && this.relevant.get(id) === k) return;
      this.relevant.set(id, k);
      this.schedule();
    };
  }

  private onTransition(t: Transition): void {
    const { clock, node } = this.o;
    this.o.log.info('serviceIp transition', {
      event: 'serviceIp.transition',
      machine: 'serviceIp',
      ip: t.ip,
      service: t.service,
      from: t.from,
      to: t.to,
      reason: t.reason,
      epoch: t.epoch,
    });
    if (t.from !== 'announcing' && t.to !== 'announcing') this.startedAt.set(t.ip, clock.now());
    if (t.to === 'announcing') {
      const since = this.startedAt.get(t.ip);
      if (since !== undefined) for (const cb of this.takeoverListeners) cb(t.ip, (clock.now() - since) / 1000);
      const [ns = '', name = ''] = t.service.split('/');
      this.o.events.record(
        { kind: 'Service', namespace: ns, name, apiVersion: 'v1' },
        'Normal',
        'nodeAssigned',
        `announcing from node "${node}" with protocol "layer2"`,
      );
    }
    // Every transition may change a reason (handover, fencing, NATS): the coalesced pass reports them.
    this.scheduleL2Status();
  }

  /**
   * Coalesced: a take-over or a re-election moves hundreds of IPs in one burst, and each write
   * walks every service (one write per transition made a 1,000-service burst quadratic).
   */
  private scheduleL2Status(): void {
    if (this.l2StatusTimer !== undefined || this.stopping) return;
    this.l2StatusTimer = this.o.clock.setTimeout(() => {
      this.l2StatusTimer = undefined;
      const plan = this.current;
      if (!plan || this.stopping) return;
      void this.o.status
        .reconcile('servicel2statuses', this.o.node, l2Statuses(this.o.node, plan, new Set(this.o.coordinator.owned())))
        .catch(() => undefined);
      this.reportReasons();
    }, L2_STATUS_COALESCE_MS);
  }
}
