// BFD timer negotiation (RFC 5880 §6.8.2–§6.8.4, §6.8.7) and the seeded jitter source the
// session machine uses. Pure: the session machine keeps the PRNG state in its context, so a run
// is reproducible from its seed and snapshots stay serialisable.

/** §6.8.3: while a session is not Up, bfd.DesiredMinTxInterval is at least one second. */
export const BFD_SLOW_TX_US = 1_000_000;

/** The DesiredMinTxInterval a system advertises: the configured one once Up, else ≥ 1 s. */
export function advertisedTxUs(configuredUs: number, up: boolean): number {
  return up ? configuredUs : Math.max(BFD_SLOW_TX_US, configuredUs);
}

/**
 * §6.8.7: periodic transmission interval before jitter: the larger of our DesiredMinTxInterval
 * and the remote's RequiredMinRxInterval ("the system reporting the slower rate determines the
 * transmission rate").
 */
export function txIntervalUs(desiredMinTxUs: number, remoteMinRxUs: number): number {
  return Math.max(desiredMinTxUs, remoteMinRxUs);
}

/**
 * §6.8.4 (Asynchronous mode): Detection Time = the remote's Detect Mult × the larger of our
 * RequiredMinRxInterval and the remote's last received DesiredMinTxInterval.
 */
export function detectTimeUs(remoteDetectMult: number, requiredMinRxUs: number, remoteDesiredMinTxUs: number): number {
  return remoteDetectMult * Math.max(requiredMinRxUs, remoteDesiredMinTxUs);
}

/**
 * §6.8.7 jitter: each interval is reduced randomly by 0–25 % (75–100 % of the interval), or by
 * 10–25 % (75–90 %) when our own Detect Mult is 1. `r` is uniform in [0, 1).
 */
export function jitteredMs(intervalUs: number, detectMult: number, r: number): number {
  const span = detectMult === 1 ? 0.15 : 0.25;
  return (intervalUs / 1000) * (0.75 + span * r);
}

export { nextRandom } from './prng.js';

/**
 * §6.8.7 bounds (ms) of a jittered transmit delay: 75–100 % of the interval, 75–90 % with
 * Detect Mult 1.
 */
export function txJitterBoundsMs(intervalUs: number, detectMult: number): { lo: number; hi: number } {
  const ms = intervalUs / 1000;
  return { lo: 0.75 * ms, hi: (detectMult === 1 ? 0.9 : 1) * ms };
}

/**
 * Moves the deadline `now + delayMs` onto a multiple of `slotMs` (so that transmissions due in
 * the same slot leave in one batch) while keeping the delay within [loMs, hiMs] and random per
 * packet (§6.8.7): `delayMs` is the jittered draw, uniform in [loMs, hiMs], and its position in
 * that range picks one of the slot boundaries inside the bounds with equal chances (with 10 ms
 * slots and a 50 ms interval, 40 or 50 ms; flooring the draw would give 40 ms nearly always).
 * One boundary inside: that one. None, or `slotMs` not positive: the drawn deadline unchanged.
 * Returns the absolute deadline.
 */
export function slotDeadline(now: number, delayMs: number, loMs: number, hiMs: number, slotMs: number): number {
  const target = now + delayMs;
  if (!(slotMs > 0)) return target;
  const first = Math.ceil((now + loMs) / slotMs);
  const last = Math.floor((now + hiMs) / slotMs);
  if (last < first) return target;
  const span = hiMs - loMs;
  const p = span > 0 ? Math.min(Math.max((delayMs - loMs) / span, 0), 0.999999) : 0;
  return (first + Math.floor(p * (last - first + 1))) * slotMs;
}

/**
 * Receive poll period and transmit slot (ms) for batched socket I/O, from the shortest
 * receive/transmit interval (ms) of a process's sessions: a fifth of it, 2–10 ms (10 ms at
 * 50 ms and at MetalLB's default 300 ms). A packet waits at most this long to be read, so it
 * re-arms the detection timer up to that much later (detection is late by at most this, never
 * early), and a process wakes about once per period: on a virtual machine each wake-up of a
 * Node process costs tens of µs, more than the packets of a slot (docs/bfd.md).
 */
export function ioPollPeriodMs(shortestIntervalMs: number): number {
  if (!(shortestIntervalMs > 0)) return 10;
  return Math.min(10, Math.max(2, Math.floor(shortestIntervalMs / 5)));
}
