// Informers: list+watch one resource kind into a cache, restarting with backoff after any watch
// or list error (client-node's ListWatch stops on errors). Consumers get `changed` callbacks and
// read the cache; `synced` resolves after the first successful list.
// client-node's KubeConfig, ListWatch and Watch from their own modules, not its barrel (which loads
// every generated API and model: +20–27 MB in a speaker; scripts/lean-client-node.mjs).
import type { KubernetesObject, KubernetesListObject } from '@kubernetes/client-node';
import { ListWatch } from '@kubernetes/client-node/dist/cache.js';
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import { backoffDelay } from '../../domain/backoff.js';
import type { Logger } from '../log.js';
import { kubeRest, restSupported } from './rest.js';

export interface InformerSpec<T extends KubernetesObject> {
  /** For logs and metrics: "services", "ipaddresspools", ... */
  name: string;
  /** Watch path, e.g. /api/v1/services or /apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
}

export interface Informer<T extends KubernetesObject> {
  readonly name: string;
  readonly synced: Promise<void>;
  isSynced(): boolean;
  list(): readonly T[];
  get(name: string, namespace?: string): T | undefined;
  /** Called after any add/update/delete (and after each relist). */
  onChange(cb: (ev: { type: 'add' | 'update' | 'delete'; obj: T }) => void): void;
  /** Number of restarts after errors (for metrics/tests). */
  restarts(): number;
  stop(): Promise<void>;
}

const k8sClient = { updates: 0, updateErrors: 0 };

/**
 * Object updates (add/update/delete) delivered by this process's informers, and those a handler
 * failed on (it threw: logged, counted, the other handlers still run): MetalLB's
 * metallb_k8s_client_updates_total / metallb_k8s_client_update_errors_total.
 */
export function k8sClientStats(): { readonly updates: number; readonly updateErrors: number } {
  return { ...k8sClient };
}

/**
 * The retry backoff resets only after a watch has stayed up this long: start() resolves once the
 * watch request is sent, before the apiserver answers it, so a watch refused at once (a restarting
 * apiserver answering 403) must not count as a success (it would retry every ~0.5 s forever).
 */
export const WATCH_HEALTHY_MS = 10_000;

export interface InformerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
}
const realTimers: InformerTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};

export function startInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  spec: InformerSpec<T>,
  log: Logger,
  timers: InformerTimers = realTimers,
): Informer<T> {
  // The watch stream through the plain REST client (rest.ts: no WHATWG streams or readline per
  // event); client-node's Watch for clusters behind a proxy.
  const inner = restSupported(kc) ? ({ watch: kubeRest(kc).watch } as unknown as Watch) : new Watch(kc);
  // Cached objects drop metadata.managedFields (nothing here reads it, and it grows with every
  // writer of an object), as controller-runtime's default cache transform does.
  const watch = {
    watch: (
      path: string,
      query: Record<string, string | number | boolean | undefined>,
      cb: (type: string, obj: unknown, ev: unknown) => void,
      done: (err: unknown) => void,
    ) =>
      inner.watch(
        path,
        query,
        (type, obj, ev) => {
          stripManagedFields(obj);
          cb(type, obj, ev);
        },
        done,
      ),
  } as unknown as Watch;
  const list = async () => {
    const l = await spec.list();
    for (const o of l.items) stripManagedFields(o);
    return l;
  };
  const lw = new ListWatch<T>(spec.path, watch, list, false);
  const listeners: Array<(ev: { type: 'add' | 'update' | 'delete'; obj: T }) => void> = [];
  let synced = false;
  let stopped = false;
  let attempt = 0;
  let restarts = 0;
  let timer: unknown;
  let healthy: unknown;
  let resolveSynced: () => void = () => {};
  const syncedP = new Promise<void>((r) => {
    resolveSynced = r;
  });
  const emit = (type: 'add' | 'update' | 'delete') => (obj: T) => {
    k8sClient.updates++;
    for (const l of listeners)
      try {
        l({ type, obj });
      } catch (err) {
        k8sClient.updateErrors++;
        log.error('object update failed', {
          event: 'informer.handlerError',
          resource: spec.name,
          type,
          err: err instanceof Error ? err : String(err),
        });
      }
  };
  lw.on('add', emit('add'));
  lw.on('update', emit('update'));
  lw.on('delete', emit('delete'));
  lw.on('connect', () => {
    if (attempt > 0) log.info('watch reconnected', { event: 'informer.connected', resource: spec.name, attempt });
  });
  let failed = false;
  const begin = () => {
    failed = false;
    // start() lists then watches; a list error is reported through 'error', not a rejection.
    lw.start().then(
      () => {
        if (failed || stopped) return;
        if (healthy !== undefined) timers.clearTimeout(healthy);
        healthy = timers.setTimeout(() => {
          healthy = undefined;
          attempt = 0;
        }, WATCH_HEALTHY_MS);
        if (!synced) {
          synced = true;
          resolveSynced();
        }
      },
      (err: unknown) => {
        schedule(err);
      },
    );
  };
  const schedule = (err: unknown) => {
    failed = true;
    if (healthy !== undefined) timers.clearTimeout(healthy);
    healthy = undefined;
    if (stopped || timer !== undefined) return;
    const delay = backoffDelay(attempt++, Math.random);
    restarts++;
    log.warn('watch failed, restarting', {
      event: 'informer.error',
      resource: spec.name,
      err: err instanceof Error ? err : String(err),
      retryInMs: delay,
    });
    timer = timers.setTimeout(() => {
      timer = undefined;
      begin();
    }, delay);
  };
  lw.on('error', (err) => {
    schedule(err);
  });
  begin();
  return {
    name: spec.name,
    synced: syncedP,
    isSynced: () => synced,
    list: () => lw.list(),
    get: (n, ns) => lw.get(n, ns),
    onChange: (cb) => {
      listeners.push(cb);
    },
    restarts: () => restarts,
    async stop() {
      stopped = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      if (healthy !== undefined) timers.clearTimeout(healthy);
      await lw.stop();
    },
  };
}

function stripManagedFields(o: unknown): void {
  const m = (o as { metadata?: { managedFields?: unknown } } | null)?.metadata;
  if (m && m.managedFields !== undefined) delete m.managedFields;
}

/** KUBECONFIG (or ~/.kube/config) when set, otherwise the in-cluster ServiceAccount. */
export function loadKubeConfig(path = process.env.KUBECONFIG): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return reuseConnections(kc);
}

/**
 * @kubernetes/client-node 2.0.1 builds a new undici Agent for every request, so every call pays a
 * fresh TCP + TLS handshake (measured: a speaker with 50 services spent most of its idle CPU in
 * TLS setup). The dispatcher depends only on the cluster and the TLS material, so it is kept and
 * reused while those stay the same (a rotated client certificate gets a new one).
 */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  type Create = (cluster: unknown, opts: Record<string, unknown>) => unknown;
  const target = kc as unknown as { createDispatcher?: Create };
  const orig = target.createDispatcher?.bind(kc);
  if (!orig) return kc;
  const cache = new Map<string, unknown>();
  target.createDispatcher = (cluster, opts) => {
    const c = cluster as { server?: string; name?: string } | null | undefined;
    // Per request: TLS material as base64 (JSON of a Buffer is an array of numbers, ~4× slower).
    const b64 = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v);
    const key = JSON.stringify([
      c?.name,
      c?.server,
      b64(opts.ca),
      b64(opts.cert),
      b64(opts.key),
      b64(opts.pfx),
      opts.rejectUnauthorized,
      opts.servername,
    ]);
    let d = cache.get(key);
    if (d === undefined) {
      d = orig(cluster, opts);
      if (cache.size > 8) cache.clear();
      cache.set(key, d);
    }
    return d;
  };
  return kc;
}
