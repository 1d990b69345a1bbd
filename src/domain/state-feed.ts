// The live state feed (docs/visualizer.md): what a speaker (and the controller) tells the
// visualizer. Every machine transition becomes a TransitionRecord; the FeedCoalescer batches them
// into few messages (one per window, bounded in size and count), so a burst of 1,000 take-overs is
// a handful of messages and a cluster at rest sends none. Pure: time comes in as arguments.

export const FEED_VERSION = 1;

/** The machines the feed reports on; `allocation` is the controller's IP assignment to a Service. */
export type MachineKind = 'serviceIp' | 'bgpSession' | 'bfdSession' | 'allocation';
export const MACHINE_KINDS: readonly MachineKind[] = ['serviceIp', 'bgpSession', 'bfdSession', 'allocation'];

/** `from` of a `machine.added` record and `to` of a `machine.removed` one. */
export const ADDED_FROM = 'none';
export const REMOVED_TO = 'gone';

export interface TransitionRecord {
  readonly machine: MachineKind;
  /** The machine's id on its node: the IP, the BGPPeer name, the BFD peer, the Service key. */
  readonly id: string;
  /** Node that runs the machine (`controller` for allocations). */
  readonly node: string;
  readonly from: string;
  readonly to: string;
  /**
   * The event that caused it (XState event type), when known. Two are the feed's own:
   * `machine.added` (from `none`: a machine that exists now, e.g. the serviceIp of a new Service on
   * a node never elected for it) and `machine.removed` (to `gone`: it no longer exists).
   */
  readonly event?: string;
  /** Why the machine is where it is (non-announcing reasons, BGP down reasons, BFD diagnostics). */
  readonly reason?: string;
  readonly epoch?: number;
  /** Owning Service (`namespace/name`) of a serviceIp. */
  readonly service?: string;
  /** ms since the epoch (or simulated ms). */
  readonly at: number;
}

/** The last known state of one machine (a snapshot line). */
export interface MachineState {
  readonly machine: MachineKind;
  readonly id: string;
  readonly state: string;
  readonly reason?: string;
  readonly epoch?: number;
  readonly service?: string;
  /** When it entered `state`. */
  readonly since: number;
}

/** One feed message: a batch of a node's transitions, in order. `seq` lets a reader see gaps. */
export interface FeedMessage {
  readonly v: 1;
  readonly node: string;
  /** Incarnation of the sender (its start time), so a restart resets `seq`. */
  readonly inc: number;
  readonly seq: number;
  readonly transitions: readonly TransitionRecord[];
  /** Records dropped before this message (over `maxPending`): the reader should ask for a snapshot. */
  readonly dropped?: number;
}

/** A machine as its actor is now (what a snapshot source reports): a MachineState without `since`. */
export type CurrentMachine = Omit<MachineState, 'since'>;

/**
 * A snapshot's machines. Of the kinds in `current` (the kinds a source reports: the speaker's
 * serviceIp, bgpSession and bfdSession actors), every machine as it is now, so a machine that never
 * left its first state is listed too, and one that no longer exists is not; its `since` is the
 * time of its last record when it still is in that state, else `at` (it got there without a
 * record). Kinds no source reports come from the records (`recorded`, the MachineTable).
 */
export function snapshotMachines(
  recorded: readonly MachineState[],
  current: ReadonlyMap<MachineKind, readonly CurrentMachine[]>,
  at: number,
): MachineState[] {
  const last = new Map(recorded.map((r) => [`${r.machine}\u0000${r.id}`, r]));
  const out: MachineState[] = recorded.filter((r) => !current.has(r.machine));
  for (const rows of current.values())
    for (const m of rows) {
      const r = last.get(`${m.machine}\u0000${m.id}`);
      const reason = m.reason ?? (r?.state === m.state ? r.reason : undefined);
      out.push({
        machine: m.machine,
        id: m.id,
        state: m.state,
        ...(reason !== undefined ? { reason } : {}),
        ...(m.epoch !== undefined ? { epoch: m.epoch } : {}),
        ...(m.service !== undefined ? { service: m.service } : {}),
        since: r?.state === m.state ? r.since : at,
      });
    }
  return out;
}

/** A node's answer to a snapshot request: every machine it runs. */
export interface SnapshotMessage {
  readonly v: 1;
  readonly node: string;
  readonly inc: number;
  /** The feed `seq` this snapshot is consistent with (the last message sent before it). */
  readonly seq: number;
  readonly at: number;
  readonly machines: readonly MachineState[];
}

export interface CoalescerOptions {
  /** Transitions wait at most this long before they are sent (default 100 ms). */
  readonly windowMs?: number;
  /** Two messages are at least this far apart (default 100 ms: ≤ 10 messages/s in a storm). */
  readonly minGapMs?: number;
  /** Records per message (default 500: a message stays far below NATS's 1 MB). */
  readonly maxBatch?: number;
  /** Records kept while waiting; older ones are dropped and counted (default 20,000). */
  readonly maxPending?: number;
}

/**
 * Batches records. `add` says when the caller should call `take` (an absolute time) or nothing
 * when a take is already due; `take(now)` returns the next message, or undefined when nothing
 * waits, and the time of the next take when more waits.
 */
export class FeedCoalescer {
  private pending: TransitionRecord[] = [];
  private dropped = 0;
  private seq = 0;
  private lastSent = -Infinity;
  private due: number | undefined;
  private readonly windowMs: number;
  private readonly minGapMs: number;
  private readonly maxBatch: number;
  private readonly maxPending: number;

  constructor(
    readonly node: string,
    readonly inc: number,
    o: CoalescerOptions = {},
  ) {
    this.windowMs = o.windowMs ?? 100;
    this.minGapMs = o.minGapMs ?? 100;
    this.maxBatch = o.maxBatch ?? 500;
    this.maxPending = o.maxPending ?? 20_000;
  }

  /** Queues a record; returns the time to call `take` at when a new take must be scheduled. */
  add(r: TransitionRecord, now: number): number | undefined {
    this.pending.push(r);
    if (this.pending.length > this.maxPending) {
      const over = this.pending.length - this.maxPending;
      this.pending.splice(0, over);
      this.dropped += over;
    }
    if (this.due !== undefined) return undefined;
    this.due = Math.max(now + this.windowMs, this.lastSent + this.minGapMs);
    return this.due;
  }

  /** The next message, and when to take again if records are left. */
  take(now: number): { message: FeedMessage | undefined; next: number | undefined } {
    this.due = undefined;
    if (this.pending.length === 0) return { message: undefined, next: undefined };
    const batch = this.pending.splice(0, this.maxBatch);
    this.seq += 1;
    this.lastSent = now;
    const message: FeedMessage = {
      v: 1,
      node: this.node,
      inc: this.inc,
      seq: this.seq,
      transitions: batch,
      ...(this.dropped > 0 ? { dropped: this.dropped } : {}),
    };
    this.dropped = 0;
    if (this.pending.length > 0) this.due = now + this.minGapMs;
    return { message, next: this.due };
  }

  /** Sequence number of the last message taken. */
  lastSeq(): number {
    return this.seq;
  }

  waiting(): number {
    return this.pending.length;
  }
}

/** Last state per machine, from the records a node emits: what a snapshot answers with. */
export class MachineTable {
  private readonly rows = new Map<string, MachineState>();

  apply(r: TransitionRecord): void {
    const key = `${r.machine}\u0000${r.id}`;
    this.rows.set(key, {
      machine: r.machine,
      id: r.id,
      state: r.to,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      ...(r.epoch !== undefined ? { epoch: r.epoch } : {}),
      ...(r.service !== undefined ? { service: r.service } : {}),
      since: r.at,
    });
  }

  has(machine: MachineKind, id: string): boolean {
    return this.rows.has(`${machine}\u0000${id}`);
  }

  /** Forgets a machine that no longer exists (an IP or peer removed from the configuration). */
  forget(machine: MachineKind, id: string): void {
    this.rows.delete(`${machine}\u0000${id}`);
  }

  list(): MachineState[] {
    return [...this.rows.values()];
  }
}
