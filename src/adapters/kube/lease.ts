// Leader election over a coordination.k8s.io/v1 Lease: the reads and optimistic-concurrency writes
// around the pure decision in domain/lease.ts. Every `retryMs` it reads the Lease and creates,
// renews or acquires it (a replace carrying the read resourceVersion, so two standbys racing for
// an expired lease cannot both win: the loser gets 409 and reads again). The holder that cannot
// renew within `renewDeadlineMs` stops leading (`onStopped`: the controller stops writing and
// stands by) and keeps polling: it leads again if the lease is still, or again, its own.
// `release()` (SIGTERM) hands the lease back at once.
import { ApiException, CoordinationV1Api, type KubeConfig, type V1Lease, type V1MicroTime } from '@kubernetes/client-node';
import { decideLease, releasedSpec, stillLeading, type LeaseObservation, type LeaseSpec } from '../../domain/lease.js';
import type { Logger } from '../log.js';

export interface LeaderElectionOptions {
  name: string;
  namespace: string;
  identity: string;
  durationMs: number;
  renewDeadlineMs: number;
  retryMs: number;
  onStarted: () => void;
  onStopped: (reason: string) => void;
}

export interface LeaderElector {
  isLeader(): boolean;
  /** Gives the lease up (if held) and stops polling. */
  release(): Promise<void>;
}

const toSpec = (l: V1Lease): LeaseSpec => {
  const s = l.spec ?? {};
  const t = (v: unknown) => (v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : undefined);
  const acquireTime = t(s.acquireTime);
  const renewTime = t(s.renewTime);
  return {
    ...(s.holderIdentity !== undefined ? { holderIdentity: s.holderIdentity } : {}),
    ...(s.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: s.leaseDurationSeconds } : {}),
    ...(acquireTime !== undefined ? { acquireTime } : {}),
    ...(renewTime !== undefined ? { renewTime } : {}),
    ...(s.leaseTransitions !== undefined ? { leaseTransitions: s.leaseTransitions } : {}),
  };
};
// MicroTime fields go to the API as the strings domain/lease.ts formats (the client passes
// unknown model types through unchanged).
const toApi = (s: LeaseSpec): V1Lease['spec'] => ({
  ...s,
  acquireTime: s.acquireTime as unknown as V1MicroTime,
  renewTime: s.renewTime as unknown as V1MicroTime,
});

export function startLeaderElection(kc: KubeConfig, o: LeaderElectionOptions, log: Logger): LeaderElector {
  const api = kc.makeApiClient(CoordinationV1Api);
  let leader = false;
  let stopped = false;
  let seen: LeaseObservation | undefined;
  let lastRenewed = 0;
  let current: V1Lease | undefined;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> = Promise.resolve();
  const ctx = { lease: o.name, namespace: o.namespace, identity: o.identity };

  const becomeLeader = (how: string, from?: string) => {
    lastRenewed = Date.now();
    if (leader) return;
    leader = true;
    log.info('became leader', { event: 'lease.acquired', ...ctx, how, ...(from !== undefined ? { from } : {}) });
    o.onStarted();
  };
  const lose = (reason: string) => {
    if (!leader) return;
    leader = false;
    log.error('lost the lease', { event: 'lease.lost', ...ctx, reason });
    o.onStopped(reason);
  };

  const once = async (): Promise<void> => {
    let read: V1Lease | undefined;
    try {
      read = await api.readNamespacedLease({ name: o.name, namespace: o.namespace });
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
    current = read;
    const now = Date.now();
    const r = decideLease(read ? toSpec(read) : undefined, seen, now, { identity: o.identity, durationMs: o.durationMs });
    seen = r.seen;
    const d = r.decision;
    if (d.action === 'wait') {
      if (leader) lose(`the lease is held by ${d.holder}`);
      return;
    }
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...(read?.metadata ?? {}), name: o.name, namespace: o.namespace },
      spec: toApi(d.spec),
    };
    try {
      current =
        d.action === 'create'
          ? await api.createNamespacedLease({ namespace: o.namespace, body })
          : await api.replaceNamespacedLease({ name: o.name, namespace: o.namespace, body });
    } catch (e) {
      // Someone else wrote first: read again on the next tick.
      if (e instanceof ApiException && (e.code === 409 || (e.code === 404 && d.action !== 'create'))) {
        log.debug('lease write conflict', { event: 'lease.conflict', ...ctx, action: d.action });
        return;
      }
      throw e;
    }
    becomeLeader(d.action, d.action === 'acquire' ? d.from : undefined);
  };

  // A request the apiserver never answers must not freeze the election (a leader stuck in a read
  // would keep writing after its lease expired for the others): each poll is bounded.
  const bounded = (): Promise<void> => {
    let t: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`lease poll: no answer within ${o.renewDeadlineMs} ms`)), o.renewDeadlineMs);
    });
    return Promise.race([once(), limit]).finally(() => clearTimeout(t));
  };
  const loop = () => {
    if (stopped) return;
    tick = bounded()
      .catch((e: unknown) => {
        log.warn('lease poll failed', { event: 'lease.error', ...ctx, err: e instanceof Error ? e.message.split('\n')[0] : String(e) });
      })
      .finally(() => {
        if (leader && !stillLeading(lastRenewed, Date.now(), o.renewDeadlineMs))
          lose(`no successful renewal within ${o.renewDeadlineMs} ms`);
        if (!stopped) timer = setTimeout(loop, o.retryMs);
      });
  };
  loop();

  return {
    isLeader: () => leader,
    async release() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await tick;
      if (!leader || !current) return;
      leader = false;
      try {
        await api.replaceNamespacedLease({
          name: o.name,
          namespace: o.namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: current.metadata ?? { name: o.name },
            spec: toApi(releasedSpec(toSpec(current), Date.now())),
          },
        });
        log.info('released the lease', { event: 'lease.released', ...ctx });
      } catch (e) {
        log.warn('lease release failed (the standby takes over at expiry)', {
          event: 'lease.error',
          ...ctx,
          err: e instanceof Error ? e.message.split('\n')[0] : String(e),
        });
      }
    },
  };
}
