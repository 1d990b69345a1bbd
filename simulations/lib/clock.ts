// The simulator's single clock: deterministic virtual time for every speaker, XState actor, bus
// delivery and KV call. Same interface as xstate's SimulatedClock (setTimeout/clearTimeout/
// increment), but timers sit in a binary heap ordered by (due time, creation order): xstate's
// SimulatedClock re-sorts every pending timer on each flush and restarts the flush whenever a
// callback sets a timer, which is quadratic at simulator scale (thousands of periodic timers).
// Async continuations (KV promises) run between timers: `advance` awaits the microtask queue
// after each callback, so the interleaving is fixed and runs are reproducible.
import type { Clock } from '../../src/actors/clock.js';

interface Timer { due: number; seq: number; fn: () => void; live: boolean }

export class SimClock implements Clock {
  private t = 0;
  private seq = 0;
  private heap: Timer[] = [];
  private readonly byId = new Map<number, Timer>();

  now(): number { return this.t; }

  setTimeout(fn: () => void, ms: number): number {
    const timer: Timer = { due: this.t + Math.max(0, ms), seq: this.seq++, fn, live: true };
    this.byId.set(timer.seq, timer);
    this.push(timer);
    return timer.seq;
  }

  clearTimeout(id: unknown): void {
    const timer = this.byId.get(id as number);
    if (timer) { timer.live = false; this.byId.delete(id as number); }
  }

  pending(): number { return this.byId.size; }

  /** Runs every timer due up to `now + ms`, in order, awaiting microtasks after each one. */
  async advance(ms: number, onTick?: (now: number) => void): Promise<void> {
    const until = this.t + ms;
    for (;;) {
      const top = this.heap[0];
      if (!top || top.due > until) break;
      this.pop();
      if (!top.live) continue;
      this.byId.delete(top.seq);
      this.t = top.due;
      top.fn();
      await drainMicrotasks();
      onTick?.(this.t);
    }
    this.t = until;
    await drainMicrotasks();
  }

  private less(a: Timer, b: Timer): boolean { return a.due < b.due || (a.due === b.due && a.seq < b.seq); }

  private push(x: Timer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i] as Timer, h[p] as Timer)) break;
      [h[i], h[p]] = [h[p] as Timer, h[i] as Timer];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l] as Timer, h[m] as Timer)) m = l;
      if (r < h.length && this.less(h[r] as Timer, h[m] as Timer)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as Timer, h[i] as Timer];
      i = m;
    }
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

  constructor(private readonly shared: SimClock, withAfterIo = true) {
    this.afterIo = withAfterIo ? (fn) => { this.immediates.push(fn); if (this.immediates.length === 1 && !this.stalled()) this.shared.setTimeout(() => this.runImmediates(), 0); } : undefined;
  }

  now(): number { return this.shared.now(); }
  stalled(): boolean { return this.shared.now() < this.until; }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.shared.setTimeout(() => { if (this.stalled()) this.timers.push(fn); else fn(); }, ms);
  }

  clearTimeout(id: unknown): void { this.shared.clearTimeout(id); }

  /** Wraps a message handler: while stalled, messages wait for the end of the stall. */
  input<A extends unknown[]>(fn: (...a: A) => void): (...a: A) => void {
    return (...a) => { if (this.stalled()) this.io.push(() => fn(...a)); else fn(...a); };
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
