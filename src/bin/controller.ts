// The controller (issue 8), first slice: informers for Services, Namespaces and the metallb.io
// config kinds; the last valid config (domain/config.ts) feeds the pure allocator; every
// LoadBalancer Service of our class gets status.loadBalancer.ingress (through the status
// subresource) and the metallb.io/ip-allocated-from-pool annotation; addresses are re-claimed from
// status at start so a restart moves nothing; Events with MetalLB's reasons (IPAllocated,
// AllocationFailed, ClearAssignment, LoadBalancerFailed, AdditionalAssignFailed,
// deprecatedAnnotation); IPAddressPool status (assigned/available per family, rate-limited).
// ConfigurationState/controller says whether the config is valid (the last valid one stays in force),
// and /metrics (MetalLB's allocator and config metrics), /healthz, /readyz are served.
// High availability: replicas elect a leader through the Lease `--lease-name`; only the leader
// reconciles and writes, a standby keeps its informers warm (and serves the webhook) and takes
// over when the lease expires or is released (SIGTERM releases it). A leader that cannot renew
// within the renew deadline (before the lease can expire for the others) stops writing at once
// and becomes a standby; if it leads again it starts from the cluster (re-claim from status).
// Validating admission webhook (--webhook-port, --webhook-cert/--webhook-key): every replica
// serves it, from its informers, through the same parseConfig (domain/admission.ts).
// Usage: controller.ts [--lb-class C] [--namespace metallb-system] [--metrics-port 7472] [--metrics-host 0.0.0.0]
//          [--webhook-port 9443 --webhook-cert tls.crt --webhook-key tls.key] [--webhook-host 0.0.0.0]
//          [--lease-name mooring-controller] [--lease-duration 15s] [--lease-renew-deadline 10s] [--lease-retry 2s]
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubernetesObject, type V1Service } from '@kubernetes/client-node';
import { CONFIG_KINDS } from '../api/metallb.js';
import { Allocator } from '../domain/allocator/index.js';
import { formatConfigError, parseConfig, type RawObject } from '../domain/config.js';
import {
  POOL_ANNOTATION, clearedByConfigEvent, clearedNotOursEvent, deprecatedAnnotationEvents, ingressIps, isManaged, poolStatus, refusalEvent,
  serviceKey, toAllocatorPools, toServiceRequest, writesFor, type ServiceEvent, type ServiceLike, type ServiceWrites,
} from '../domain/lb-service.js';
import type { ServiceRequest } from '../domain/allocator/index.js';
import { createLogger } from '../adapters/log.js';
import { loadKubeConfig, startInformer, type Informer } from '../adapters/kube/informer.js';
import { kubeRest, restSupported } from '../adapters/kube/rest.js';
import { coreSpecs, metallbSpec, storageVersion } from '../adapters/kube/resources.js';
import { createEventRecorder, type Limiter } from '../adapters/kube/events.js';
import { StatusWriter } from '../adapters/kube/status.js';
import { createTelemetry } from '../adapters/telemetry.js';
import { serveMonitoring } from '../adapters/http.js';
import { serveWebhook } from '../adapters/kube/webhook.js';
import { startLeaderElection, type LeaderElector } from '../adapters/kube/lease.js';
import { parseDuration } from '../domain/duration.js';

const { values: opts } = parseArgs({
  options: {
    'lb-class': { type: 'string' },
    namespace: { type: 'string', default: 'metallb-system' },
    'metrics-port': { type: 'string', default: '7472' },
    'metrics-host': { type: 'string', default: '0.0.0.0' },
    'webhook-port': { type: 'string' },
    'webhook-host': { type: 'string', default: '0.0.0.0' },
    'webhook-cert': { type: 'string', default: '/tmp/k8s-webhook-server/serving-certs/tls.crt' },
    'webhook-key': { type: 'string', default: '/tmp/k8s-webhook-server/serving-certs/tls.key' },
    'lease-name': { type: 'string', default: 'mooring-controller' },
    'lease-duration': { type: 'string', default: '15s' },
    'lease-renew-deadline': { type: 'string', default: '10s' },
    'lease-retry': { type: 'string', default: '2s' },
  },
});
const durationOpt = (name: 'lease-duration' | 'lease-renew-deadline' | 'lease-retry'): number => {
  const ms = parseDuration(opts[name] ?? '');
  if (ms === undefined || ms <= 0) { process.stderr.write(`--${name}: not a duration: ${opts[name]}\n`); process.exit(2); }
  return ms;
};
const lease = { durationMs: durationOpt('lease-duration'), renewDeadlineMs: durationOpt('lease-renew-deadline'), retryMs: durationOpt('lease-retry') };
if (!(lease.retryMs < lease.renewDeadlineMs && lease.renewDeadlineMs < lease.durationMs)) {
  process.stderr.write('lease timings: need --lease-retry < --lease-renew-deadline < --lease-duration\n');
  process.exit(2);
}
const identity = `${process.env.POD_NAME ?? hostname()}_${randomUUID()}`;
const namespace = opts.namespace ?? 'metallb-system';
const lbClass = opts['lb-class'];
const log = createLogger({ component: 'controller' });
const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Service writes and Events go out concurrently, at most WRITE_CONCURRENCY requests in flight,
 * in the order they were issued (FIFO): a pass over thousands of services does not wait for each
 * round trip in turn, and does not flood the apiserver (its inflight limits answer 429) either.
 */
const WRITE_CONCURRENCY = 16;
let writeSlots = WRITE_CONCURRENCY;
const slotWaiters: Array<() => void> = [];
const limit: Limiter = async (request) => {
  if (writeSlots > 0) writeSlots--; else await new Promise<void>((r) => slotWaiters.push(r));
  try { return await request(); } finally {
    const next = slotWaiters.shift();
    if (next) next(); else writeSlots++; // the slot passes straight to the next in line
  }
};
const events = createEventRecorder(kc, 'metallb-controller', hostname(), log, undefined, limit);

const specs = coreSpecs(kc, namespace);
const services = startInformer(kc, specs.services, log);
const namespaces = startInformer(kc, specs.namespaces, log);
const configSpecs = CONFIG_KINDS.map((kind) => ({ kind, spec: metallbSpec(kc, namespace, kind) }));
const configInformers = configSpecs.map(({ kind, spec }) => ({ kind, inf: startInformer(kc, spec, log) }));
const informers: Array<Informer<KubernetesObject>> = [services, namespaces, ...configInformers.map((c) => c.inf)];

let allocator = new Allocator();
const statusWriter = new StatusWriter(kc, namespace, log);

// ---- metrics (MetalLB's names) -------------------------------------------------------------
const telemetry = createTelemetry('controller');
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
telemetry.meter.createObservableGauge('metallb_allocator_addresses_in_use_total', { description: 'Number of IP addresses in use, per pool' })
  .addCallback((r) => { for (const p of allocator.stats()) r.observe(p.ipv4.assigned + p.ipv6.assigned, { pool: p.pool }); });
telemetry.meter.createObservableGauge('metallb_allocator_addresses_total', { description: 'Number of usable IP addresses, per pool (saturates at 2^53 for IPv6)' })
  .addCallback((r) => { for (const p of allocator.stats()) { const t = p.ipv4.total + p.ipv6.total; r.observe(Number(t > SAFE ? SAFE : t), { pool: p.pool }); } });
telemetry.meter.createObservableGauge('metallb_k8s_client_config_loaded_bool', { description: '1 if the MetalLB configuration was successfully loaded at least once.' })
  .addCallback((r) => r.observe(configValid ? 1 : 0));
telemetry.meter.createObservableGauge('metallb_k8s_client_config_stale_bool', { description: '1 if running on a stale configuration, because the latest config failed to load.' })
  .addCallback((r) => r.observe(configValid && lastConfigError !== '' ? 1 : 0));
let configValid = false;
let reclaimed = false;
let lastConfigError = '';
/** Requests cached per resourceVersion: the allocator's fast path wants the very same object. */
const requests = new Map<string, { rv: string | undefined; req: ServiceRequest }>();
/** Writes issued for a resourceVersion: not repeated until the informer shows the result. */
const issued = new Map<string, string>();
/** Services the allocator refused: converged again after any release. */
const failed = new Set<string>();
const dirtyKeys = new Set<string>();
let fullDirty = true;
let released = false;
/** Set on losing the lease: the next reconcile (as leader again) starts from the cluster. */
let resetPending = false;

function requestFor(s: ServiceLike & KubernetesObject): ServiceRequest {
  const key = serviceKey(s);
  const c = requests.get(key);
  if (c && c.rv === s.metadata?.resourceVersion) return c.req;
  const req = toServiceRequest(s);
  requests.set(key, { rv: s.metadata?.resourceVersion, req });
  return req;
}

/** The config objects the informers hold (apiVersion and kind set), and the namespaces: parseConfig's input. */
function snapshot(): { objects: RawObject[]; ns: Array<{ name: string; labels: Record<string, string> }> } {
  return {
    objects: configInformers.flatMap(({ kind, inf }) => inf.list().map((o) => ({ ...o, apiVersion: o.apiVersion ?? `metallb.io/${storageVersion(kind)}`, kind }))),
    ns: namespaces.list().map((n) => ({ name: n.metadata?.name ?? '', labels: n.metadata?.labels ?? {} })),
  };
}

function applyConfig(): void {
  const { objects, ns } = snapshot();
  allocator.setNamespaces(Object.fromEntries(ns.map((n) => [n.name, n.labels])));
  const res = parseConfig({ objects, namespaces: ns, namespace });
  if (!res.ok) {
    const msg = res.errors.map(formatConfigError).join('; ');
    if (msg !== lastConfigError) log.error('configuration invalid, keeping the last valid one', { event: 'config.invalid', err: msg });
    lastConfigError = msg;
    void statusWriter.configurationState('controller', false, msg);
    return;
  }
  const set = allocator.setPools(toAllocatorPools(res.config));
  if (set.ok) {
    for (const m of set.moved) {
      const [ns = '', name = ''] = m.key.split('/');
      const svc = services.get(name, ns) as V1Service | undefined;
      if (!svc) continue;
      emit(svc, clearedByConfigEvent(m.key, m.from));
      if (m.result.ok) emit(svc, { type: 'Normal', reason: 'IPAllocated', message: `Assigned IP ${JSON.stringify(m.result.ips)}` });
      log.info('address no longer allowed by config: moved', { event: 'service.moved', service: m.key, from: [...m.from], ip: m.result.ok ? [...m.result.ips] : [] });
    }
  }
  if (!set.ok) {
    if (set.reason !== lastConfigError) log.error('pools refused by the allocator, keeping the last valid ones', { event: 'config.invalid', err: set.reason });
    lastConfigError = set.reason;
    void statusWriter.configurationState('controller', false, set.reason);
    return;
  }
  void statusWriter.configurationState('controller', true, '');
  if (lastConfigError || !configValid) log.info('configuration loaded', { event: 'config.loaded', pools: res.config.pools.length });
  lastConfigError = '';
  configValid = true;
}

/**
 * A request the apiserver never answers (one caught in an apiserver restart) must not stall the
 * reconcile loop or the pool status writer for good: after `ms` it counts as failed and is retried
 * (the writes are idempotent merge/JSON patches, a late success is harmless).
 */
const WRITE_TIMEOUT_MS = 15_000;
function withTimeout<T>(p: Promise<T>, what: string, ms = WRITE_TIMEOUT_MS): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/**
 * Per service, one write (annotation patch, then status patch) in flight at a time; a newer write
 * for a service replaces its queued one (it carries the whole wanted state). The queued write is
 * picked when a slot is free, so a write waiting for its turn is never sent stale.
 */
interface QueuedWrite { s: V1Service; w: ServiceWrites; sig: string }
const queuedWrites = new Map<string, QueuedWrite>();
const writers = new Map<string, Promise<void>>();

function write(s: V1Service, w: ServiceWrites): void {
  const key = serviceKey(s);
  const sig = `${s.metadata?.resourceVersion ?? ''}:${JSON.stringify(w)}`;
  // A pass still running when the lease was lost must not write any more.
  if (!leading || issued.get(key) === sig) return;
  issued.set(key, sig);
  queuedWrites.set(key, { s, w, sig });
  if (writers.has(key)) return; // its writer picks the newest one up
  writers.set(key, (async () => {
    while (queuedWrites.has(key)) {
      await limit(async () => {
        const q = queuedWrites.get(key);
        queuedWrites.delete(key);
        if (q && leading) await send(key, q);
      });
    }
    writers.delete(key);
  })());
}

// The per-service writes go as plain JSON through rest.ts (client-node's typed path was most of
// the controller's CPU per service in bulk); client-node's typed API behind a proxy.
const rest = restSupported(kc) ? kubeRest(kc) : undefined;
const svcPath = (ns: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}`;
type Patch = { metadata?: { annotations: Record<string, string | null> }; status?: { loadBalancer: { ingress: Array<{ ip: string; ipMode: string }> } } };
function patchService(ns: string, name: string, body: Patch, subresource: '' | '/status', what: string): Promise<unknown> {
  // The answer is not needed: the informer brings the result (and the next converge reacts to it).
  if (rest) return rest.request('PATCH', `${svcPath(ns, name)}${subresource}`, { body, contentType: 'application/merge-patch+json', timeoutMs: WRITE_TIMEOUT_MS, discard: true });
  return withTimeout(subresource
    ? core.patchNamespacedServiceStatus({ name, namespace: ns, body }, mergePatch)
    : core.patchNamespacedService({ name, namespace: ns, body }, mergePatch), what);
}

/**
 * The annotation and the status in one request when both change: a merge patch on
 * services/status carrying both (the Service status strategy keeps metadata changes and resets
 * only spec), so a service gets its IP and the annotation saying which pool it came from
 * together, in one round trip and one resourceVersion, instead of MetalLB's update then status
 * update. Should an apiserver ever drop metadata on /status, the informer shows the status
 * without the annotation, and the next converge writes the annotation alone, which is a patch
 * of the object as MetalLB does.
 */
async function send(key: string, { s, w, sig }: QueuedWrite): Promise<void> {
  const name = s.metadata?.name ?? '';
  const ns = s.metadata?.namespace ?? '';
  const metadata = w.poolAnnotation !== undefined ? { annotations: { [POOL_ANNOTATION]: w.poolAnnotation } } : undefined;
  try {
    if (w.ingress !== undefined) {
      const ingress = w.ingress.map((ip) => ({ ip, ipMode: 'VIP' }));
      await patchService(ns, name, { ...(metadata ? { metadata } : {}), status: { loadBalancer: { ingress } } }, '/status', `patch service status ${key}`);
    } else if (metadata) {
      await patchService(ns, name, { metadata }, '', `patch service ${key}`);
    }
  } catch (err) {
    if (issued.get(key) === sig) issued.delete(key);
    log.warn('service write failed, will retry', { event: 'service.write.failed', service: key, err: err instanceof Error ? err : String(err) });
    retrySoon();
  }
}

function emit(s: V1Service, e: ServiceEvent): void {
  if (!leading) return;
  events.record({ kind: 'Service', name: s.metadata?.name ?? '', namespace: s.metadata?.namespace ?? '', uid: s.metadata?.uid, apiVersion: 'v1' }, e.type, e.reason, e.message);
}
const hasWrites = (w: ServiceWrites) => w.ingress !== undefined || w.poolAnnotation !== undefined;

/** Converges one service (its writes are queued); returns false when the allocator refused it (retried after releases). */
function converge(s: V1Service): boolean {
  const key = serviceKey(s);
  if (!isManaged(s, lbClass)) {
    const held = allocator.get(key)?.ips ?? [];
    if (allocator.release(key)) {
      log.info('released: no longer ours', { event: 'service.released', service: key });
      released = true;
      const cleared = clearedNotOursEvent(s, held, lbClass);
      if (cleared) emit(s, cleared);
    }
    if (s.metadata?.annotations?.[POOL_ANNOTATION] !== undefined) write(s, writesFor(s, [], undefined));
    return true;
  }
  const r = allocator.assign(requestFor(s));
  if (r.ok) {
    if (r.changed) emit(s, { type: 'Normal', reason: 'IPAllocated', message: `Assigned IP ${JSON.stringify(r.ips)}` });
    if (r.changed && r.warning) emit(s, { type: 'Normal', reason: 'AdditionalAssignFailed', message: `cannot assign additional IP in PreferDualStack: ${r.warning}` });
    const w = writesFor(s, r.ips, r.pool);
    if (hasWrites(w)) {
      for (const e of deprecatedAnnotationEvents(s)) emit(s, e);
      log.info('service converged', { event: 'service.assigned', service: key, ip: r.ips, pool: r.pool });
      write(s, w);
    }
    return true;
  }
  const w = writesFor(s, r.ips, r.ips.length > 0 ? allocator.get(key)?.pool : undefined);
  if (hasWrites(w) || !failed.has(key)) {
    emit(s, refusalEvent(key, r.code, r.reason, r.ips));
    log.warn('allocation failed', { event: 'service.allocationFailed', service: key, reason: r.code, err: r.reason });
    write(s, w);
  }
  return false;
}

// ---- IPAddressPool status: assigned/available per family, at most one round of writes per second.
const custom = kc.makeApiClient(CustomObjectsApi);
const POOL_STATUS_INTERVAL_MS = 1000;
const poolStatusWritten = new Map<string, string>();
let poolStatusTimer: NodeJS.Timeout | undefined;
let poolStatusAt = 0;
function schedulePoolStatus(): void {
  if (poolStatusTimer || !leading) return;
  const wait = Math.max(0, poolStatusAt + POOL_STATUS_INTERVAL_MS - Date.now());
  poolStatusTimer = setTimeout(() => {
    poolStatusAt = Date.now();
    void writePoolStatus().finally(() => { poolStatusTimer = undefined; });
  }, wait);
}
async function writePoolStatus(): Promise<void> {
  let failures = 0;
  for (const st of allocator.stats()) {
    if (!leading) return;
    const status = poolStatus(st);
    const sig = JSON.stringify(status);
    if (poolStatusWritten.get(st.pool) === sig) continue;
    try {
      await withTimeout(custom.patchNamespacedCustomObjectStatus({
        group: 'metallb.io', version: 'v1beta1', namespace, plural: 'ipaddresspools', name: st.pool,
        body: [{ op: 'add', path: '/status', value: status }],
      }), `patch pool status ${st.pool}`);
      poolStatusWritten.set(st.pool, sig);
    } catch (err) {
      failures++;
      log.warn('pool status write failed, will retry', { event: 'pool.status.failed', pool: st.pool, err: err instanceof Error ? err.message.split('\n')[0] : String(err) });
    }
  }
  if (failures > 0) setTimeout(schedulePoolStatus, POOL_STATUS_INTERVAL_MS);
}

function forget(key: string): void {
  if (allocator.release(key)) { log.info('released: service deleted', { event: 'service.released', service: key }); released = true; }
  requests.delete(key);
  issued.delete(key);
  queuedWrites.delete(key);
  failed.delete(key);
}

/**
 * A full pass (config or namespace change, start) parses the config and converges every service;
 * otherwise only the services that changed are converged. Refused services are retried whenever
 * an address was released.
 */
async function reconcile(): Promise<void> {
  if (resetPending) {
    resetPending = false;
    allocator = new Allocator();
    reclaimed = false;
    requests.clear();
    issued.clear();
    queuedWrites.clear();
    failed.clear();
    poolStatusWritten.clear();
    fullDirty = true;
  }
  const full = fullDirty;
  fullDirty = false;
  released = false;
  const keys = [...dirtyKeys];
  dirtyKeys.clear();
  if (full) applyConfig();
  if (!configValid) return;
  if (!reclaimed) {
    const entries = (services.list() as V1Service[]).filter((s) => isManaged(s, lbClass)).map((s) => ({ service: requestFor(s), ips: ingressIps(s) }));
    const report = allocator.reclaim(entries);
    log.info('re-claimed addresses from service status', { event: 'reclaim', services: report.results.length, kept: report.results.filter((r) => r.kept).length });
    reclaimed = true;
  }
  const todo: V1Service[] = [];
  if (full) {
    const present = new Set<string>();
    for (const s of services.list() as V1Service[]) { present.add(serviceKey(s)); todo.push(s); }
    for (const a of allocator.list()) if (!present.has(a.key)) forget(a.key);
  } else {
    for (const key of keys) {
      const [ns, name] = key.split('/') as [string, string];
      const s = services.get(name, ns) as V1Service | undefined;
      if (s) todo.push(s); else forget(key);
    }
  }
  for (const [i, s] of todo.entries()) {
    if (converge(s)) failed.delete(serviceKey(s)); else failed.add(serviceKey(s));
    if (i % 500 === 499) await new Promise(setImmediate); // a long pass lets timers (lease renewal) and I/O in
  }
  if (released) for (const k of failed) dirtyKeys.add(k);
  if (dirtyKeys.size > 0) dirty = true;
  schedulePoolStatus();
}

// One reconcile at a time; changes during a run cause exactly one more run. Only the leader runs.
let running: Promise<void> | undefined;
let dirty = false;
let leading = false;
let retryTimer: NodeJS.Timeout | undefined;
function kick(): void {
  dirty = true;
  if (running || !leading) return;
  running = (async () => {
    while (dirty && leading) {
      dirty = false;
      try { await reconcile(); } catch (err) {
        log.error('reconcile failed', { event: 'reconcile.error', bug: true, err: err instanceof Error ? err : String(err) });
        retrySoon();
      }
    }
    running = undefined;
  })();
}
function retrySoon(): void {
  fullDirty = true;
  if (retryTimer) return;
  retryTimer = setTimeout(() => { retryTimer = undefined; kick(); }, 1000);
}

// A standby is ready once its caches are synced (it serves the webhook); the leader also needs a valid config.
const monitoring = await serveMonitoring(telemetry, {
  ready: () => (!informers.every((i) => i.isSynced()) ? { ok: false, reason: 'informers not synced' } : leading && !configValid ? { ok: false, reason: 'no valid configuration yet' } : { ok: true }),
}, Number(opts['metrics-port']), opts['metrics-host'] ?? '0.0.0.0');
const synced = () => informers.every((i) => i.isSynced());
const webhookOptions = opts['webhook-port'] ? {
  port: Number(opts['webhook-port']), host: opts['webhook-host'] ?? '0.0.0.0',
  certFile: opts['webhook-cert'] ?? '', keyFile: opts['webhook-key'] ?? '',
  // Admission reads the config live, not from the informers: a cache whose watch is in a backoff
  // (after an apiserver restart, a 429) may miss an object created a moment ago, and admitting
  // against a stale view is how a BFDProfile in use gets deleted. Config changes are rare; seven
  // lists per admission are cheap. If a list fails, the caches answer (when synced).
  context: async () => {
    try {
      const lists = await Promise.all(configSpecs.map(async ({ kind, spec }) => (await spec.list()).items.map((o) => ({ ...o, apiVersion: o.apiVersion ?? `metallb.io/${storageVersion(kind)}`, kind }))));
      const nsList = (await specs.namespaces.list()).items.map((n) => ({ name: n.metadata?.name ?? '', labels: n.metadata?.labels ?? {} }));
      return { objects: lists.flat(), namespaces: nsList, namespace };
    } catch (err) {
      log.warn('webhook: live list failed, using the caches', { event: 'webhook.list.failed', err: err instanceof Error ? err.message.split('\n')[0] : String(err) });
      if (!synced()) return undefined;
      const { objects, ns } = snapshot();
      return { objects, namespaces: ns, namespace };
    }
  },
} : undefined;
// The certificate comes from a Secret someone else fills (cert-manager, or by hand): until its
// files are there the controller runs without the webhook and tries again every 10 s, rather than
// crash-looping (with failurePolicy Fail, config changes are refused meanwhile, with the reason).
let webhook: { close: () => void } | undefined;
let webhookRetry: NodeJS.Timeout | undefined;
async function startWebhook(): Promise<void> {
  if (!webhookOptions) return;
  try {
    webhook = await serveWebhook(webhookOptions, log);
    log.info('webhook serving', { event: 'webhook.listening', port: webhookOptions.port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EACCES') throw err;
    log.error('webhook certificate not readable yet, retrying in 10 s', { event: 'webhook.cert.missing', err: err instanceof Error ? err.message : String(err) });
    webhookRetry = setTimeout(() => { void startWebhook(); }, 10_000);
  }
}
await startWebhook();
await Promise.all(informers.map((i) => i.synced));
log.info('informers synced', { event: 'controller.synced', lbClass: lbClass ?? null, namespace, identity });
services.onChange((ev) => { dirtyKeys.add(serviceKey(ev.obj as V1Service)); kick(); });
// A status-only write (our own pool status, ConfigurationState is not watched) changes neither the
// generation nor the metadata the config reads: no full pass for it.
const configSeen = new Map<string, string>();
for (const i of informers) {
  if (i === services) continue;
  i.onChange((ev) => {
    const m = ev.obj.metadata;
    const k = `${i.name}/${m?.namespace ?? ''}/${m?.name ?? ''}`;
    const sig = JSON.stringify([m?.generation, m?.labels, m?.annotations]);
    if (ev.type === 'update' && m?.generation !== undefined && configSeen.get(k) === sig) return;
    if (ev.type === 'delete') configSeen.delete(k); else configSeen.set(k, sig);
    // A pool created again under an old name starts without status: write it again.
    if (i.name === 'ipaddresspools' && ev.type !== 'update') poolStatusWritten.delete(m?.name ?? '');
    fullDirty = true;
    kick();
  });
}

let shuttingDown = false;
const elector: LeaderElector = startLeaderElection(kc, {
  name: opts['lease-name'] ?? 'mooring-controller', namespace, identity, ...lease,
  onStarted: () => {
    if (shuttingDown) return;
    leading = true;
    // A new leader starts from the cluster as it is: re-claim from status, then a full pass.
    fullDirty = true;
    kick();
  },
  onStopped: (reason) => {
    leading = false;
    resetPending = true;
    log.warn('stopped leading: standing by', { event: 'controller.standby', reason });
  },
}, log);

/** SIGTERM: stop taking work, let the reconcile in flight finish, flush Events, release the lease, exit. */
async function shutdown(): Promise<void> {
  shuttingDown = true;
  log.info('shutting down', { event: 'controller.shutdown' });
  leading = false;
  if (retryTimer) clearTimeout(retryTimer);
  await running;
  await Promise.allSettled([...writers.values()]);
  await events.flush();
  await elector.release();
  await Promise.allSettled(informers.map((i) => i.stop()));
  monitoring.close();
  if (webhookRetry) clearTimeout(webhookRetry);
  webhook?.close();
  process.exit(0);
}
process.once('SIGTERM', () => { void shutdown(); });
process.once('SIGINT', () => { void shutdown(); });
