// The speaker's side of the state feed (docs/visualizer.md): turns the coordinator's serviceIp
// transitions and the peer supervisor's BGP/BFD events into TransitionRecords, batches them
// (domain/state-feed.ts FeedCoalescer) onto `feed.<node>`, and answers a snapshot request on
// `snapreq.<node>` with every machine on `snap.<node>` (at most one per `snapshotGapMs`: a viewer
// cannot make a speaker spin): the machines its sources report as they are now (`addSource`: the
// coordinator's serviceIps, the peer supervisor's BGP and BFD sessions, so machines that never
// moved are listed too), other kinds at their last record. At rest it publishes nothing.
import type { Clock, CoordBus } from './coord-ports.js';
import type { Coordinator, Transition } from './coordinator.js';
import type { SpeakerEvent } from './bgp-speaker.js';
import type { BfdPeerEvent } from './bgp-peers.js';
import {
  FeedCoalescer,
  MachineTable,
  snapshotMachines,
  ADDED_FROM,
  REMOVED_TO,
  type CoalescerOptions,
  type CurrentMachine,
  type MachineKind,
  type TransitionRecord,
} from '../domain/state-feed.js';
import { encodeFeed } from '../codecs/state-feed.js';
import { feedSubject, snapshotRequestSubject, snapshotSubject } from '../domain/subjects.js';

export interface StateFeedOptions extends CoalescerOptions {
  readonly cluster: string;
  readonly node: string;
  /** Incarnation (the process start time in ms). */
  readonly inc: number;
  readonly bus: CoordBus;
  readonly clock: Clock;
  /** Timestamps of records (wall ms in production: Clock.now() is monotonic); default clock.now. */
  readonly stamp?: () => number;
  /** Least time between two snapshots (default 1000 ms). */
  readonly snapshotGapMs?: number;
}

export class StateFeed {
  private readonly core: FeedCoalescer;
  private readonly table = new MachineTable();
  private timer: unknown;
  private unsub: (() => void) | undefined;
  private lastSnapshot = -Infinity;
  private snapshotTimer: unknown;
  private syncTimer: unknown;
  /** Last BGP down reason per peer: the reason of the state change that follows it. */
  private readonly downReason = new Map<string, string>();
  private stopped = false;
  private readonly allocated = new Map<string, string>();
  private readonly sources: Array<{ kinds: readonly MachineKind[]; list: () => Iterable<CurrentMachine> }> = [];
  readonly sent = { messages: 0, snapshots: 0 };

  constructor(private readonly o: StateFeedOptions) {
    this.core = new FeedCoalescer(o.node, o.inc, o);
  }

  start(): void {
    this.unsub = this.o.bus.subscribe(snapshotRequestSubject(this.o.cluster, this.o.node), () => this.snapshotRequested());
  }

  stop(): void {
    this.stopped = true;
    this.unsub?.();
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    if (this.snapshotTimer !== undefined) this.o.clock.clearTimeout(this.snapshotTimer);
    if (this.syncTimer !== undefined) this.o.clock.clearTimeout(this.syncTimer);
    this.flush();
  }

  private now(): number {
    return (this.o.stamp ?? (() => this.o.clock.now()))();
  }

  /** A serviceIp transition from the coordinator. */
  serviceIp(t: Transition): void {
    this.record({
      machine: 'serviceIp',
      id: t.ip,
      node: this.o.node,
      from: t.from,
      to: t.to,
      ...(t.event !== undefined ? { event: t.event } : {}),
      ...(t.reason !== undefined ? { reason: t.reason } : {}),
      epoch: t.epoch,
      service: t.service,
      at: this.o.stamp ? this.now() : t.at,
    });
  }

  /** A BGP speaker or BFD event from the peer supervisor (others are ignored). */
  peerEvent(e: SpeakerEvent | BfdPeerEvent): void {
    if (e.event === 'sessionDown') {
      this.downReason.set(e.peer, e.detail ? `${e.reason}: ${e.detail}` : e.reason);
      return;
    }
    if (e.event === 'stateChanged') {
      const reason = e.to === 'established' ? undefined : this.downReason.get(e.peer);
      this.record({
        machine: 'bgpSession',
        id: e.peer,
        node: this.o.node,
        from: e.from,
        to: e.to,
        ...(reason !== undefined ? { reason, event: 'session.down' } : {}),
        at: this.now(),
      });
      return;
    }
    if (e.event === 'bfdState')
      this.record({
        machine: 'bfdSession',
        id: `${e.peer} ${e.address}`,
        node: this.o.node,
        from: e.from,
        to: e.to,
        ...(e.reason ? { reason: e.reason } : {}),
        at: this.now(),
      });
  }

  /**
   * An allocation decision of the controller (from: the IPs it had, as this feed last saw them;
   * to: the IPs now, '' for none), the reason `why` (default `pool <pool>`).
   */
  allocation(service: string, ips: readonly string[], pool: string | undefined, why?: string): void {
    const from = this.allocated.get(service) ?? '';
    const to = ips.join(',');
    this.allocated.set(service, to);
    this.record({
      machine: 'allocation',
      id: service,
      node: this.o.node,
      from,
      to,
      event: 'allocate',
      ...(why !== undefined ? { reason: why } : pool ? { reason: `pool ${pool}` } : {}),
      at: this.now(),
    });
  }

  /**
   * Reports the machines of `kinds` as they are now, for snapshots: these kinds are listed from
   * `list` alone (every machine, moved or not), no longer from the records.
   */
  addSource(kinds: readonly MachineKind[], list: () => Iterable<CurrentMachine>): void {
    this.sources.push({ kinds, list });
  }

  /** The sources' machines now, by kind (every kind a source reports, even with none). */
  private current(): Map<MachineKind, CurrentMachine[]> {
    const current = new Map<MachineKind, CurrentMachine[]>();
    for (const src of this.sources) for (const k of src.kinds) if (!current.has(k)) current.set(k, []);
    for (const src of this.sources)
      for (const m of src.list()) {
        // A BGP session not established: its last down reason, as its records carry it.
        const down =
          m.machine === 'bgpSession' && m.state !== 'established' && m.reason === undefined ? this.downReason.get(m.id) : undefined;
        current.get(m.machine)?.push(down !== undefined ? { ...m, reason: down } : m);
      }
    return current;
  }

  /** The machines a snapshot lists now. */
  machines(): ReturnType<MachineTable['list']> {
    return snapshotMachines(this.table.list(), this.current(), this.now());
  }

  /**
   * Machines may have come or gone (the configuration changed): soon (one window later, so the
   * change's own transitions go first), the sources are compared with what the feed has told, and
   * each machine it never told of is recorded as `machine.added` (from `none`), each that no
   * longer exists as `machine.removed` (to `gone`). A viewer's page then lists a new Service's IP
   * on every node at once, not only on the nodes that moved.
   */
  changed(): void {
    if (this.stopped || this.syncTimer !== undefined || this.sources.length === 0) return;
    this.syncTimer = this.o.clock.setTimeout(() => {
      this.syncTimer = undefined;
      this.sync();
    }, this.o.windowMs ?? 100);
  }

  private sync(): void {
    if (this.stopped) return;
    const current = this.current();
    const seen = new Set<string>();
    const at = this.now();
    for (const rows of current.values())
      for (const m of rows) {
        seen.add(`${m.machine} ${m.id}`);
        if (this.table.has(m.machine, m.id)) continue;
        const { state, ...rest } = m;
        this.record({ ...rest, node: this.o.node, from: ADDED_FROM, to: state, event: 'machine.added', at });
      }
    for (const r of this.table.list())
      if (current.has(r.machine) && !seen.has(`${r.machine} ${r.id}`)) {
        this.record({ machine: r.machine, id: r.id, node: this.o.node, from: r.state, to: REMOVED_TO, event: 'machine.removed', at });
        this.table.forget(r.machine, r.id);
      }
  }

  /** A machine that no longer exists leaves the snapshot. */
  forget(machine: MachineKind, id: string): void {
    this.table.forget(machine, id);
  }

  record(r: TransitionRecord): void {
    if (this.stopped) return;
    this.table.apply(r);
    const due = this.core.add(r, this.o.clock.now());
    if (due !== undefined) this.arm(due);
  }

  private arm(due: number): void {
    this.timer = this.o.clock.setTimeout(() => this.flush(), Math.max(0, due - this.o.clock.now()));
  }

  private flush(): void {
    this.timer = undefined;
    const { message, next } = this.core.take(this.o.clock.now());
    if (message) {
      this.o.bus.publish(feedSubject(this.o.cluster, this.o.node), encodeFeed(message));
      this.sent.messages++;
    }
    if (next !== undefined && !this.stopped) this.arm(next);
  }

  /** Publishes a snapshot unasked (still at most one per `snapshotGapMs`): the controller at a new lease term. */
  publishSnapshot(): void {
    this.snapshotRequested();
  }

  private snapshotRequested(): void {
    if (this.stopped || this.snapshotTimer !== undefined) return;
    const gap = this.o.snapshotGapMs ?? 1000;
    const wait = Math.max(0, this.lastSnapshot + gap - this.o.clock.now());
    this.snapshotTimer = this.o.clock.setTimeout(() => {
      this.snapshotTimer = undefined;
      this.lastSnapshot = this.o.clock.now();
      // Pending transitions go first, so the snapshot is consistent with `seq`.
      while (this.core.waiting() > 0) this.flush();
      this.o.bus.publish(
        snapshotSubject(this.o.cluster, this.o.node),
        encodeFeed({ v: 1, node: this.o.node, inc: this.o.inc, seq: this.core.lastSeq(), at: this.now(), machines: this.machines() }),
      );
      this.sent.snapshots++;
    }, wait);
  }
}

/** The coordinator's serviceIp machines as a snapshot source (`addSource(['serviceIp'], …)`). */
export function serviceIpSource(coord: Pick<Coordinator, 'machines'>): () => CurrentMachine[] {
  return () =>
    coord.machines().map((m) => ({
      machine: 'serviceIp' as const,
      id: m.ip,
      state: m.state,
      ...(m.reason !== undefined ? { reason: m.reason } : {}),
      epoch: m.epoch,
      service: m.service,
    }));
}
