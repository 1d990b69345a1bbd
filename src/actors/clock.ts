// The one clock port of the actors: time and timers. Every implementation shares one time base:
// realClock here (production), TimerQueue (it reads its backend, a Clock), the simulator's
// SimClock/NodeClock (virtual ms from 0) and XState's SimulatedClock in unit tests.

/**
 * Time and timers.
 *
 * Time base: `now()` is MONOTONIC milliseconds (fractional) with an arbitrary origin: in
 * production the process's hrtime (CLOCK_MONOTONIC, the clock Node's own timers run on), in
 * simulations and tests virtual time from 0. It never goes back and jumps with no wall-clock
 * change, but it is not a date and means nothing in another process: a timestamp that leaves the
 * process (logs, events, incarnations) is read from Date.now() at the edge, not from here.
 * XState's `clock` option takes the same setTimeout/clearTimeout pair.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  /** Optional: calls `fn` once `now()` has reached `at` (not before, when the host allows). */
  setTimeoutAt?(fn: () => void, at: number): unknown;
  /**
   * Runs `fn` once the I/O that is already waiting has been delivered (Node: setImmediate, which
   * runs after the poll phase). Optional: a simulated clock has no pending I/O.
   */
  afterIo?(fn: () => void): void;
}

/**
 * The event loop's clock: Node's timers count whole milliseconds of libuv's loop time (`uv_now`,
 * `uv_hrtime` truncated to ms when the loop iteration starts) and truncate a delay to whole
 * milliseconds. performance.now() runs on the same hrtime with a different origin, so its
 * millisecond boundaries are not the loop's: `setTimeout(fn, at - performance.now())` can fire up
 * to a millisecond before `at`, and a timer queue would wake once early, find nothing due and
 * wait again (a third more wake-ups on a 2 ms I/O grid). So `now()` is hrtime in ms (fractional,
 * from performance.now() plus the constant offset), and a deadline `at` is waited for with the
 * delay from the loop's current millisecond to the first one not before `at`: a timer on a
 * whole-millisecond deadline (the I/O grid's) fires in the loop iteration that reaches it.
 */
const hrOffsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();

export const realClock: Clock = {
  now: () => performance.now() + hrOffsetMs,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  setTimeoutAt: (fn, at) => setTimeout(fn, Math.max(1, Math.ceil(at) - Math.floor(performance.now() + hrOffsetMs))),
  afterIo: (fn) => {
    setImmediate(fn);
  },
};
