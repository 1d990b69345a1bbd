// The speaker's coordination actor system (docs/coordination.md): heartbeats and claims on the
// bus, the membership table, the election, one serviceIp machine per IP this node owns or has
// owned, the L2 announcer port and the epoch store. All time comes from the injected clock, so
// the same code runs in the speaker (real clock, NATS) and in the simulator (simulated clock,
// in-memory bus).
//
// serviceIp actors are created lazily, the first time this node is elected for an IP: a node
// never elected for an IP is in `standby` with the reason the election gives (`explain`), and a
// 10,000-IP cluster does not cost 10,000 actors per speaker. The rest of the per-IP state is
// compact: the static IP table is derived once per services list (and shared by coordinators
// given the same list, as in the simulator), the last elected owner and highest known epoch
// are typed arrays indexed by IP, and peers' claims are kept as the decoded lists.
import { createActor, type Actor } from 'xstate';
import type { L2AnnouncerPort, L2Conflict, NoInterface } from './l2-port.js';
import type { Clock, CoordBus, EpochStore, KvFailure } from './coord-ports.js';
import { FAILOVER_HEADER, type TraceHeaders, type TraceSpan, type Tracer } from './trace-port.js';
import {
  decodeClaims,
  decodeDrain,
  decodeEpochRecord,
  decodeHeartbeat,
  encodeClaims,
  encodeEpochRecord,
  encodeHeartbeat,
  type Claim,
  type Claims,
  type Decoded,
  type Heartbeat,
} from '../codecs/coord.js';
import {
  decide,
  electionHash,
  electOwner,
  HashOrder,
  Reason,
  reasonFor,
  type ElectionNode,
  type ElectionOptions,
  type L2AdView,
  type LiveView,
  type ServiceIpView,
} from '../domain/election.js';
import { DEFAULT_MEMBERSHIP, Membership, type MembershipConfig, type MembershipEvent } from '../domain/membership.js';
import { Presence } from '../domain/presence.js';
import { decodeConnAdvisory } from '../codecs/nats-advisory.js';
import {
  allOf,
  claimsSubject,
  drainSubject,
  epochKey,
  heartbeatSubject,
  Kind,
  presenceSubjects,
  STORE_PROBE_KEY,
} from '../domain/subjects.js';
import { serviceIpMachine, type ServiceIpEvent, type ServiceIpState } from '../machines/service-ip.machine.js';
import { natsPathConnected, natsPathMachine, type NatsPathState } from '../machines/nats-path.machine.js';

export interface ServiceSpec {
  /** namespace/name */
  readonly key: string;
  /** LB IPs, first one first (it is the election key). */
  readonly ips: readonly string[];
  readonly ads: readonly L2AdView[];
  readonly etpLocal: boolean;
  readonly endpointNodes: ReadonlySet<string>;
  /** Interfaces the L2Advertisements restrict announcing to (absent: every eligible interface). */
  readonly interfaces?: readonly string[];
}

export interface ClusterSpec {
  readonly nodes: readonly ElectionNode[];
  readonly services: readonly ServiceSpec[];
}

export interface Transition {
  readonly at: number;
  readonly node: string;
  readonly ip: string;
  readonly service: string;
  readonly from: ServiceIpState;
  readonly to: ServiceIpState;
  readonly reason: Reason | undefined;
  readonly epoch: number;
  /** The event that caused it (XState event type; `xstate.after.*` for a timer), when known. */
  readonly event?: string;
}

export interface CoordinatorOptions {
  readonly cluster: string;
  readonly node: string;
  /** Incarnation: strictly greater on every restart (the real speaker uses its start time in ms). */
  readonly inc: number;
  readonly clock: Clock;
  readonly bus: CoordBus;
  readonly l2: L2AnnouncerPort;
  readonly epochs?: EpochStore;
  readonly membership?: MembershipConfig;
  /** Full claims are republished this often (and on every change). */
  readonly claimsRefreshMs?: number;
  /** After our NATS connection returns, wait this long (hearing peers) before taking over anything. */
  readonly resyncMs?: number;
  /**
   * With an epoch store, the first takeover after start waits until the store has answered once
   * (the NATS servers are clustered), at most this long (default 30 s).
   */
  readonly storeWaitMs?: number;
  readonly handoverTimeoutMs?: number;
  readonly election?: ElectionOptions;
  /** Shared memo of the hash order (the simulator shares one across speakers). */
  readonly hashOrder?: HashOrder;
  /**
   * Payload decoders (default: src/codecs/coord.ts). The simulator passes memoised ones, so a
   * message delivered to 1,000 speakers is decoded once; results are treated as read-only.
   */
  readonly codec?: CoordDecoders;
  /**
   * Death fast path: the NATS account whose connect/disconnect advisories the system account
   * exports to us (src/domain/nats-config.ts). A peer whose every connection closes is dead a
   * few ms later (src/domain/presence.ts) instead of after the heartbeat window. Absent: off.
   * A function when it is learnt later (operator mode: the account's public key, from the minted
   * credential): subscribed at the first bus up where it answers.
   */
  readonly presenceAccount?: string | (() => string | undefined);
  /**
   * Failover traces (docs/observability.md): verdict → election → claim → first announcement, the
   * context carried in the heartbeat that follows a verdict and in the claims that follow a
   * takeover. Absent: nothing traced, no header sent.
   */
  readonly tracer?: Tracer;
  readonly log?: (rec: Record<string, unknown>) => void;
}

export interface CoordDecoders {
  heartbeat(data: Uint8Array): Decoded<Heartbeat>;
  claims(data: Uint8Array): Decoded<Claims>;
}

const DECODERS: CoordDecoders = { heartbeat: decodeHeartbeat, claims: decodeClaims };

/** One service IP, static: derived from the services list only. */
interface IpInfo {
  readonly ip: string;
  /** Position in the table: index into the per-coordinator typed arrays. */
  readonly index: number;
  readonly svc: ServiceSpec;
  readonly view: ServiceIpView;
}

interface IpTable {
  readonly list: readonly IpInfo[];
  readonly byIp: ReadonlyMap<string, IpInfo>;
}

/** Tables by services list: coordinators handed the same list (the simulator) share one. */
const tables = new WeakMap<readonly ServiceSpec[], IpTable>();

function ipTable(services: readonly ServiceSpec[]): IpTable {
  const hit = tables.get(services);
  if (hit) return hit;
  const list: IpInfo[] = [];
  const byIp = new Map<string, IpInfo>();
  for (const svc of services) {
    const firstIp = svc.ips[0];
    if (firstIp === undefined) continue;
    const view: ServiceIpView = { firstIp, ads: svc.ads, etpLocal: svc.etpLocal, endpointNodes: svc.endpointNodes };
    for (const ip of svc.ips) {
      if (byIp.has(ip)) continue;
      const info = { ip, index: list.length, svc, view };
      list.push(info);
      byIp.set(ip, info);
    }
  }
  const t = { list, byIp };
  tables.set(services, t);
  return t;
}

/** The L2Advertisement interfaces a service is announced on; undefined (none listed) = every eligible one. */
function interfacesOf(svc: ServiceSpec): readonly string[] | undefined {
  return svc.interfaces && svc.interfaces.length > 0 ? svc.interfaces : undefined;
}

function sameInterfaces(a: ServiceSpec, b: ServiceSpec): boolean {
  const x = interfacesOf(a) ?? [];
  const y = new Set(interfacesOf(b) ?? []);
  return new Set(x).size === y.size && x.every((i) => y.has(i));
}

/** An IP this node has been elected for at least once: it has a serviceIp actor. */
interface Held {
  info: IpInfo;
  readonly actor: Actor<typeof serviceIpMachine>;
  state: ServiceIpState;
}

/** A peer's last claims: the decoded list, indexed on demand. */
interface PeerClaims {
  readonly inc: number;
  readonly seq: number;
  readonly list: readonly Claim[];
  index?: Map<string, number>;
}

export class Coordinator {
  readonly node: string;
  readonly membership: Membership;
  /** Peers' NATS connections (the death fast path); undefined when it is off. */
  readonly presence: Presence | undefined;
  private readonly o: CoordinatorOptions;
  private readonly clock: Clock;
  private readonly order: HashOrder;
  private readonly decode: CoordDecoders;
  private nodes = new Map<string, ElectionNode>();
  private names: readonly string[] = [];
  private nodeIndex = new Map<string, number>();
  private table: IpTable = { list: [], byIp: new Map() };
  /** IPs with a serviceIp actor (elected here at least once), by IP. */
  private readonly held = new Map<string, Held>();
  /** Owner in our last decision per IP (index into `names`, -1 none): targeted re-election on a death. */
  private lastOwner = new Int32Array(0);
  /** Highest epoch known per IP (claims and KV), by table index. */
  private knownEpoch = new Float64Array(0);
  /**
   * Last peer heard claiming each IP (index into `names`, -1 none): the incumbent a newly
   * elected node waits for to hand the IP over (failback), without indexing every peer's claims.
   */
  private claimer = new Int32Array(0);
  /** Claims last heard from each peer. */
  private readonly peerClaims = new Map<string, PeerClaims>();
  private logic: typeof serviceIpMachine | undefined;
  private readonly unsubs: Array<() => void> = [];
  private readonly timers = new Set<unknown>();
  private hbSeq = 0;
  private claimsSeq = 0;
  private lastClaimsCount = 0;
  /** The health of our path to NATS (src/machines/nats-path.machine.ts). */
  private readonly path: Actor<typeof natsPathMachine>;
  private pathState: NatsPathState;
  /**
   * Settled and done with the work settling brings (heartbeat `settled`): only then do owners
   * release the IPs we win back to us, so the release finds us idle (failback).
   */
  private handoverReady = false;
  private localCarrier = true;
  private draining = false;
  private reconcilePending = false;
  /** Nodes declared dead since the last reconcile: only their IPs need a new election. */
  private readonly deadSince = new Set<string>();
  private fullReconcile = true;
  private claimsPending = false;
  private readonly pendingEpochs = new Set<string>();
  /** Epoch store failures: compare-and-sets lost to another writer, and writes deferred because the KV was unavailable. */
  private readonly kvCounts = { racesLost: 0, outages: 0 };
  private readonly listeners: Array<(t: Transition) => void> = [];
  private readonly tableListeners: Array<() => void> = [];
  private stopped = false;
  private presenceSubscribed = false;
  /** A read of the epoch store is in flight (until it first answers; see probeStore). */
  private storeProbing = false;
  private storeProbeFailures = 0;
  /** Tracing on: a peer's verdict on a death we have not judged yet (its headers), by dead node. */
  private readonly heardVerdicts = new Map<string, { readonly headers: TraceHeaders; readonly at: number }>();
  /** Tracing on: our verdict span per dead node, until the reconcile that follows it ran. */
  private readonly verdicts = new Map<string, TraceSpan>();
  /** Tracing on: the open claim span per IP taken over after a death (ended when the claims go out). */
  private readonly claimSpans = new Map<string, TraceSpan>();

  constructor(opts: CoordinatorOptions) {
    this.o = opts;
    this.node = opts.node;
    this.clock = opts.clock;
    this.order = opts.hashOrder ?? new HashOrder();
    this.decode = opts.codec ?? DECODERS;
    this.membership = new Membership(opts.node, opts.membership ?? DEFAULT_MEMBERSHIP);
    this.presence = opts.presenceAccount === undefined ? undefined : new Presence(opts.node);
    // A starting speaker hears its peers for one resync window before taking anything over, so a
    // rolling start does not make the first speaker up claim every IP for a moment.
    this.path = createActor(natsPathMachine, {
      clock: this.clock,
      input: {
        connected: opts.bus.isUp(),
        now: opts.clock.now(),
        detectMs: this.cfg.intervalMs * this.cfg.misses,
        resyncMs: opts.resyncMs ?? this.cfg.intervalMs * this.cfg.misses,
        awaitStore: opts.epochs !== undefined,
        ...(opts.storeWaitMs === undefined ? {} : { storeWaitMs: opts.storeWaitMs }),
      },
    });
    this.pathState = this.path.getSnapshot().value as NatsPathState;
    this.path.subscribe((snap) => this.onPath(snap.value as NatsPathState));
  }

  /** Our NATS path works: the client is connected AND our own heartbeats come back to us. */
  private get natsUp(): boolean {
    return natsPathConnected(this.pathState);
  }

  /** NATS is up and the resync window after (re)connecting has passed. */
  private get natsSettled(): boolean {
    return this.pathState === 'up';
  }

  /** The NATS path machine's state (connecting, resyncing, up, down, echoLost). */
  natsPath(): NatsPathState {
    return this.pathState;
  }

  private get cfg(): MembershipConfig {
    return this.membership.config;
  }

  onTransition(cb: (t: Transition) => void): () => void {
    this.listeners.push(cb);
    return () => {
      const i = this.listeners.indexOf(cb);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** The configuration's IPs changed (some may have come or gone: `machines()` lists them). */
  onTable(cb: () => void): void {
    this.tableListeners.push(cb);
  }

  /** Another station answered for an IP this node announces (the L2 port's report, for Events). */
  onConflict(cb: (c: L2Conflict) => void): () => void {
    return this.o.l2.onConflict(cb);
  }

  /** An IP this node should answer for has no interface to answer on (the L2 port's report, for Events). */
  onNoInterface(cb: (p: NoInterface) => void): () => void {
    return this.o.l2.onNoInterface?.(cb) ?? (() => undefined);
  }

  start(): void {
    const { bus, cluster } = this.o;
    this.unsubs.push(bus.subscribe(allOf(cluster, Kind.heartbeat), (_s, d, h) => this.onHeartbeat(d, h)));
    this.unsubs.push(bus.subscribe(allOf(cluster, Kind.claims), (_s, d, h) => this.onClaims(d, h)));
    // Operator commands (mooringctl drain/undrain <node>); only an admin user may publish them.
    this.unsubs.push(bus.subscribe(drainSubject(cluster, this.node), (_s, d) => this.onDrain(d)));
    this.subscribePresence();
    this.unsubs.push(bus.onStatus((up) => this.onBusStatus(up)));
    this.unsubs.push(this.o.l2.onConflict((c) => this.send(c.ip, { type: 'l2.conflict', mac: c.mac })));
    this.unsubs.push(this.o.l2.onCarrier((c) => this.setCarrier(c.up)));
    this.every(this.cfg.intervalMs, () => this.publishHeartbeat());
    this.scheduleSweep(this.cfg.intervalMs);
    this.every(this.o.claimsRefreshMs ?? 5000, () => {
      this.publishClaims();
      this.retryEpochs();
    });
    this.publishHeartbeat();
    this.path.start();
    this.probeStore();
  }

  /**
   * Until the epoch store first answers, reads it every 200 ms while connected; its answer lets
   * the path machine settle (`awaitingStore`): JetStream answers only once the NATS servers are
   * clustered, so on a fresh install no speaker takes IPs while its peers may be unheard.
   */
  private probeStore(): void {
    const store = this.o.epochs;
    if (!store || this.storeProbing || this.stopped || !this.natsUp || this.path.getSnapshot().context.clusterFormed) return;
    this.storeProbing = true;
    const t0 = this.clock.now();
    const retry = (why: string): void => {
      this.storeProbing = false;
      this.storeProbeFailures++;
      if (this.storeProbeFailures % 25 === 1)
        this.o.log?.({ component: 'coordinator', node: this.node, event: 'kv.waiting', failures: this.storeProbeFailures, err: why });
      this.once(200, () => this.probeStore());
    };
    store.get(STORE_PROBE_KEY).then(
      (r) => {
        if (this.stopped) return;
        if (!r.ok) return retry(r.error);
        this.storeProbing = false;
        this.o.log?.({
          component: 'coordinator',
          node: this.node,
          event: 'kv.ready',
          ms: this.clock.now() - t0,
          failures: this.storeProbeFailures,
        });
        this.path.send({ type: 'store.ready' });
      },
      (err: unknown) => retry(String(err)),
    );
  }

  /** Stops timers and actors without withdrawing (a crash, as the simulator models it). */
  halt(): void {
    this.stopped = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const u of this.unsubs.splice(0)) u();
    this.path.stop();
    for (const h of this.held.values()) h.actor.stop();
  }

  /** Graceful stop (SIGTERM): withdraw everything, publish empty claims, then halt. */
  shutdown(): void {
    for (const h of this.held.values()) h.actor.send({ type: 'ip.remove' });
    this.publishClaims();
    this.halt();
  }

  setCluster(spec: ClusterSpec): void {
    this.nodes = new Map(spec.nodes.map((n) => [n.name, n]));
    this.names = spec.nodes.map((n) => n.name);
    this.nodeIndex = new Map(this.names.map((n, i) => [n, i]));
    const old = this.table;
    const next = ipTable(spec.services);
    if (next !== old) {
      const known = new Float64Array(next.list.length);
      for (const info of old.list) {
        const e = this.knownEpoch[info.index] ?? 0;
        const to = e > 0 ? next.byIp.get(info.ip) : undefined;
        if (to) known[to.index] = e;
      }
      this.knownEpoch = known;
      this.table = next;
      for (const [ip, h] of this.held) {
        const info = next.byIp.get(ip);
        if (info && !sameInterfaces(h.info.svc, info.svc))
          h.actor.send({ type: 'ip.interfacesChanged', interfaces: interfacesOf(info.svc) });
        if (info) {
          h.info = info;
          continue;
        }
        h.actor.send({ type: 'ip.remove' });
        h.actor.stop();
        this.held.delete(ip);
      }
      for (const l of this.tableListeners) l();
    }
    // Node indices may have changed: owners are recomputed by the full reconcile this schedules.
    this.lastOwner = new Int32Array(next.list.length).fill(-1);
    this.claimer = new Int32Array(next.list.length).fill(-1);
    for (const [node, pc] of this.peerClaims) for (const c of pc.list) this.setClaimer(c.ip, node, true);
    this.scheduleReconcile();
  }

  setCarrier(up: boolean): void {
    if (this.localCarrier === up) return;
    this.localCarrier = up;
    this.publishHeartbeat();
    this.scheduleReconcile();
  }

  /** Planned handover: peers elect around us; our IPs stay up until their new owners claim them. */
  setDraining(on: boolean): void {
    if (this.draining === on) return;
    this.draining = on;
    this.publishHeartbeat();
    this.scheduleReconcile();
  }

  /** Epoch store failures so far: CAS races lost (someone wrote first) and KV outages (write deferred). */
  kvFailures(): Readonly<{ racesLost: number; outages: number }> {
    return { ...this.kvCounts };
  }

  /** IPs this node announces now. */
  owned(): string[] {
    const out: string[] = [];
    for (const h of this.held.values()) if (h.state === 'announcing') out.push(h.info.ip);
    return out;
  }

  stateOf(ip: string): { state: ServiceIpState; reason: Reason | undefined; epoch: number } {
    const info = this.table.byIp.get(ip);
    if (!info) return { state: 'idle', reason: Reason.notConfigured, epoch: 0 };
    const h = this.held.get(ip);
    if (h) {
      const s = h.actor.getSnapshot();
      return { state: s.value as ServiceIpState, reason: s.context.reason, epoch: s.context.epoch };
    }
    return { state: 'standby', reason: this.unheldReason(this.decideFor(info).reason), epoch: 0 };
  }

  /**
   * Why an IP without a machine here is not announced: the election's reason, or, where the
   * election picks us, that we take nothing over yet (machines are made by the first reconcile
   * after NATS settles).
   */
  private unheldReason(elected: Reason | undefined): Reason {
    if (elected !== undefined) return elected;
    return this.natsSettled ? Reason.notOwner : this.natsUp ? Reason.natsSettling : Reason.natsDisconnected;
  }

  /**
   * Every IP of the configuration as this node's serviceIp machine has it now (`stateOf` for each,
   * one live view for all): the state feed's snapshot, so an IP never elected here is listed too.
   */
  machines(): Array<{ ip: string; service: string; state: ServiceIpState; reason: Reason | undefined; epoch: number }> {
    const live = this.liveView();
    return this.table.list.map((info) => {
      const h = this.held.get(info.ip);
      if (!h)
        return {
          ip: info.ip,
          service: info.svc.key,
          state: 'standby',
          reason: this.unheldReason(this.decideFor(info, live).reason),
          epoch: 0,
        };
      const s = h.actor.getSnapshot();
      return { ip: info.ip, service: info.svc.key, state: s.value as ServiceIpState, reason: s.context.reason, epoch: s.context.epoch };
    });
  }

  /** Why this node does or does not announce `ip`, and who the election picks. */
  explain(ip: string): { owner: string | undefined; state: ServiceIpState; reason: Reason | undefined } {
    const info = this.table.byIp.get(ip);
    const owner = info ? this.decideFor(info).owner : undefined;
    return { owner, ...this.stateOf(ip) };
  }

  // --- internals -------------------------------------------------------------------------------

  private every(ms: number, fn: () => void): void {
    const tick = (): void => {
      this.timers.delete(id);
      if (this.stopped) return;
      fn();
      id = this.clock.setTimeout(tick, ms);
      this.timers.add(id);
    };
    let id = this.clock.setTimeout(tick, ms);
    this.timers.add(id);
  }

  private once(ms: number, fn: () => void): void {
    const id = this.clock.setTimeout(() => {
      this.timers.delete(id);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(id);
  }

  /**
   * Runs `fn` once `now()` has reached `at` (the clock's `setTimeoutAt` when it has one); a timer
   * that still fires early (a host without it) waits again for the rest.
   */
  private onceAt(at: number, fn: () => void): void {
    const cb = (): void => {
      this.timers.delete(id);
      if (this.stopped) return;
      if (this.clock.now() < at) this.onceAt(at, fn);
      else fn();
    };
    const id = this.clock.setTimeoutAt
      ? this.clock.setTimeoutAt(cb, at)
      : this.clock.setTimeout(cb, Math.max(1, Math.ceil(at - this.clock.now())));
    this.timers.add(id);
  }

  private liveView(): LiveView {
    const me = this.node;
    const m = this.membership;
    return {
      isLive: (n) => m.isLive(n),
      carrierUp: (n) => (n === me ? this.localCarrier : m.l2Ready(n)),
      draining: (n) => (n === me ? this.draining : m.draining(n)),
    };
  }

  private decideFor(info: IpInfo, live = this.liveView()) {
    return decide({ svc: info.view, nodes: this.nodes, live, me: this.node, order: this.order, names: this.names, opts: this.o.election });
  }

  private publishHeartbeat(headers?: TraceHeaders): void {
    if (this.stopped) return;
    this.path.send({ type: 'hb.sent', seq: this.hbSeq + 1, at: this.clock.now() });
    this.o.bus.publish(
      heartbeatSubject(this.o.cluster, this.node),
      encodeHeartbeat({
        v: 1,
        node: this.node,
        inc: this.o.inc,
        seq: ++this.hbSeq,
        intervalMs: this.cfg.intervalMs,
        l2Ready: this.localCarrier,
        draining: this.draining,
        settled: this.natsSettled && this.handoverReady,
        ...this.connsField(),
      }),
      headers,
    );
  }

  /** Our connections for the heartbeat (peers' fast path), when the bus can name them. */
  private connsField(): { conns?: Heartbeat['conns'] } {
    const conns = this.o.bus.connections?.();
    return conns && conns.length > 0 ? { conns } : {};
  }

  private publishClaims(): void {
    if (this.stopped) return;
    const claims: Claim[] = [];
    for (const h of this.held.values()) {
      if (h.state === 'announcing' || h.state === 'withdrawing') claims.push({ ip: h.info.ip, epoch: h.actor.getSnapshot().context.epoch });
    }
    this.lastClaimsCount = claims.length;
    // Claims that follow a traced takeover carry its context: the peers that hear them join the trace.
    const traced = this.claimSpans.size > 0 ? [...this.claimSpans.values()] : undefined;
    this.claimSpans.clear();
    this.o.bus.publish(
      claimsSubject(this.o.cluster, this.node),
      encodeClaims({ v: 1, node: this.node, inc: this.o.inc, seq: ++this.claimsSeq, claims }),
      traced?.[0]?.headers(),
    );
    for (const s of traced ?? []) s.end();
  }

  private scheduleClaims(delayMs = 0): void {
    if (this.claimsPending) return;
    this.claimsPending = true;
    this.once(delayMs, () => this.flushClaims());
  }

  /** Publishes scheduled claims now (a no-op if none are pending). */
  private flushClaims(): void {
    if (!this.claimsPending) return;
    this.claimsPending = false;
    this.publishClaims();
  }

  private scheduleReconcile(onlyDead?: string): void {
    if (onlyDead === undefined) this.fullReconcile = true;
    else this.deadSince.add(onlyDead);
    if (this.reconcilePending) return;
    this.reconcilePending = true;
    const run = (): void => {
      this.reconcilePending = false;
      this.reconcile();
    };
    // A death is decided right after the I/O already waiting (a heartbeat that arrived meanwhile
    // is heard first), not a timer turn later: a 0 ms timer costs the failover a loop wake-up (≥ 1 ms).
    if (onlyDead !== undefined && this.clock.afterIo) this.clock.afterIo(() => !this.stopped && run());
    else this.once(0, run);
  }

  private reconcile(): void {
    const live = this.liveView();
    const full = this.fullReconcile && this.natsSettled;
    this.fullReconcile = false;
    if (full) {
      for (const info of this.table.list) this.reconcileIp(info, live, this.verdictFor(info));
      this.deadSince.clear();
      this.verdicts.clear();
      this.flushClaims();
      return;
    }
    // Until settled nothing new is taken, so only IPs we hold need deciding; a death only
    // concerns the IPs the dead node owned (cost per death grows with its IPs, not all IPs;
    // finding them is a scan of a typed array).
    const todo: IpInfo[] = [];
    for (const h of this.held.values()) todo.push(h.info);
    if (this.natsSettled && this.deadSince.size > 0) {
      const dead = new Set<number>();
      for (const n of this.deadSince) {
        const i = this.nodeIndex.get(n);
        if (i !== undefined) dead.add(i);
      }
      const owners = this.lastOwner;
      for (let i = 0; i < owners.length; i++) {
        const info = this.table.list[i];
        if (info && dead.has(owners[i] as number) && !this.held.has(info.ip)) todo.push(info);
      }
      todo.sort((a, b) => a.index - b.index);
    }
    this.deadSince.clear();
    for (const info of todo) this.reconcileIp(info, live, this.verdictFor(info));
    this.verdicts.clear();
    // What changed goes out now, not a timer turn later: a release is the next owner's cue to
    // announce, so this turn is part of the failback gap.
    this.flushClaims();
  }

  /** Tracing on: our verdict span on the node that last owned `info`, when that death is why it is decided now. */
  private verdictFor(info: IpInfo): TraceSpan | undefined {
    if (this.verdicts.size === 0) return undefined;
    const last = this.names[this.lastOwner[info.index] ?? -1];
    return last !== undefined ? this.verdicts.get(last) : undefined;
  }

  private reconcileIp(info: IpInfo, live: LiveView, verdict?: TraceSpan): void {
    const owner = electOwner({
      svc: info.view,
      nodes: this.nodes,
      live,
      me: this.node,
      order: this.order,
      names: this.names,
      opts: this.o.election,
    });
    this.lastOwner[info.index] = owner === undefined ? -1 : (this.nodeIndex.get(owner) ?? -1);
    const mine = owner === this.node;
    let h = this.held.get(info.ip);
    const elect = verdict?.child('failover.elect', {
      'mooring.node': this.node,
      'mooring.ip': info.ip,
      'mooring.service': info.svc.key,
      'mooring.owner': owner ?? '',
    });
    if (!mine && !h) {
      elect?.end();
      return;
    }
    h ??= this.spawn(info);
    const d = { owner, reason: reasonFor({ svc: info.view, nodes: this.nodes, live, me: this.node, opts: this.o.election }, owner) };
    // A fence only holds while the fencing node still claims the IP.
    const fencer = h.actor.getSnapshot().context.fencedBy;
    if (fencer !== undefined && !this.claimsOf(fencer)?.has(info.ip)) h.actor.send({ type: 'claim.released', node: fencer });
    // Failback: elected while a live peer (not draining: a drain is make-before-break) still
    // announces the IP, we wait for its release; outranked by a live peer still in its resync
    // window, we keep answering until it is ready to take over.
    const c = this.claimer[info.index] ?? -1;
    const claimer = c >= 0 ? this.names[c] : undefined;
    // A draining or cordoned claimer hands over make-before-break: we announce at once.
    const cordoned = (n: string) => this.nodes.get(n)?.unschedulable === true;
    const incumbent =
      mine &&
      claimer !== undefined &&
      claimer !== this.node &&
      this.membership.isLive(claimer) &&
      !this.membership.draining(claimer) &&
      !cordoned(claimer)
        ? claimer
        : undefined;
    const successorPending =
      !mine && owner !== undefined && d.reason === Reason.notOwner && this.membership.isLive(owner) && !this.membership.settled(owner);
    // Elected with nobody to wait for: the machine claims the IP (new epoch) and announces it in this send.
    if (elect && mine && incumbent === undefined && h.state !== 'announcing') {
      this.claimSpans.get(info.ip)?.end('superseded');
      this.claimSpans.set(info.ip, elect.child('failover.claim', { 'mooring.node': this.node, 'mooring.ip': info.ip }));
    }
    h.actor.send({
      type: 'election.changed',
      owner: mine,
      reason: d.reason,
      knownEpoch: this.knownEpoch[info.index] ?? 0,
      // Draining, or cordoned (`kubectl drain`) and outranked: keep answering until the new owner claims.
      handover: !mine && (d.reason === Reason.draining || (d.reason === Reason.notOwner && cordoned(this.node))),
      incumbent,
      successorPending,
    });
    const claim = this.claimSpans.get(info.ip);
    if (claim && h.state !== 'announcing') {
      // The machine did not take it after all (NATS not settled, fenced): no claim to publish.
      this.claimSpans.delete(info.ip);
      claim.end(`not claimed: ${h.state}`);
    } else if (claim) claim.set({ 'mooring.epoch': h.actor.getSnapshot().context.epoch });
    elect?.end();
  }

  /** The machine with this coordinator's side effects bound: provided once, shared by its actors. */
  private machine(): typeof serviceIpMachine {
    this.logic ??= serviceIpMachine.provide({
      actions: {
        announce: ({ context }) => {
          // A traced claim: the first gratuitous ARP / unsolicited NA goes out inside announce().
          const span = this.claimSpans.get(context.ip)?.child('failover.announce', {
            'mooring.node': this.node,
            'mooring.ip': context.ip,
            'mooring.interfaces': context.interfaces?.join(',') ?? '',
          });
          this.o.l2.announce(context.ip, context.interfaces);
          span?.end();
        },
        withdraw: ({ context }) => this.o.l2.withdraw(context.ip),
        claimsChanged: ({ context }) => {
          this.scheduleClaims();
          this.pendingEpochs.add(context.ip);
          this.once(0, () => this.retryEpochs());
        },
      },
    });
    return this.logic;
  }

  private spawn(info: IpInfo): Held {
    let lastEvent: string | undefined;
    const actor = createActor(this.machine(), {
      clock: this.clock,
      // The event a transition follows, for the state feed (domain/state-feed.ts).
      inspect: (ev) => {
        if (ev.type === '@xstate.event' && ev.actorRef === actor) lastEvent = ev.event.type;
      },
      input: {
        ip: info.ip,
        node: this.node,
        tieBreak: electionHash(this.node, info.view.firstIp),
        natsUp: this.natsSettled,
        natsConnected: this.natsUp,
        handoverTimeoutMs: this.o.handoverTimeoutMs,
        interfaces: interfacesOf(info.svc),
      },
    });
    const h: Held = { info, actor, state: 'idle' };
    this.held.set(info.ip, h);
    actor.subscribe((snap) => {
      const to = snap.value as ServiceIpState;
      if (to === h.state) return;
      const t: Transition = {
        at: this.clock.now(),
        node: this.node,
        ip: h.info.ip,
        service: h.info.svc.key,
        from: h.state,
        to,
        reason: snap.context.reason,
        epoch: snap.context.epoch,
        ...(lastEvent !== undefined ? { event: lastEvent } : {}),
      };
      h.state = to;
      this.o.log?.({
        component: 'coordinator',
        node: this.node,
        ip: t.ip,
        service: t.service,
        machine: 'serviceIp',
        from: t.from,
        to,
        reason: t.reason,
        epoch: t.epoch,
      });
      for (const l of this.listeners) l(t);
    });
    actor.start();
    return h;
  }

  private send(ip: string, ev: ServiceIpEvent): void {
    this.held.get(ip)?.actor.send(ev);
  }

  /** A peer's claims as ip → epoch (indexed on first use). */
  private claimsOf(node: string): ReadonlyMap<string, number> | undefined {
    const pc = this.peerClaims.get(node);
    if (!pc) return undefined;
    pc.index ??= new Map(pc.list.map((c) => [c.ip, c.epoch]));
    return pc.index;
  }

  private onHeartbeat(data: Uint8Array, headers?: TraceHeaders): void {
    if (this.stopped) return;
    const r = this.decode.heartbeat(data);
    if (!r.ok) {
      this.o.log?.({ component: 'coordinator', node: this.node, event: 'hb.dropped', err: r.error });
      return;
    }
    if (r.value.node === this.node) {
      // Our own heartbeat came back through the servers: our path to NATS works.
      if (r.value.inc === this.o.inc) this.path.send({ type: 'echo.heard', seq: r.value.seq, at: this.clock.now() });
      return;
    }
    const hb = r.value;
    const now = this.clock.now();
    // Sent over connections that are all closed by now: last words of a process that is gone
    // (a copy delayed on another route), which must not revive it.
    if (this.presence?.heartbeat(hb.node, hb.inc, hb.seq, hb.conns, now) === 'stale') {
      this.o.log?.({ component: 'coordinator', node: this.node, event: 'hb.stale', peer: hb.node, seq: hb.seq });
      return;
    }
    // A peer's verdict on a death we have not judged yet: our own verdict will join its trace.
    const dead = this.o.tracer && headers?.[FAILOVER_HEADER];
    if (dead && dead !== this.node && this.membership.isLive(dead) && this.heardVerdicts.size < 64)
      this.heardVerdicts.set(dead, { headers, at: now });
    // A settled peer: the NATS cluster ran before us, no need to wait for the store (a restart).
    if (hb.settled !== false && !this.path.getSnapshot().context.clusterFormed) this.path.send({ type: 'peer.settled' });
    this.onMembership(this.membership.heartbeat(hb, now));
  }

  /** A NATS server's connect/disconnect advisory (the death fast path, src/domain/presence.ts). */
  private onAdvisory(data: Uint8Array): void {
    if (this.stopped || !this.presence) return;
    const r = decodeConnAdvisory(data);
    if (!r.ok) {
      this.o.log?.({ component: 'coordinator', node: this.node, event: 'advisory.dropped', err: r.error });
      return;
    }
    const now = this.clock.now();
    if (r.value.kind === 'connect') {
      const peer = this.presence.connected(r.value.conn, now);
      if (peer !== undefined) this.membership.connectionsBack(peer);
      return;
    }
    const peer = this.presence.disconnected(r.value.conn);
    if (peer === undefined) return;
    const due = this.membership.connectionsGone(peer, now);
    if (due === undefined) return;
    this.o.log?.({
      component: 'coordinator',
      node: this.node,
      event: 'peer.connectionsGone',
      peer,
      reason: r.value.reason,
      // The server's own time of the close (wall clock: bench:failover's per-stage breakdown).
      ...(r.value.at !== undefined ? { serverAt: r.value.at } : {}),
      confirmMs: due - now,
    });
    // Judge it at the end of the confirmation, not at the next routine sweep (up to an interval
    // away): at `due` itself, not before. Node's timers count whole loop milliseconds, so a plain
    // 20 ms timer set at a fractional `now` fires up to a millisecond before `due`, finds nothing
    // due, and the verdict waited for the next routine sweep (measured: +0–50 ms, the SIGKILL p99).
    this.onceAt(due, () => {
      if (this.natsUp) this.onMembership(this.membership.sweep(this.clock.now(), this.path.getSnapshot().context.lastEcho));
    });
  }

  /**
   * Sweeps when the next peer deadline falls, but not more often than every interval/20: a dead
   * peer is declared between `intervalMs × misses` and that plus interval/20 after its last
   * heartbeat arrived.
   */
  private scheduleSweep(inMs: number): void {
    const ms = Math.max(1, inMs);
    const due = this.clock.now() + ms;
    this.once(ms, () => {
      // A sweep that fires late means our own event loop stalled: the heartbeats (and our own
      // echo) that arrived meanwhile are still unread, since Node runs timers before it reads
      // sockets. Judging now would declare live peers dead and take their IPs because of our
      // own stall; sweep once the waiting I/O has been delivered instead.
      const late = this.clock.now() - due;
      if (late > this.cfg.intervalMs / 2 && this.clock.afterIo) {
        this.clock.afterIo(() => {
          if (!this.stopped) this.sweepNow();
        });
        return;
      }
      this.sweepNow();
    });
  }

  private sweepNow(): void {
    const now = this.clock.now();
    // A client can believe it is connected while its path is cut (no RST, pings not yet
    // overdue): our own heartbeats stop coming back first. The path machine treats that as NATS
    // down, judging silence from what we sent (after our own stall nothing was sent, so nothing
    // is missing).
    this.path.send({ type: 'echo.check', at: now });
    // Cut off from NATS, silence tells us nothing about peers: membership is frozen. A peer is
    // only declared dead once we heard our own echo after it went silent (Membership.sweep).
    if (this.natsUp) this.onMembership(this.membership.sweep(now, this.path.getSnapshot().context.lastEcho));
    const next = this.membership.nextDeadline();
    const wait = next === undefined ? this.cfg.intervalMs : Math.ceil(next - now);
    this.scheduleSweep(Math.min(this.cfg.intervalMs, Math.max(this.membership.sweepEveryMs(), wait)));
  }

  private onMembership(events: readonly MembershipEvent[]): void {
    if (events.length === 0) return;
    let reconcile = false;
    for (const ev of events) {
      if (ev.type === 'peer.suspect') continue;
      if (ev.type === 'peer.settled') {
        this.onPeerSettled(ev.node, ev.settled);
        continue;
      }
      this.o.log?.({
        component: 'coordinator',
        node: this.node,
        event: ev.type,
        peer: ev.node,
        ...(ev.type === 'peer.dead' ? { cause: ev.cause, silentMs: ev.silentMs } : {}),
      });
      if (ev.type === 'peer.dead') this.traceVerdict(ev.node, ev.cause, ev.silentMs);
      else if (ev.type === 'peer.up') this.heardVerdicts.delete(ev.node);
      if (ev.type === 'peer.dead' || (ev.type === 'peer.up' && ev.restarted)) this.forgetClaims(ev.node);
      // Let a newcomer learn what we hold; coalesced, since a rolling start brings many newcomers.
      // Twice within its resync window: the first copy can beat the newcomer's subscription
      // interest to our server (NATS routes propagate it asynchronously) and be dropped, and a
      // newcomer that does not know we hold an IP it wins back announces beside us (failback).
      if (ev.type === 'peer.up' && this.lastClaimsCount > 0) {
        this.scheduleClaims(Math.floor(this.cfg.intervalMs / 2));
        this.once(2 * this.cfg.intervalMs, () => {
          if (this.lastClaimsCount > 0) this.scheduleClaims();
        });
      }
      if (ev.type === 'peer.dead') this.scheduleReconcile(ev.node);
      else reconcile = true;
    }
    if (reconcile) this.scheduleReconcile();
  }

  /**
   * Tracing on: our verdict on `peer` starts (or joins) the failover's trace. Its span covers the
   * silence that led to it. A peer's verdict heard first is its parent; otherwise the trace id
   * comes from the death itself (peer, incarnation, last heartbeat), the same on every node. The
   * heartbeat sent at once carries it, so nodes still waiting for their own verdict join it.
   */
  private traceVerdict(peer: string, cause: string, silentMs: number): void {
    const tracer = this.o.tracer;
    if (!tracer) return;
    // Only a verdict heard within our own detection window is about this death (the peer may have
    // come back for everyone else meanwhile, which we would not have noticed).
    const h = this.heardVerdicts.get(peer);
    this.heardVerdicts.delete(peer);
    const heard = h && this.clock.now() - h.at <= 2 * this.cfg.intervalMs * this.cfg.misses ? h.headers : undefined;
    const p = this.membership.peer(peer);
    const span = tracer.start(
      'failover.detect',
      {
        'mooring.node': this.node,
        'mooring.peer': peer,
        'mooring.cause': cause,
        'mooring.silentMs': silentMs,
        'mooring.joined': heard !== undefined,
      },
      heard
        ? { parent: heard, startedAgoMs: silentMs }
        : { sharedKey: `${this.o.cluster}/${peer}/${p?.inc ?? 0}/${p?.seq ?? 0}`, startedAgoMs: silentMs },
    );
    span.end();
    this.verdicts.set(peer, span);
    this.publishHeartbeat({ ...span.headers(), [FAILOVER_HEADER]: peer });
  }

  /**
   * A peer's `settled` changed. It only concerns IPs we hold whose election it wins (we keep
   * answering them until it is settled, then hand them over): re-deciding just those keeps a
   * cluster start (every node settles once, after it holds its IPs) from costing every speaker
   * a pass over its IPs per peer.
   */
  private onPeerSettled(node: string, settled: boolean): void {
    this.o.log?.({ component: 'coordinator', node: this.node, event: 'peer.settled', peer: node, settled });
    const n = this.nodeIndex.get(node);
    if (n === undefined) return;
    let live: LiveView | undefined;
    for (const h of this.held.values()) {
      if (this.lastOwner[h.info.index] === n) this.reconcileIp(h.info, (live ??= this.liveView()));
    }
    if (live) this.flushClaims();
  }

  private onDrain(data: Uint8Array): void {
    if (this.stopped) return;
    const r = decodeDrain(data);
    if (!r.ok || r.value.node !== this.node) {
      this.o.log?.({ component: 'coordinator', node: this.node, event: 'drain.dropped', err: r.ok ? 'other node' : r.error });
      return;
    }
    this.o.log?.({ component: 'coordinator', node: this.node, event: r.value.draining ? 'drain' : 'undrain' });
    this.setDraining(r.value.draining);
  }

  private forgetClaims(node: string): void {
    const held = this.peerClaims.get(node);
    if (!held) return;
    this.peerClaims.delete(node);
    for (const c of held.list) {
      this.setClaimer(c.ip, node, false);
      this.send(c.ip, { type: 'claim.released', node });
    }
  }

  /** Records (or clears, if it is still the recorded one) `node` as the last claimer of `ip`. */
  private setClaimer(ip: string, node: string, claims: boolean): void {
    const info = this.table.byIp.get(ip);
    const n = this.nodeIndex.get(node);
    if (!info || n === undefined) return;
    if (claims) this.claimer[info.index] = n;
    else if (this.claimer[info.index] === n) this.claimer[info.index] = -1;
  }

  private onClaims(data: Uint8Array, headers?: TraceHeaders): void {
    if (this.stopped) return;
    const r = this.decode.claims(data);
    if (!r.ok) {
      this.o.log?.({ component: 'coordinator', node: this.node, event: 'claims.dropped', err: r.error });
      return;
    }
    const c = r.value;
    if (c.node === this.node) return;
    if (this.o.tracer && headers?.traceparent)
      this.o.tracer
        .start(
          'failover.claimSeen',
          { 'mooring.node': this.node, 'mooring.peer': c.node, 'mooring.claims': c.claims.length },
          { parent: headers },
        )
        .end();
    const peer = this.membership.peer(c.node);
    if (peer && c.inc < peer.inc) return; // previous life
    // Heartbeats and claims are published over two connections (NatsBus mirror): a copy arriving
    // after a newer message (or twice) must not roll the list back.
    const prev = this.peerClaims.get(c.node);
    if (prev && (c.inc < prev.inc || (c.inc === prev.inc && c.seq <= prev.seq))) return;
    // Only IPs we hold an actor for need the previous list indexed (a speaker holds a few; a peer
    // list indexed for every peer by every speaker would be N² maps at scale).
    const before = (): ReadonlyMap<string, number> | undefined => (prev ? this.claimsOf(c.node) : undefined);
    if (prev) for (const { ip } of prev.list) this.setClaimer(ip, c.node, false);
    for (const { ip, epoch } of c.claims) {
      const info = this.table.byIp.get(ip);
      if (info && (this.knownEpoch[info.index] ?? 0) < epoch) this.knownEpoch[info.index] = epoch;
      this.setClaimer(ip, c.node, true);
      const h = this.held.get(ip);
      if (h && before()?.get(ip) !== epoch) {
        h.actor.send({ type: 'claim.seen', node: c.node, epoch, tieBreak: electionHash(c.node, h.info.view.firstIp) });
      }
    }
    this.peerClaims.set(c.node, { inc: c.inc, seq: c.seq, list: c.claims });
    if (!prev || this.held.size === 0) return;
    let now: Set<string> | undefined;
    for (const { ip } of prev.list) {
      if (!this.held.has(ip)) continue;
      now ??= new Set(c.claims.map((x) => x.ip));
      if (now.has(ip)) continue;
      if (this.held.get(ip)?.state === 'awaitingRelease')
        this.o.log?.({ component: 'coordinator', node: this.node, ip, event: 'handover.released', peer: c.node });
      this.send(ip, { type: 'claim.released', node: c.node });
    }
  }

  /** Subscribes to the advisories once the account is known (at start, or at a later bus up). */
  private subscribePresence(): void {
    const p = this.o.presenceAccount;
    const account = typeof p === 'function' ? p() : p;
    if (account === undefined || this.presenceSubscribed || this.stopped) return;
    this.presenceSubscribed = true;
    this.o.log?.({ event: 'presence.subscribed', account });
    const subj = presenceSubjects(account);
    for (const s of [subj.connect, subj.disconnect]) this.unsubs.push(this.o.bus.subscribe(s, (_s, d) => this.onAdvisory(d)));
  }

  private onBusStatus(up: boolean): void {
    if (up) this.subscribePresence();
    this.path.send(up ? { type: 'bus.up', at: this.clock.now() } : { type: 'bus.down' });
  }

  /** Acts on a NATS path transition (after the machine committed it). */
  private onPath(to: NatsPathState): void {
    const from = this.pathState;
    if (to === from) return;
    this.pathState = to;
    const ctx = this.path.getSnapshot().context;
    const wasUp = natsPathConnected(from);
    const up = natsPathConnected(to);
    if (to === 'echoLost' && ctx.lost)
      this.o.log?.({
        component: 'coordinator',
        node: this.node,
        event: 'nats.echo.lost',
        silentMs: ctx.lost.silentMs,
        unheardMs: ctx.lost.unheardMs,
      });
    const event = wasUp && !up ? 'nats.down' : !wasUp && up ? 'nats.up' : to === 'up' ? 'nats.settled' : 'nats.path';
    this.o.log?.({ component: 'coordinator', node: this.node, machine: 'natsPath', event, from, to, reason: ctx.reason });
    if (this.stopped) return;
    if (wasUp && !up) {
      for (const h of this.held.values()) h.actor.send({ type: 'nats.down' });
    } else if (!wasUp && up) {
      // Back: hear peers' heartbeats and claims for one resync window (the machine's `resync`
      // delay) before taking anything over.
      this.membership.reconnected(this.clock.now());
      // Advisories were missed while we were away: presence must hear every peer again first.
      this.presence?.blinded();
      for (const h of this.held.values()) h.actor.send({ type: 'nats.settling' });
      this.publishHeartbeat();
      this.publishClaims();
      this.probeStore();
    }
    if (to === 'up') {
      for (const h of this.held.values()) h.actor.send({ type: 'nats.up' });
      // Decide now, then say we are settled half an interval later: the owners of IPs we win back
      // release them when they hear it (failback), and by then we wait in awaitingRelease with
      // our actors made and the work settling started (epoch writes, claims) done. A fresh process
      // is slow at all that the first time; the owner keeps answering meanwhile, so the release
      // finds us idle and the IP dark only for its delivery.
      this.handoverReady = false;
      // Open the L2 interfaces now: in a fresh process the first announce would otherwise open the
      // capture first (measured 10-50 ms on a loaded host), all of it inside the failback gap.
      this.o.l2.prepare?.();
      this.fullReconcile = true;
      this.reconcile();
      this.retryEpochs();
      this.once(Math.floor(this.cfg.intervalMs / 2), () => {
        if (!this.natsSettled || this.handoverReady) return;
        this.handoverReady = true;
        this.publishHeartbeat();
      });
    }
  }

  /**
   * Records epochs of IPs we announce in the KV (compare-and-set). Failures only defer: a KV
   * outage (4.5–8.4 s when a replicated server dies) never moves or drops an IP, and the write is
   * retried on the next claims refresh.
   */
  private retryEpochs(): void {
    const store = this.o.epochs;
    if (!store) {
      this.pendingEpochs.clear();
      return;
    }
    if (!this.natsUp) return;
    for (const ip of [...this.pendingEpochs]) {
      this.pendingEpochs.delete(ip);
      const snap = this.held.get(ip)?.actor.getSnapshot();
      if (!snap || snap.value !== 'announcing') continue;
      this.recordEpoch(store, ip, snap.context.epoch).then(
        (fail) => {
          if (!fail) return;
          this.pendingEpochs.add(ip);
          // `unavailable`: an outage, not a race; `conflict`: every attempt lost to another writer.
          if (fail.kind === 'unavailable') this.kvCounts.outages++;
          this.o.log?.({ component: 'coordinator', node: this.node, ip, event: 'epoch.deferred', kind: fail.kind, err: fail.error });
        },
        (err: unknown) => {
          // The store broke its contract (it resolves failures): a bug, retried all the same.
          this.pendingEpochs.add(ip);
          this.o.log?.({ component: 'coordinator', node: this.node, ip, event: 'epoch.deferred', err: String(err), bug: true });
        },
      );
    }
  }

  /**
   * One compare-and-set round for `ip`: resolves undefined when settled (recorded, or a live
   * claimer's newer record was presented to the machine), or the failure that defers it.
   */
  private async recordEpoch(store: EpochStore, ip: string, epoch: number): Promise<KvFailure | undefined> {
    const key = epochKey(ip);
    let lost: KvFailure | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const read = await store.get(key);
      if (!read.ok) return read;
      const cur = read.entry;
      if (cur === null) {
        const w = await store.create(key, encodeEpochRecord({ epoch, node: this.node }));
        if (w.ok) return undefined;
        if (w.kind === 'unavailable') return w;
        // Someone created it first: re-read; a newer epoch there fences us through the machine.
        this.kvCounts.racesLost++;
        lost = w;
        continue;
      }
      const rec = decodeEpochRecord(cur.value);
      const recEpoch = rec.ok ? rec.value.epoch : 0;
      const recNode = rec.ok ? rec.value.node : '';
      if (recNode === this.node && recEpoch >= epoch) return undefined;
      if (recNode !== this.node && recEpoch >= epoch && this.membership.isLive(recNode) && this.claimsOf(recNode)?.has(ip)) {
        // A live node recorded a takeover at least as recent as ours: present it as a claim.
        const h = this.held.get(ip);
        if (h) h.actor.send({ type: 'claim.seen', node: recNode, epoch: recEpoch, tieBreak: electionHash(recNode, h.info.view.firstIp) });
        return undefined;
      }
      const next = Math.max(epoch, recEpoch + 1);
      const w = await store.update(key, encodeEpochRecord({ epoch: next, node: this.node }), cur.revision);
      if (!w.ok) {
        if (w.kind === 'unavailable') return w;
        this.kvCounts.racesLost++;
        lost = w;
        continue; // lost the race: re-read
      }
      if (next !== epoch) {
        this.send(ip, { type: 'epoch.recorded', epoch: next });
        this.scheduleClaims();
      }
      return undefined;
    }
    return lost;
  }
}
