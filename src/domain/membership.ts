// Membership (pure): one table per speaker of every peer it has heard, each peer in
// `alive → suspect → dead`, fed by per-node heartbeats and swept by the caller's clock. A table
// rather than one XState actor per peer: heartbeats arrive at N×(1000/interval) per second per
// speaker, and a 1,000-node simulation holds 10^6 peer entries, which an actor per entry cannot
// (docs/architecture.md "The machines"). Time is passed in (`now`); nothing here reads a clock.
//
// Incarnations: a heartbeat carries `inc` (strictly greater after a restart) and `seq`. A lower
// `inc` is a message from a previous life and is dropped; a higher one is a restart, reported so
// that claims of the old life are forgotten. Within an incarnation a non-increasing `seq` is a
// duplicate or reordering and is dropped.
import type { Heartbeat } from '../codecs/coord.js';
import { TimerHeap, type TimerNode } from './timer-heap.js';

export const PeerState = { alive: 'alive', suspect: 'suspect', dead: 'dead' } as const;
export type PeerState = (typeof PeerState)[keyof typeof PeerState];

export interface MembershipConfig {
  /** Our heartbeat interval; peers are judged on the interval they advertise. */
  readonly intervalMs: number;
  /** Missed intervals before a peer is dead (suspect after one). */
  readonly misses: number;
  /**
   * Death fast path: once every NATS connection of a peer is reported closed
   * (`connectionsGone`), it is dead this long later unless it shows a new connection first
   * (`connectionsBack`, or a heartbeat). Default: interval / 5.
   */
  readonly goneConfirmMs?: number;
}

/** Defaults: a peer that stops is declared dead ≤ 300 ms later (see docs/coordination.md). */
export const DEFAULT_MEMBERSHIP: MembershipConfig = { intervalMs: 100, misses: 3 };

/** How long "every connection gone" must hold before the peer is dead (see `goneConfirmMs`). */
export function goneConfirmMs(c: MembershipConfig): number {
  return c.goneConfirmMs ?? Math.max(1, Math.floor(c.intervalMs / 5));
}

export interface Peer {
  readonly node: string;
  inc: number;
  seq: number;
  intervalMs: number;
  lastSeen: number;
  state: PeerState;
  l2Ready: boolean;
  draining: boolean;
  /** Past its resync window (heartbeat `settled`; absent = true): ready to take IPs over. */
  settled: boolean;
  /** When every NATS connection of the peer was reported closed (undefined: not so). */
  goneAt: number | undefined;
}

export type MembershipEvent =
  | {
      readonly type: 'peer.up';
      readonly node: string;
      readonly inc: number;
      readonly restarted: boolean;
      readonly from: PeerState | 'unknown';
    }
  | { readonly type: 'peer.suspect'; readonly node: string }
  /** `cause`: heartbeats missed, or every NATS connection of the peer closed (the fast path). */
  | { readonly type: 'peer.dead'; readonly node: string; readonly silentMs: number; readonly cause: 'heartbeat' | 'connections' }
  | { readonly type: 'peer.flags'; readonly node: string }
  /** Only `settled` changed: it concerns the IPs the receiver announces, not the election. */
  | { readonly type: 'peer.settled'; readonly node: string; readonly settled: boolean };

/** A heap entry: `key` is the deadline. */
interface Deadline extends TimerNode {
  readonly node: string;
}

/** A peer as the table holds it: `due` is the time of its one live heap entry (undefined: none). */
interface PeerEntry extends Peer {
  due: number | undefined;
}

const NONE: readonly MembershipEvent[] = Object.freeze([]);

export class Membership {
  private readonly peers = new Map<string, PeerEntry>();
  /**
   * Min-heap of deadlines (the shared TimerHeap) with at most one live entry per peer
   * (`PeerEntry.due`). A heartbeat only moves `lastSeen` (O(1), no push); when an entry falls due, the peer's real deadline is
   * recomputed from `lastSeen` and the entry re-pushed if it is still ahead. So the heap holds
   * O(peers) entries, a heartbeat costs a map lookup, and a sweep costs O(expired · log n): a
   * 1,000-node table is cheap to feed and to sweep often.
   */
  private readonly heap = new TimerHeap<Deadline>();

  constructor(
    readonly self: string,
    readonly config: MembershipConfig = DEFAULT_MEMBERSHIP,
  ) {}

  /** Records a heartbeat received at `now`; returns the transitions it caused (usually none). */
  heartbeat(hb: Heartbeat, now: number): readonly MembershipEvent[] {
    if (hb.node === this.self) return NONE;
    const p = this.peers.get(hb.node);
    if (!p) {
      const q: PeerEntry = {
        node: hb.node,
        inc: hb.inc,
        seq: hb.seq,
        intervalMs: hb.intervalMs,
        lastSeen: now,
        state: PeerState.alive,
        l2Ready: hb.l2Ready,
        draining: hb.draining,
        settled: hb.settled ?? true,
        goneAt: undefined,
        due: undefined,
      };
      this.peers.set(hb.node, q);
      this.arm(q);
      return [{ type: 'peer.up', node: hb.node, inc: hb.inc, restarted: false, from: 'unknown' }];
    }
    if (hb.inc < p.inc) return NONE;
    const restarted = hb.inc > p.inc;
    if (!restarted && hb.seq <= p.seq) return NONE;
    const from = p.state;
    const settled = hb.settled ?? true;
    const electionFlags = p.l2Ready !== hb.l2Ready || p.draining !== hb.draining;
    const flagsChanged = electionFlags || p.settled !== settled;
    p.inc = hb.inc;
    p.seq = hb.seq;
    p.intervalMs = hb.intervalMs;
    p.lastSeen = now;
    p.l2Ready = hb.l2Ready;
    p.draining = hb.draining;
    p.settled = settled;
    // A heartbeat the caller let through shows a live connection (src/domain/presence.ts).
    p.goneAt = undefined;
    if (!restarted && from === PeerState.alive && !flagsChanged) {
      // The common case: the pending entry (if any) is early now and is re-armed when it falls due.
      if (p.due === undefined || p.due > this.suspectAt(p)) this.arm(p);
      return NONE;
    }
    const out: MembershipEvent[] = [];
    if (restarted || from !== PeerState.alive) {
      p.state = PeerState.alive;
      // suspect → alive is not news to the election (a suspect peer still counts as live).
      if (restarted || from === PeerState.dead) out.push({ type: 'peer.up', node: hb.node, inc: hb.inc, restarted, from });
    }
    if (electionFlags) out.push({ type: 'peer.flags', node: hb.node });
    else if (flagsChanged) out.push({ type: 'peer.settled', node: hb.node, settled });
    this.arm(p);
    return out;
  }

  /**
   * Ages every peer to `now`; returns the suspect/dead transitions. With `selfEcho` (when our own
   * last heartbeat came back through NATS), a peer is declared dead only if we heard ourselves
   * well after it went silent; otherwise the silence may be ours and the verdict is deferred.
   */
  sweep(now: number, selfEcho?: number): readonly MembershipEvent[] {
    let out: MembershipEvent[] | undefined;
    for (let top = this.heap.peek(); top && top.key <= now; top = this.heap.peek()) {
      this.heap.pop();
      const p = this.peers.get(top.node);
      if (!p || p.due !== top.key) continue; // superseded entry
      p.due = undefined;
      if (p.state === PeerState.dead) continue; // re-armed by its next heartbeat
      if (p.goneAt !== undefined && now >= this.goneDue(p)) {
        // Every connection closed and none came back within the confirmation: the fast path.
        p.state = PeerState.dead;
        p.goneAt = undefined;
        (out ??= []).push({ type: 'peer.dead', node: p.node, silentMs: now - p.lastSeen, cause: 'connections' });
        continue;
      }
      if (p.state === PeerState.alive) {
        const s = this.suspectAt(p);
        if (s > now) {
          this.reschedule(p, top, Math.min(s, this.goneDue(p)));
          continue;
        }
        p.state = PeerState.suspect;
        (out ??= []).push({ type: 'peer.suspect', node: p.node });
      }
      const d = this.deadAt(p);
      if (d > now) {
        this.reschedule(p, top, Math.min(d, this.goneDue(p)));
        continue;
      }
      if (selfEcho !== undefined && selfEcho < d - 1.5 * this.config.intervalMs) {
        this.reschedule(p, top, now + Math.max(1, Math.floor(this.config.intervalMs / 4)));
        continue;
      }
      p.state = PeerState.dead;
      p.goneAt = undefined;
      (out ??= []).push({ type: 'peer.dead', node: p.node, silentMs: now - p.lastSeen, cause: 'heartbeat' });
    }
    return out ?? NONE;
  }

  /**
   * Every NATS connection of `node` was reported closed at `now` (src/domain/presence.ts): it is
   * declared dead at the first sweep `goneConfirmMs` later, unless `connectionsBack` or one of its
   * heartbeats comes first. Returns that time (undefined: unknown or already dead peer).
   */
  connectionsGone(node: string, now: number): number | undefined {
    const p = this.peers.get(node);
    if (!p || p.state === PeerState.dead) return undefined;
    p.goneAt ??= now;
    const due = this.goneDue(p);
    if (p.due === undefined || p.due > due) this.schedule(p, due);
    return due;
  }

  /** The peer showed a new NATS connection: the pending fast-path verdict is withdrawn. */
  connectionsBack(node: string): void {
    const p = this.peers.get(node);
    if (p) p.goneAt = undefined; // its early heap entry is recomputed from lastSeen when it falls due
  }

  private goneDue(p: Peer): number {
    return p.goneAt === undefined ? Infinity : p.goneAt + goneConfirmMs(this.config);
  }

  private suspectAt(p: Peer): number {
    return p.lastSeen + Math.floor(p.intervalMs * 1.5) + 1;
  }

  private deadAt(p: Peer): number {
    return p.lastSeen + p.intervalMs * this.config.misses;
  }

  /** (Re)arms the peer's next deadline from its state and `lastSeen`. */
  private arm(p: PeerEntry): void {
    this.schedule(p, p.state === PeerState.alive ? this.suspectAt(p) : this.deadAt(p));
  }

  private schedule(p: PeerEntry, at: number): void {
    p.due = at;
    this.heap.push({ key: at, seq: 0, pos: -1, node: p.node }, at);
  }

  /** Re-pushes a just-popped entry (no allocation: sweeps re-arm about one entry per heartbeat). */
  private reschedule(p: PeerEntry, popped: Deadline, at: number): void {
    p.due = at;
    this.heap.push(popped, at);
  }

  /**
   * Our NATS connection came back at `now`: silence while we were cut off says nothing about the
   * peers, so every live peer gets a fresh detection window instead of being declared dead.
   */
  reconnected(now: number): void {
    for (const p of this.peers.values()) {
      if (p.state === PeerState.dead || p.lastSeen >= now) continue;
      p.lastSeen = now;
      if (p.due === undefined) this.arm(p); // else re-armed from lastSeen when it falls due
    }
  }

  /** Heap entries pending (at most one live entry per peer; for tests and metrics). */
  pendingDeadlines(): number {
    return this.heap.size;
  }

  /** Earliest pending deadline (possibly stale: sweeping then is merely early), or undefined. */
  nextDeadline(): number | undefined {
    return this.heap.peek()?.key;
  }

  /** Live = alive or suspect (a suspect peer keeps its IPs until declared dead). */
  isLive(node: string): boolean {
    if (node === this.self) return true;
    const s = this.peers.get(node)?.state;
    return s === PeerState.alive || s === PeerState.suspect;
  }

  state(node: string): PeerState | undefined {
    return this.peers.get(node)?.state;
  }

  peer(node: string): Readonly<Peer> | undefined {
    return this.peers.get(node);
  }

  l2Ready(node: string): boolean {
    return this.peers.get(node)?.l2Ready ?? false;
  }

  draining(node: string): boolean {
    return this.peers.get(node)?.draining ?? false;
  }

  /** Whether the peer says it is past its resync window (unknown peers: true). */
  settled(node: string): boolean {
    return this.peers.get(node)?.settled ?? true;
  }

  *all(): IterableIterator<Readonly<Peer>> {
    yield* this.peers.values();
  }

  /** Finest sweep spacing the caller should use: bounds the detection error to interval/20. */
  sweepEveryMs(): number {
    return Math.max(1, Math.floor(this.config.intervalMs / 20));
  }
}
