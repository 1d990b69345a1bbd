// The simulator's single clock: deterministic virtual time for every speaker, XState actor, bus
// delivery and KV call. Same interface as xstate's SimulatedClock (setTimeout/clearTimeout/
// increment), but timers sit in a binary heap ordered by (due time, creation order) (the
// TimerHeap of src/domain/timer-heap.ts, shared with the BFD TimerQueue): xstate's
// SimulatedClock re-sorts every pending timer on each flush and restarts the flush whenever a
// callback sets a timer, which is quadratic at simulator scale (thousands of periodic timers).
// Async continuations (KV promises) run between timers: `advance` awaits the microtask queue
// after each callback, so the interleaving is fixed and runs are reproducible.
import type { Clock } from '../../src/actors/clock.js';
import { TimerHeap, type TimerNode } from '../../src/domain/timer-heap.js';

interface Timer extends TimerNode {
  readonly fn: () => void;
}

/** Virtual time: monotonic ms from 0, the time base of every Clock (src/actors/clock.ts). */
export class SimClock implements Clock {
  private t = 0;
  private readonly heap = new TimerHeap<Timer>();

  now(): number {
    return this.t;
  }

  /** Returns the timer itself as the handle (`clearTimeout` removes it from the heap). */
  setTimeout(fn: () => void, ms: number): unknown {
    const timer: Timer = { key: 0, seq: 0, pos: -1, fn };
    this.heap.push(timer, this.t + Math.max(0, ms));
    return timer;
  }

  clearTimeout(id: unknown): void {
    if (typeof id === 'object' && id !== null && 'fn' in id) this.heap.remove(id as Timer);
  }

  pending(): number {
    return this.heap.size;
  }

  /** Runs every timer due up to `now + ms`, in order, awaiting microtasks after each one. */
  async advance(ms: number, onTick?: (now: number) => void): Promise<void> {
    const until = this.t + ms;
    for (;;) {
      const top = this.heap.peek();
      if (!top || top.key > until) break;
      this.heap.pop();
      this.t = top.key;
      top.fn();
      await drainMicrotasks();
      onTick?.(this.t);
    }
    this.t = until;
    await drainMicrotasks();
  }
}

/** Lets pending promise continuations run (a few turns: continuations may chain). */
export async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve();
}

/** Seeded PRNG (mulberry32): the simulator never uses Math.random. */
export { rng } from '../../src/domain/prng.js';

/**
 * One node's view of the shared clock, able to stall like a blocked Node event loop: while
 * stalled, the node's timers and its incoming messages wait; at the end of the stall they run in
 * Node's order: due timers first, then the I/O that arrived meanwhile, then `afterIo` callbacks
 * (setImmediate, the check phase).
 */
export class NodeClock implements Clock {
  private until = -Infinity;
  private readonly timers: Array<() => void> = [];
  private readonly io: Array<() => void> = [];
  private immediates: Array<() => void> = [];
  /** `afterIo` is offered only when the node models Node's phases (with it off, code that would use it cannot). */
  readonly afterIo: ((fn: () => void) => void) | undefined;

  constructor(
    private readonly shared: SimClock,
    withAfterIo = true,
  ) {
    this.afterIo = withAfterIo
      ? (fn) => {
          this.immediates.push(fn);
          if (this.immediates.length === 1 && !this.stalled()) this.shared.setTimeout(() => this.runImmediates(), 0);
        }
      : undefined;
  }

  now(): number {
    return this.shared.now();
  }
  stalled(): boolean {
    return this.shared.now() < this.until;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.shared.setTimeout(() => {
      if (this.stalled()) this.timers.push(fn);
      else fn();
    }, ms);
  }

  clearTimeout(id: unknown): void {
    this.shared.clearTimeout(id);
  }

  /** Wraps a message handler: while stalled, messages wait for the end of the stall. */
  input<A extends unknown[]>(fn: (...a: A) => void): (...a: A) => void {
    return (...a) => {
      if (this.stalled()) this.io.push(() => fn(...a));
      else fn(...a);
    };
  }

  /** Blocks this node's event loop for `ms`. */
  stall(ms: number): void {
    this.until = this.shared.now() + ms;
    this.shared.setTimeout(() => {
      for (const fn of this.timers.splice(0)) fn();
      for (const fn of this.io.splice(0)) fn();
      this.runImmediates();
    }, ms);
  }

  private runImmediates(): void {
    while (this.immediates.length > 0) {
      const batch = this.immediates;
      this.immediates = [];
      for (const fn of batch) fn();
    }
  }
}
