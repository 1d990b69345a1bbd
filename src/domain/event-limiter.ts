// How many Events a speaker may write, and when (pure: time is an argument). A flapping reason, a
// NATS outage that touches every Service at once, or an ARP conflict seen on every refresh must
// not flood the apiserver, and must not be lost either. Two token buckets decide: one per bucket
// key (a Service and a reason: a few Events at once, then one per interval) and one for the whole
// node. An Event that finds no token is held, not dropped: it goes out when tokens are back, if
// what it says is still true then (the caller says), with the number of changes of its bucket that
// were never reported on their own. A newer Event for the same slot replaces a held one.

export interface TokenRate {
  /** Events at once. */
  readonly burst: number;
  /** One more token per this many ms. */
  readonly intervalMs: number;
}
export interface EventLimits {
  /** Per bucket key (Service and reason). */
  readonly perKey: TokenRate;
  /** For every Event of this node. */
  readonly total: TokenRate;
}
/** 3 Events per Service and reason, then one a minute; 50 per node, then 5 a second. */
export const DEFAULT_EVENT_LIMITS: EventLimits = {
  perKey: { burst: 3, intervalMs: 60_000 },
  total: { burst: 50, intervalMs: 200 },
};

/** One Event offered: `bucket` is what is rate-limited together, `slot` what a newer Event replaces. */
export interface Offered<E> {
  readonly bucket: string;
  readonly slot: string;
  readonly event: E;
}
interface Bucket {
  readonly tokens: number;
  readonly at: number;
}
export interface LimiterState<E> {
  readonly buckets: ReadonlyMap<string, Bucket>;
  readonly total: Bucket | undefined;
  /** Held Events by slot, oldest first. */
  readonly held: ReadonlyMap<string, Offered<E>>;
  /** Changes per bucket that were replaced or dropped before they could be written. */
  readonly unreported: ReadonlyMap<string, number>;
}
export const emptyLimiter = <E>(): LimiterState<E> => ({ buckets: new Map(), total: undefined, held: new Map(), unreported: new Map() });

export interface LimitResult<E> {
  /** To write now, each with the number of earlier changes of its bucket never written on their own. */
  readonly send: ReadonlyArray<{ readonly event: E; readonly unreported: number }>;
  readonly state: LimiterState<E>;
  /** When a held Event may go out (call again then); undefined when nothing is held. */
  readonly nextAt: number | undefined;
}

const refill = (b: Bucket | undefined, r: TokenRate, now: number): Bucket =>
  b === undefined
    ? { tokens: r.burst, at: now }
    : { tokens: Math.min(r.burst, b.tokens + Math.max(0, now - b.at) / r.intervalMs), at: Math.max(now, b.at) };
/** When bucket `b` (refilled at b.at) has a whole token. */
/** A whole token, allowing for floating-point refill sums (a held Event is never stuck at its due time). */
const WHOLE = 1 - 1e-9;
const tokenAt = (b: Bucket, r: TokenRate): number => (b.tokens >= WHOLE ? b.at : b.at + Math.ceil((1 - b.tokens) * r.intervalMs - 1e-6));

/**
 * Decides which of the held and the newly `offered` Events go out at `now`. `current(o)` tells
 * whether a held Event still says something true (its reason is still the slot's reason); a held
 * Event that is not is dropped and counted as unreported for its bucket.
 */
export function limitEvents<E>(
  state: LimiterState<E>,
  offered: ReadonlyArray<Offered<E>>,
  current: (o: Offered<E>) => boolean,
  now: number,
  limits: EventLimits = DEFAULT_EVENT_LIMITS,
): LimitResult<E> {
  const buckets = new Map(state.buckets);
  const unreported = new Map(state.unreported);
  const count = (bucket: string) => unreported.set(bucket, (unreported.get(bucket) ?? 0) + 1);
  let total = refill(state.total, limits.total, now);
  const queue = new Map<string, Offered<E>>();
  for (const [slot, o] of state.held) {
    if (current(o)) queue.set(slot, o);
    else count(o.bucket);
  }
  for (const o of offered) {
    const prev = queue.get(o.slot);
    if (prev) {
      count(prev.bucket);
      queue.delete(o.slot); // re-inserted last: the newest change waits its turn
    }
    queue.set(o.slot, o);
  }
  const send: Array<{ event: E; unreported: number }> = [];
  const held = new Map<string, Offered<E>>();
  let nextAt: number | undefined;
  for (const [slot, o] of queue) {
    const b = refill(buckets.get(o.bucket), limits.perKey, now);
    if (b.tokens >= WHOLE && total.tokens >= WHOLE) {
      buckets.set(o.bucket, { tokens: Math.max(0, b.tokens - 1), at: b.at });
      total = { tokens: Math.max(0, total.tokens - 1), at: total.at };
      send.push({ event: o.event, unreported: unreported.get(o.bucket) ?? 0 });
      unreported.delete(o.bucket);
    } else {
      buckets.set(o.bucket, b);
      held.set(slot, o);
      const at = Math.max(tokenAt(b, limits.perKey), tokenAt(total, limits.total));
      nextAt = nextAt === undefined ? at : Math.min(nextAt, at);
    }
  }
  // Forget buckets that are full again with nothing held (memory stays bounded by what is active);
  // their unreported count goes with them: after a full quiet interval it is old news.
  const heldBuckets = new Set([...held.values()].map((o) => o.bucket));
  for (const [k, b] of buckets)
    if (!heldBuckets.has(k) && refill(b, limits.perKey, now).tokens >= limits.perKey.burst) {
      buckets.delete(k);
      unreported.delete(k);
    }
  for (const k of unreported.keys()) if (!buckets.has(k)) unreported.delete(k);
  return { send, state: { buckets, total, held, unreported }, nextAt };
}

/**
 * Whether a repeated observation (the same ARP conflict on every refresh, the same missing
 * interface on every announce) is news: never seen, or not seen for `quietMs`. The caller records
 * `now` as the slot's last sighting either way.
 */
export const isNews = (lastSeen: number | undefined, now: number, quietMs: number): boolean =>
  lastSeen === undefined || now - lastSeen >= quietMs;
