// Exponential backoff with a cap and deterministic jitter (the jitter source is passed in, so
// this stays pure). Used by informer restarts and reconnect loops.
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: fraction of the delay that is randomised */ jitter: number;
}
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** Delay before retry number `attempt` (0-based). `rand` returns a number in [0, 1). */
export function backoffDelay(attempt: number, rand: () => number, p: BackoffPolicy = DEFAULT_BACKOFF): number {
  const base = Math.min(p.maxMs, p.initialMs * p.factor ** Math.max(0, attempt));
  return Math.round(base * (1 - p.jitter + p.jitter * rand()));
}
