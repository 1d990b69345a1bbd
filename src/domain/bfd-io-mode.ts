// When the batched BFD port (adapters/bfd-mmsg.ts) reads its sockets: on readiness or on a tick.
//
// - `readiness`: the kernel tells the process when a datagram arrives (SIGIO on the receive
//   sockets) and the port reads at once. Nothing wakes the process but the packets and the
//   sessions' own timers, so an idle or lightly loaded speaker costs what `node:dgram` costs, and a
//   packet is read with no poll delay. Each arriving packet can be a wake-up of its own.
// - `tick`: the port reads on a `periodMs` grid (the transmit slots fall on the same grid): one
//   wake-up per period however many packets arrive (100 sessions at 50 ms: 2000 received packets
//   a second in 100 wake-ups), a packet waits at most one period to be read.
//
// The port starts in `readiness` and counts, per window of WINDOW_PERIODS periods, the wake-ups
// readiness cost it; when they reach half the grid's rate it changes to `tick` at once (a tick per
// period is then cheaper). In `tick` it counts the datagrams read per window; when a window closes
// with at most a quarter of the grid's rate (so readiness would cost at most half of the ticks'
// wake-ups), it returns to `readiness`. The gap between the two thresholds keeps a steady rate from
// flapping between the modes: readiness wake-ups are never more than the datagrams.
//
// Pure: the caller passes the time (ms) of each poll and what it read.

export type BfdIoMode = 'readiness' | 'tick';

/** Periods per counting window (250 ms at a 10 ms period). */
export const WINDOW_PERIODS = 25;

export interface BfdIoModeState {
  readonly mode: BfdIoMode;
  /** Start of the current counting window (ms). */
  readonly since: number;
  /** `readiness`: polls woken by readiness in the window. */
  readonly wakeups: number;
  /** `tick`: datagrams read in the window. */
  readonly datagrams: number;
}

/** What one poll did. */
export interface BfdIoPoll {
  /** The poll ran because the kernel signalled readiness (not as part of a timer pass). */
  readonly readiness: boolean;
  /** Datagrams it read. */
  readonly datagrams: number;
}

export function ioModeStart(mode: BfdIoMode, now: number): BfdIoModeState {
  return { mode, since: now, wakeups: 0, datagrams: 0 };
}

/** Length of a counting window (ms). */
export function ioModeWindowMs(periodMs: number): number {
  return WINDOW_PERIODS * periodMs;
}

/** The state after a poll at `now` (the mode it returns is the one to be in from now on). */
export function ioModeAfterPoll(s: BfdIoModeState, now: number, periodMs: number, poll: BfdIoPoll): BfdIoModeState {
  const windowEnded = now - s.since >= ioModeWindowMs(periodMs);
  if (s.mode === 'readiness') {
    const base = windowEnded ? ioModeStart('readiness', now) : s;
    const wakeups = base.wakeups + (poll.readiness ? 1 : 0);
    if (wakeups >= WINDOW_PERIODS / 2) return ioModeStart('tick', now);
    return wakeups === base.wakeups && base === s ? s : { ...base, wakeups };
  }
  if (windowEnded) {
    // The poll that closes the window counts in it.
    if (s.datagrams + poll.datagrams <= WINDOW_PERIODS / 4) return ioModeStart('readiness', now);
    return ioModeStart('tick', now);
  }
  return poll.datagrams === 0 ? s : { ...s, datagrams: s.datagrams + poll.datagrams };
}
