// The speaker's coordination actor system (docs/coordination.md): heartbeats and claims on the
// bus, the membership table, the election, one serviceIp machine per IP this node owns or has
// owned, the L2 announcer port and the epoch store. All time comes from the injected clock, so
// the same code runs in the speaker (real clock, NATS) and in the simulator (simulated clock,
// in-memory bus).
//
// serviceIp actors are created lazily, the first time this node is elected for an IP: a node
// never elected for an IP is in `standby` with the reason the election gives (`explain`), and a
// 10,000-IP cluster does not cost 10,000 actors per speaker.
import { createActor, type Actor } from 'xstate';
import type { L2AnnouncerPort } from './l2-port.js';
import type { Clock, CoordBus, EpochStore } from './coord-ports.js';
import { decodeClaims, decodeEpochRecord, decodeHeartbeat, encodeClaims, encodeEpochRecord, encodeHeartbeat, type Claim } from '../codecs/coord.js';
import { decide, electionHash, HashOrder, Reason, type ElectionNode, type ElectionOptions, type L2AdView, type LiveView, type ServiceIpView } from '../domain/election.js';
import { DEFAULT_MEMBERSHIP, Membership, type MembershipConfig, type MembershipEvent } from '../domain/membership.js';
import { allOf, claimsSubject, epochKey, heartbeatSubject, Kind } from '../domain/subjects.js';
import { serviceIpMachine, type ServiceIpEvent, type ServiceIpState } from '../machines/service-ip.machine.js';

export interface ServiceSpec {
  /** namespace/name */
  readonly key: string;
  /** LB IPs, first one first (it is the election key). */
  readonly ips: readonly string[];
  readonly ads: readonly L2AdView[];
  readonly etpLocal: boolean;
  readonly endpointNodes: ReadonlySet<string>;
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
  readonly handoverTimeoutMs?: number;
  readonly election?: ElectionOptions;
  /** Shared memo of the hash order (the simulator shares one across speakers). */
  readonly hashOrder?: HashOrder;
  readonly log?: (rec: Record<string, unknown>) => void;
}

interface IpEntry {
  readonly ip: string;
  readonly svc: ServiceSpec;
  readonly view: ServiceIpView;
  actor?: Actor<typeof serviceIpMachine>;
  state: ServiceIpState;
  /** Owner in our last decision (for targeted re-election when a node dies). */
  lastOwner?: string;
}

export class Coordinator {
  readonly node: string;
  readonly membership: Membership;
  private readonly o: CoordinatorOptions;
  private readonly clock: Clock;
  private readonly order: HashOrder;
  private nodes = new Map<string, ElectionNode>();
  private names: readonly string[] = [];
  private ips = new Map<string, IpEntry>();
  /** Claims last heard from each peer: node → ip → epoch. */
  private readonly peerClaims = new Map<string, Map<string, number>>();
  /** Highest epoch known per IP (claims and KV). */
  private readonly knownEpoch = new Map<string, number>();
  private readonly unsubs: Array<() => void> = [];
  private readonly timers = new Set<unknown>();
  private hbSeq = 0;
  private claimsSeq = 0;
  private lastClaimsCount = 0;
  /** Our NATS path works: the client is connected AND our own heartbeats come back to us. */
  private natsUp: boolean;
  private busUp: boolean;
  private echoOk = true;
  private lastEcho: number;
  /** NATS is up and the resync window after reconnecting has passed. */
  private natsSettled: boolean;
  private localCarrier = true;
  private draining = false;
  private reconcilePending = false;
  /** Nodes declared dead since the last reconcile: only their IPs need a new election. */
  private readonly deadSince = new Set<string>();
  private fullReconcile = true;
  private claimsPending = false;
  private readonly pendingEpochs = new Set<string>();
  private readonly listeners: Array<(t: Transition) => void> = [];
  private stopped = false;

  constructor(opts: CoordinatorOptions) {
    this.o = opts;
    this.node = opts.node;
    this.clock = opts.clock;
    this.order = opts.hashOrder ?? new HashOrder();
    this.membership = new Membership(opts.node, opts.membership ?? DEFAULT_MEMBERSHIP);
    this.busUp = opts.bus.isUp();
    this.natsUp = this.busUp;
    this.lastEcho = opts.clock.now();
    // A starting speaker hears its peers for one resync window before taking anything over, so a
    // rolling start does not make the first speaker up claim every IP for a moment.
    this.natsSettled = false;
  }

  private get cfg(): MembershipConfig {
    return this.membership.config;
  }

  onTransition(cb: (t: Transition) => void): () => void {
    this.listeners.push(cb);
    return () => { const i = this.listeners.indexOf(cb); if (i >= 0) this.listeners.splice(i, 1); };
  }

  start(): void {
    const { bus, cluster } = this.o;
    this.unsubs.push(bus.subscribe(allOf(cluster, Kind.heartbeat), (_s, d) => this.onHeartbeat(d)));
    this.unsubs.push(bus.subscribe(allOf(cluster, Kind.claims), (_s, d) => this.onClaims(d)));
    this.unsubs.push(bus.onStatus((up) => this.onBusStatus(up)));
    this.unsubs.push(this.o.l2.onConflict((c) => this.send(c.ip, { type: 'l2.conflict', mac: c.mac })));
    this.unsubs.push(this.o.l2.onCarrier((c) => this.setCarrier(c.up)));
    this.every(this.cfg.intervalMs, () => this.publishHeartbeat());
    this.scheduleSweep(this.cfg.intervalMs);
    this.every(this.o.claimsRefreshMs ?? 5000, () => { this.publishClaims(); this.retryEpochs(); });
    this.publishHeartbeat();
    this.once(this.resyncMs(), () => this.settle());
  }

  private resyncMs(): number {
    return this.o.resyncMs ?? this.cfg.intervalMs * this.cfg.misses;
  }

  private settle(): void {
    if (!this.natsUp || this.natsSettled) return;
    this.natsSettled = true;
    for (const e of this.ips.values()) e.actor?.send({ type: 'nats.up' });
    this.scheduleReconcile();
    this.retryEpochs();
  }

  /** Stops timers and actors without withdrawing (a crash, as the simulator models it). */
  halt(): void {
    this.stopped = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const u of this.unsubs.splice(0)) u();
    for (const e of this.ips.values()) e.actor?.stop();
  }

  /** Graceful stop (SIGTERM): withdraw everything, publish empty claims, then halt. */
  shutdown(): void {
    for (const e of this.ips.values()) e.actor?.send({ type: 'ip.remove' });
    this.publishClaims();
    this.halt();
  }

  setCluster(spec: ClusterSpec): void {
    this.nodes = new Map(spec.nodes.map((n) => [n.name, n]));
    this.names = spec.nodes.map((n) => n.name);
    const next = new Map<string, IpEntry>();
    for (const svc of spec.services) {
      const firstIp = svc.ips[0];
      if (firstIp === undefined) continue;
      const view: ServiceIpView = { firstIp, ads: svc.ads, etpLocal: svc.etpLocal, endpointNodes: svc.endpointNodes };
      for (const ip of svc.ips) {
        const old = this.ips.get(ip);
        next.set(ip, { ip, svc, view, actor: old?.actor, state: old?.state ?? 'idle' });
      }
    }
    for (const [ip, e] of this.ips) {
      if (!next.has(ip) && e.actor) {
        e.actor.send({ type: 'ip.remove' });
        e.actor.stop();
      }
    }
    this.ips = next;
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

  /** IPs this node announces now. */
  owned(): string[] {
    return [...this.ips.values()].filter((e) => e.state === 'announcing').map((e) => e.ip);
  }

  stateOf(ip: string): { state: ServiceIpState; reason: Reason | undefined; epoch: number } {
    const e = this.ips.get(ip);
    if (!e) return { state: 'idle', reason: Reason.notConfigured, epoch: 0 };
    if (e.actor) {
      const s = e.actor.getSnapshot();
      return { state: s.value as ServiceIpState, reason: s.context.reason, epoch: s.context.epoch };
    }
    return { state: 'standby', reason: this.decideFor(e).reason ?? Reason.notOwner, epoch: 0 };
  }

  /** Why this node does or does not announce `ip`, and who the election picks. */
  explain(ip: string): { owner: string | undefined; state: ServiceIpState; reason: Reason | undefined } {
    const e = this.ips.get(ip);
    const owner = e ? this.decideFor(e).owner : undefined;
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
    const id = this.clock.setTimeout(() => { this.timers.delete(id); if (!this.stopped) fn(); }, ms);
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

  private decideFor(e: IpEntry, live = this.liveView()) {
    return decide(e.view, this.nodes, live, this.node, this.order, this.names, this.o.election);
  }

  private publishHeartbeat(): void {
    if (this.stopped) return;
    this.o.bus.publish(heartbeatSubject(this.o.cluster, this.node), encodeHeartbeat({
      v: 1, node: this.node, inc: this.o.inc, seq: ++this.hbSeq, intervalMs: this.cfg.intervalMs, l2Ready: this.localCarrier, draining: this.draining,
    }));
  }

  private publishClaims(): void {
    if (this.stopped) return;
    const claims: Claim[] = [];
    for (const e of this.ips.values()) {
      if (e.state === 'announcing' || e.state === 'withdrawing') claims.push({ ip: e.ip, epoch: e.actor?.getSnapshot().context.epoch ?? 0 });
    }
    this.lastClaimsCount = claims.length;
    this.o.bus.publish(claimsSubject(this.o.cluster, this.node), encodeClaims({ v: 1, node: this.node, inc: this.o.inc, seq: ++this.claimsSeq, claims }));
  }

  private scheduleClaims(delayMs = 0): void {
    if (this.claimsPending) return;
    this.claimsPending = true;
    this.once(delayMs, () => { this.claimsPending = false; this.publishClaims(); });
  }

  private scheduleReconcile(onlyDead?: string): void {
    if (onlyDead === undefined) this.fullReconcile = true;
    else this.deadSince.add(onlyDead);
    if (this.reconcilePending) return;
    this.reconcilePending = true;
    this.once(0, () => { this.reconcilePending = false; this.reconcile(); });
  }

  private reconcile(): void {
    const live = this.liveView();
    const full = this.fullReconcile;
    const dead = new Set(this.deadSince);
    this.fullReconcile = false;
    this.deadSince.clear();
    for (const e of this.ips.values()) {
      // Until settled nothing new is taken, so only IPs we hold need deciding; a death only
      // concerns the IPs the dead node owned (cost per death grows with its IPs, not all IPs).
      if (!e.actor && (!this.natsSettled || (!full && !(e.lastOwner !== undefined && dead.has(e.lastOwner))))) continue;
      const d = this.decideFor(e, live);
      e.lastOwner = d.owner;
      const mine = d.owner === this.node;
      if (!mine && !e.actor) continue;
      const actor = e.actor ?? this.spawn(e);
      // A fence only holds while the fencing node still claims the IP.
      const fencer = actor.getSnapshot().context.fencedBy;
      if (fencer !== undefined && !this.peerClaims.get(fencer)?.has(e.ip)) actor.send({ type: 'claim.released', node: fencer });
      actor.send({
        type: 'election.changed', owner: mine, reason: d.reason, knownEpoch: this.knownEpoch.get(e.ip) ?? 0,
        handover: !mine && d.reason === Reason.draining,
      });
    }
  }

  private spawn(e: IpEntry): Actor<typeof serviceIpMachine> {
    const logic = serviceIpMachine.provide({
      actions: {
        announce: ({ context }) => this.o.l2.announce(context.ip),
        withdraw: ({ context }) => this.o.l2.withdraw(context.ip),
        claimsChanged: () => { this.scheduleClaims(); this.pendingEpochs.add(e.ip); this.once(0, () => this.retryEpochs()); },
      },
    });
    const actor = createActor(logic, {
      clock: this.clock,
      input: { ip: e.ip, node: this.node, tieBreak: electionHash(this.node, e.view.firstIp), natsUp: this.natsSettled, handoverTimeoutMs: this.o.handoverTimeoutMs },
    });
    e.actor = actor;
    actor.subscribe((snap) => {
      const to = snap.value as ServiceIpState;
      if (to === e.state) return;
      const t: Transition = { at: this.clock.now(), node: this.node, ip: e.ip, service: e.svc.key, from: e.state, to, reason: snap.context.reason, epoch: snap.context.epoch };
      e.state = to;
      this.o.log?.({ component: 'coordinator', node: this.node, ip: e.ip, service: e.svc.key, machine: 'serviceIp', from: t.from, to, reason: t.reason, epoch: t.epoch });
      for (const l of this.listeners) l(t);
    });
    actor.start();
    return actor;
  }

  private send(ip: string, ev: ServiceIpEvent): void {
    this.ips.get(ip)?.actor?.send(ev);
  }

  private onHeartbeat(data: Uint8Array): void {
    if (this.stopped) return;
    const r = decodeHeartbeat(data);
    if (!r.ok) { this.o.log?.({ component: 'coordinator', node: this.node, event: 'hb.dropped', err: r.error }); return; }
    if (r.value.node === this.node) {
      // Our own heartbeat came back through the servers: our path to NATS works.
      if (r.value.inc === this.o.inc) {
        this.lastEcho = this.clock.now();
        if (!this.echoOk) { this.echoOk = true; this.applyPath(); }
      }
      return;
    }
    this.onMembership(this.membership.heartbeat(r.value, this.clock.now()));
  }

  /**
   * Sweeps when the next peer deadline falls, but not more often than every interval/20: a dead
   * peer is declared between `intervalMs × misses` and that plus interval/20 after its last
   * heartbeat arrived.
   */
  private scheduleSweep(inMs: number): void {
    this.once(Math.max(1, inMs), () => {
      const now = this.clock.now();
      // A client can believe it is connected while its path is cut (no RST, pings not yet
      // overdue): our own heartbeats stop coming back first. Treat that as NATS down.
      if (this.natsUp && now - this.lastEcho > this.cfg.intervalMs * this.cfg.misses) {
        this.echoOk = false;
        this.o.log?.({ component: 'coordinator', node: this.node, event: 'nats.echo.lost', silentMs: now - this.lastEcho });
        this.applyPath();
      }
      // Cut off from NATS, silence tells us nothing about peers: membership is frozen. A peer is
      // only declared dead once we heard our own echo after it went silent (Membership.sweep).
      if (this.natsUp) this.onMembership(this.membership.sweep(now, this.lastEcho));
      const next = this.membership.nextDeadline();
      const wait = next === undefined ? this.cfg.intervalMs : Math.ceil(next - now);
      this.scheduleSweep(Math.min(this.cfg.intervalMs, Math.max(this.membership.sweepEveryMs(), wait)));
    });
  }

  private onMembership(events: MembershipEvent[]): void {
    if (events.length === 0) return;
    let reconcile = false;
    for (const ev of events) {
      if (ev.type === 'peer.suspect') continue;
      this.o.log?.({ component: 'coordinator', node: this.node, event: ev.type, peer: ev.node });
      if (ev.type === 'peer.dead' || (ev.type === 'peer.up' && ev.restarted)) this.forgetClaims(ev.node);
      // Let a newcomer learn what we hold; coalesced, since a rolling start brings many newcomers.
      if (ev.type === 'peer.up' && this.lastClaimsCount > 0) this.scheduleClaims(Math.floor(this.cfg.intervalMs / 2));
      if (ev.type === 'peer.dead') this.scheduleReconcile(ev.node);
      else reconcile = true;
    }
    if (reconcile) this.scheduleReconcile();
  }

  private forgetClaims(node: string): void {
    const held = this.peerClaims.get(node);
    if (!held) return;
    this.peerClaims.delete(node);
    for (const ip of held.keys()) this.send(ip, { type: 'claim.released', node });
  }

  private onClaims(data: Uint8Array): void {
    if (this.stopped) return;
    const r = decodeClaims(data);
    if (!r.ok) { this.o.log?.({ component: 'coordinator', node: this.node, event: 'claims.dropped', err: r.error }); return; }
    const c = r.value;
    if (c.node === this.node) return;
    const peer = this.membership.peer(c.node);
    if (peer && c.inc < peer.inc) return; // previous life
    const before = this.peerClaims.get(c.node) ?? new Map<string, number>();
    const now = new Map<string, number>();
    for (const { ip, epoch } of c.claims) {
      now.set(ip, epoch);
      if ((this.knownEpoch.get(ip) ?? 0) < epoch) this.knownEpoch.set(ip, epoch);
      const e = this.ips.get(ip);
      if (e?.actor && before.get(ip) !== epoch) {
        e.actor.send({ type: 'claim.seen', node: c.node, epoch, tieBreak: electionHash(c.node, e.view.firstIp) });
      }
    }
    this.peerClaims.set(c.node, now);
    for (const ip of before.keys()) if (!now.has(ip)) this.send(ip, { type: 'claim.released', node: c.node });
  }

  private onBusStatus(up: boolean): void {
    this.busUp = up;
    if (up) { this.lastEcho = this.clock.now(); this.echoOk = true; } // fresh window for the echo
    this.applyPath();
  }

  private applyPath(): void {
    const up = this.busUp && this.echoOk;
    if (this.stopped || up === this.natsUp) return;
    this.natsUp = up;
    this.o.log?.({ component: 'coordinator', node: this.node, event: up ? 'nats.up' : 'nats.down' });
    if (!up) {
      this.natsSettled = false;
      for (const e of this.ips.values()) e.actor?.send({ type: 'nats.down' });
      return;
    }
    this.membership.reconnected(this.clock.now());
    this.publishHeartbeat();
    this.publishClaims();
    // Hear peers' heartbeats and claims for one detection window before taking anything over.
    this.once(this.resyncMs(), () => this.settle());
  }

  /** Records epochs of IPs we announce in the KV (compare-and-set). Failures only defer. */
  private retryEpochs(): void {
    const store = this.o.epochs;
    if (!store) { this.pendingEpochs.clear(); return; }
    if (!this.natsUp) return;
    for (const ip of [...this.pendingEpochs]) {
      this.pendingEpochs.delete(ip);
      const e = this.ips.get(ip);
      const snap = e?.actor?.getSnapshot();
      if (!e || !snap || snap.value !== 'announcing') continue;
      this.recordEpoch(store, ip, snap.context.epoch).catch((err: unknown) => {
        // KV unavailable (e.g. a NATS server restarting): keep announcing, retry on the next refresh.
        this.pendingEpochs.add(ip);
        this.o.log?.({ component: 'coordinator', node: this.node, ip, event: 'epoch.deferred', err: String(err) });
      });
    }
  }

  private async recordEpoch(store: EpochStore, ip: string, epoch: number): Promise<void> {
    const key = epochKey(ip);
    for (let attempt = 0; attempt < 3; attempt++) {
      const cur = await store.get(key);
      if (cur === null) {
        try {
          await store.create(key, encodeEpochRecord({ epoch, node: this.node }));
          return;
        } catch { continue; } // someone created it first: re-read
      }
      const rec = decodeEpochRecord(cur.value);
      const recEpoch = rec.ok ? rec.value.epoch : 0;
      const recNode = rec.ok ? rec.value.node : '';
      if (recNode === this.node && recEpoch >= epoch) return;
      if (recNode !== this.node && recEpoch >= epoch && this.membership.isLive(recNode) && this.peerClaims.get(recNode)?.has(ip)) {
        // A live node recorded a takeover at least as recent as ours: present it as a claim.
        const e = this.ips.get(ip);
        if (e) this.send(ip, { type: 'claim.seen', node: recNode, epoch: recEpoch, tieBreak: electionHash(recNode, e.view.firstIp) });
        return;
      }
      const next = Math.max(epoch, recEpoch + 1);
      try {
        await store.update(key, encodeEpochRecord({ epoch: next, node: this.node }), cur.revision);
      } catch { continue; } // lost the race: re-read
      if (next !== epoch) { this.send(ip, { type: 'epoch.recorded', epoch: next }); this.scheduleClaims(); }
      return;
    }
    throw new Error(`epoch CAS for ${ip} lost 3 races`);
  }
}
