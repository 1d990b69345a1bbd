// Leader election over a coordination.k8s.io/v1 Lease (pure): given the Lease as read (or its
// absence), what this replica saw of it before, the local time and its identity, decide whether
// to create, renew, acquire or wait. client-go's leaderelection rules:
//   - expiry is judged on the LOCAL clock: a lease expires `leaseDurationSeconds` after this
//     replica last saw its record change, never by comparing another node's renewTime with ours
//     (clocks across nodes are not trusted);
//   - an empty holderIdentity is a released lease: it can be taken at once (a graceful holder
//     releases on SIGTERM, so takeover does not wait for the expiry);
//   - the holder must renew successfully within the renew deadline, or it stops leading.
// The adapter (adapters/kube/lease.ts) does the reads and the optimistic-concurrency writes.

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** What this replica last saw: the record, and the local time at which it last changed. */
export interface LeaseObservation {
  record: string;
  at: number;
}

export interface LeaseParams {
  identity: string;
  durationMs: number;
}

export type LeaseDecision =
  | { action: 'create'; spec: LeaseSpec }
  | { action: 'renew'; spec: LeaseSpec }
  | { action: 'acquire'; spec: LeaseSpec; from: string }
  | { action: 'wait'; holder: string; expiresAt: number };

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

const recordKey = (s: LeaseSpec): string =>
  JSON.stringify([s.holderIdentity ?? '', s.leaseDurationSeconds ?? 0, s.acquireTime ?? '', s.renewTime ?? '', s.leaseTransitions ?? 0]);

/**
 * The next step. `lease` is undefined when the Lease does not exist. Returns the observation to
 * keep for the next call (unchanged record → unchanged time, so expiry counts from the first
 * sighting of the current record).
 */
export function decideLease(
  lease: LeaseSpec | undefined,
  seen: LeaseObservation | undefined,
  now: number,
  p: LeaseParams,
): { decision: LeaseDecision; seen: LeaseObservation | undefined } {
  const durationS = Math.max(1, Math.round(p.durationMs / 1000));
  const fresh = (transitions: number, acquire: string): LeaseSpec => ({
    holderIdentity: p.identity,
    leaseDurationSeconds: durationS,
    acquireTime: acquire,
    renewTime: microTime(now),
    leaseTransitions: transitions,
  });
  if (!lease) return { decision: { action: 'create', spec: fresh(0, microTime(now)) }, seen: undefined };
  const key = recordKey(lease);
  const obs = seen && seen.record === key ? seen : { record: key, at: now };
  const holder = lease.holderIdentity ?? '';
  const transitions = lease.leaseTransitions ?? 0;
  if (holder === p.identity) {
    return { decision: { action: 'renew', spec: fresh(transitions, lease.acquireTime ?? microTime(now)) }, seen: obs };
  }
  const expiresAt = obs.at + (lease.leaseDurationSeconds ?? durationS) * 1000;
  if (holder !== '' && now < expiresAt) return { decision: { action: 'wait', holder, expiresAt }, seen: obs };
  return { decision: { action: 'acquire', spec: fresh(transitions + 1, microTime(now)), from: holder }, seen: obs };
}

/** The spec a holder writes on a graceful stop (client-go `release`): no holder, 1 s duration. */
export function releasedSpec(lease: LeaseSpec, now: number): LeaseSpec {
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: microTime(now),
    renewTime: microTime(now),
    leaseTransitions: lease.leaseTransitions ?? 0,
  };
}

/** The holder keeps leading only while its last successful renewal is within the renew deadline. */
export const stillLeading = (lastRenewedAt: number, now: number, renewDeadlineMs: number): boolean => now - lastRenewedAt < renewDeadlineMs;
