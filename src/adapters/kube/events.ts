// Kubernetes Events (core/v1) with MetalLB's reasons (IPAllocated, AllocationFailed,
// nodeAssigned, announceFailed, ...). Identical events for the same object within the
// aggregation window are counted, not re-created, like client-go's recorder.
import type { CoreV1Event, KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { fullClient, kubeRest, restSupported } from './rest.js';

import type { EventSink, EventTarget, EventType } from '../../actors/kube-ports.js';

export type { EventTarget, EventType };
/** The EventSink port (actors/kube-ports.ts) against the apiserver. */
export type EventRecorder = EventSink;

/** Runs a request when its turn comes (a bound on requests in flight shared with other writes). */
export type Limiter = <T>(request: () => Promise<T>) => Promise<T>;

export function createEventRecorder(
  kc: KubeConfig,
  component: string,
  host: string,
  log: Logger,
  windowMs = 600_000,
  limit: Limiter = (f) => f(),
): EventRecorder {
  // Plain JSON through rest.ts (one Event per allocation: a hot path in bulk); client-node behind a proxy.
  const rest = restSupported(kc) ? kubeRest(kc) : undefined;
  const core = async () => kc.makeApiClient((await fullClient()).CoreV1Api);
  const enc = encodeURIComponent;
  const patchEvent = (name: string, namespace: string, body: unknown[]) =>
    rest
      ? rest.request('PATCH', `/api/v1/namespaces/${enc(namespace)}/events/${enc(name)}`, {
          body,
          contentType: 'application/json-patch+json',
          discard: true,
        })
      : core().then((c) => c.patchNamespacedEvent({ name, namespace, body }));
  const createEvent = (namespace: string, body: CoreV1Event) =>
    rest
      ? rest.request('POST', `/api/v1/namespaces/${enc(namespace)}/events`, {
          body: { apiVersion: 'v1', kind: 'Event', ...body },
          discard: true,
        })
      : core().then((c) => c.createNamespacedEvent({ namespace, body }));
  const seen = new Map<string, { name: string; namespace: string; count: number; first: string; at: number }>();
  const inflight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  // Entries past the aggregation window are dropped now and then, so the map does not keep one per
  // Event ever recorded (every service created and deleted left its IPAllocated behind).
  let sweepAt = 0;
  const sweep = (now: number) => {
    if (now - sweepAt < Math.min(windowMs, 60_000)) return;
    sweepAt = now;
    for (const [k, v] of seen) if (now - v.at >= windowMs) seen.delete(k);
  };
  return {
    record(target, type, reason, message) {
      const key = `${target.namespace}/${target.kind}/${target.name}/${type}/${reason}/${message}`;
      const now = new Date();
      sweep(now.getTime());
      const prev = seen.get(key);
      if (prev && now.getTime() - prev.at < windowMs) {
        prev.count++;
        prev.at = now.getTime();
        const count = prev.count;
        track(
          limit(() =>
            patchEvent(prev.name, prev.namespace, [
              { op: 'replace', path: '/count', value: count },
              { op: 'replace', path: '/lastTimestamp', value: now.toISOString() },
            ]),
          ).catch((err: unknown) => log.debug('event patch failed', { event: 'event.error', err: String(err) })),
        );
        return;
      }
      const name = `${target.name}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
      seen.set(key, { name, namespace: target.namespace, count: 1, first: now.toISOString(), at: now.getTime() });
      track(
        limit(() =>
          createEvent(target.namespace, {
            metadata: { name, namespace: target.namespace },
            involvedObject: {
              kind: target.kind,
              name: target.name,
              namespace: target.namespace,
              ...(target.uid ? { uid: target.uid } : {}),
              ...(target.apiVersion ? { apiVersion: target.apiVersion } : {}),
            },
            type,
            reason,
            message,
            count: 1,
            firstTimestamp: now,
            lastTimestamp: now, // JSON.stringify writes them as ISO strings, as the client does
            source: { component, host },
            reportingComponent: component,
            reportingInstance: host,
          }),
        ).catch((err: unknown) => log.warn('event create failed', { event: 'event.error', reason, err: String(err) })),
      );
    },
    async flush() {
      await Promise.allSettled([...inflight]);
    },
  };
}
