// One timer for many deadlines: a min-heap of timer entries driven by a single host timer, for
// the BFD sessions of a process (two deadlines each, re-armed thousands of times a second at
// 100 sessions × 50 ms). Re-arming an entry to a later deadline is a field write: its heap node
// keeps the old key and is pushed again at the new deadline when it surfaces (lazy re-arm), so
// the steady-state "packet received, restart the detection timer" costs no heap operation and no
// host timer call.
//
// Ordering: due entries fire in deadline order, ties in the order they were armed. An entry armed
// while the queue is firing never fires in the same pass, even at a zero delay: it waits for the
// next host timer callback, i.e. the next turn of the event loop (after pending I/O), which is
// what the BFD session's zero `ioGrace` delay relies on.

import { realClock, type Clock } from './clock.js';
import { TimerHeap, type TimerNode } from '../domain/timer-heap.js';

interface HeapNode extends TimerNode {
  readonly entry: TimerEntry;
}

/** A re-armable timer owned by one user; `fire` runs when its deadline passes. */
export class TimerEntry {
  /** Current deadline (backend ms), Infinity when disarmed. */
  deadline = Infinity;
  /** The heap node that stands for this entry (older nodes are stale). */
  node: HeapNode | undefined;
  /** A node of this entry's that left the heap, for its next push (no allocation per re-arm). */
  spare: HeapNode | undefined;
  constructor(readonly fire: () => void) {}
  get armed(): boolean {
    return this.deadline !== Infinity;
  }
}

export class TimerQueue {
  private readonly heap = new TimerHeap<HeapNode>();
  private handle: unknown;
  /** Key the host timer is set for (Infinity: none). */
  private timerAt = Infinity;
  private running = false;

  /** `backend`: realClock in production, XState's SimulatedClock in tests (both monotonic ms, see Clock). */
  constructor(readonly backend: Clock = realClock) {}

  now(): number {
    return this.backend.now();
  }

  /** Arms (or re-arms) `e` to fire `delayMs` from now. */
  arm(e: TimerEntry, delayMs: number): void {
    this.armAt(e, this.backend.now() + Math.max(0, delayMs));
  }

  /** Arms (or re-arms) `e` to fire at `deadline` (backend ms; a past deadline fires on the next run). */
  armAt(e: TimerEntry, deadline: number): void {
    e.deadline = deadline;
    // A live node at or before the new deadline re-pushes itself when it surfaces.
    if (e.node !== undefined && e.node.key <= deadline) return;
    let node = e.spare;
    if (node !== undefined) e.spare = undefined;
    else node = { key: deadline, seq: 0, pos: -1, entry: e };
    e.node = node;
    this.heap.push(node, deadline);
    if (!this.running && deadline < this.timerAt) this.setTimer(deadline);
  }

  /**
   * Runs `fn` at the start of every pass over due entries, before any of them fires (a socket
   * read without readability events drains what arrived before a detection deadline fires).
   * Entries it arms wait for the next pass. Returns the removal function.
   */
  addPoller(fn: () => void): () => void {
    this.pollers.push(fn);
    return () => {
      const i = this.pollers.indexOf(fn);
      if (i >= 0) this.pollers.splice(i, 1);
    };
  }

  private readonly pollers: Array<() => void> = [];

  /**
   * Runs `fn` at the end of every pass, after the due entries fired (a batched send of what they
   * queued). Returns the removal function.
   */
  addAfterPass(fn: () => void): () => void {
    this.afterPass.push(fn);
    return () => {
      const i = this.afterPass.indexOf(fn);
      if (i >= 0) this.afterPass.splice(i, 1);
    };
  }

  private readonly afterPass: Array<() => void> = [];

  /** True while a pass runs (pollers, due entries, after-pass functions). */
  get passing(): boolean {
    return this.running;
  }

  /** The deadline the host timer of the current (or last) pass was set for: `now() - passDueAt` is how late it ran. */
  get passDueAt(): number {
    return this.dueAt;
  }

  private dueAt = NaN;

  disarm(e: TimerEntry): void {
    e.deadline = Infinity;
    // The node, if any, is dropped when it surfaces.
  }

  /** Entries in the heap (stale nodes included): for tests and diagnostics. */
  get size(): number {
    return this.heap.size;
  }

  private setTimer(at: number): void {
    if (this.handle !== undefined) this.backend.clearTimeout(this.handle);
    this.timerAt = at;
    this.handle =
      this.backend.setTimeoutAt !== undefined
        ? this.backend.setTimeoutAt(this.runTask, at)
        : this.backend.setTimeout(this.runTask, Math.max(0, at - this.backend.now()));
  }

  private readonly runTask = (): void => this.run();

  /** Passes run (host timer callbacks): the process's wake-ups for its timers. */
  passes = 0;

  private run(): void {
    this.passes++;
    this.dueAt = this.timerAt;
    this.handle = undefined;
    this.timerAt = Infinity;
    this.running = true;
    // Nodes pushed from here on (by the pollers and callbacks) wait for the next host timer callback.
    const limit = this.heap.nextSeq;
    const deferred: HeapNode[] = [];
    try {
      for (const p of this.pollers) p();
      const now = this.backend.now();
      for (;;) {
        const top = this.heap.peek();
        if (top === undefined || top.key > now) break;
        this.heap.pop();
        if (top.seq >= limit) {
          deferred.push(top);
          continue;
        }
        const e = top.entry;
        if (e.node !== top) {
          if (e.spare === undefined) e.spare = top;
          continue;
        }
        if (e.deadline > now) {
          if (e.deadline === Infinity) {
            e.node = undefined;
            e.spare = top;
            continue;
          }
          // Re-armed later since this node was pushed: stand again at the new deadline.
          this.heap.push(top, e.deadline);
          continue;
        }
        e.node = undefined;
        e.spare = top;
        e.deadline = Infinity;
        e.fire();
      }
    } finally {
      for (const n of deferred) this.heap.push(n, n.key); // re-stamped in pop order: ties keep their order
      try {
        for (const f of this.afterPass) f();
      } finally {
        this.running = false;
      }
      const top = this.settle();
      if (top !== undefined) this.setTimer(top.key);
    }
  }

  /**
   * Brings the heap's top to a live node at its entry's current deadline (dropping stale and
   * disarmed nodes, re-pushing lazily re-armed ones) and returns it, so the host timer is set for
   * a deadline that is due: a detection timer re-armed by every received packet would otherwise
   * wake the process at each of its old deadlines only to be re-pushed.
   */
  private settle(): HeapNode | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined) return undefined;
      const e = top.entry;
      if (e.node === top && e.deadline === top.key) return top;
      this.heap.pop();
      if (e.node !== top) {
        if (e.spare === undefined) e.spare = top;
        continue;
      }
      if (e.deadline === Infinity) {
        e.node = undefined;
        e.spare = top;
        continue;
      }
      this.heap.push(top, e.deadline);
    }
  }
}
