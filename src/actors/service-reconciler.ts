// The controller's reconcile loop, one instance per lease term. It owns the last valid config
// (domain/config.ts, ConfigurationState/controller through the StatusSink), the allocator
// (re-claimed from Service status on the first pass, so a new term moves nothing), converging
// every Service to the allocator's answer (status.loadBalancer.ingress, the pool annotation, and
// MetalLB's Events), per-service write coalescing behind a FIFO concurrency limit, retry after
// failures, and the rate-limited IPAddressPool status writer. It reads objects from ObjectSources
// and writes only through the ServiceWriter, EventSink and StatusSink ports, on the given Clock:
// the real controller wires informers and REST writers in, unit tests and the simulator wire in
// the in-memory API store (src/adapters/memory/api-store.ts). stop() ends the term: nothing is
// written afterwards; the next term is a new instance.
import { KINDS } from '../api/metallb.js';
import { Allocator, Annotation, type ServiceRequest } from '../domain/allocator/index.js';
import { formatConfigError, parseConfig, type RawObject } from '../domain/config.js';
import {
  DEPRECATED_POOL_ANNOTATION,
  POOL_ANNOTATION,
  annotationPatch,
  clearedByConfigEvent,
  clearedNotOursEvent,
  deprecatedAnnotationEvents,
  hasWrites,
  ingressIps,
  isManaged,
  poolStatus,
  refusalEvent,
  serviceKey,
  toAllocatorPools,
  toServiceRequest,
  writesFor,
  type PoolStatus,
  type ServiceEvent,
  type ServiceLike,
  type ServiceWrites,
} from '../domain/lb-service.js';
import type { Logger } from '../adapters/log.js';
import type { Clock } from './coord-ports.js';
import type { TraceSpan, Tracer } from './trace-port.js';
import type { ChangeType, EventSink, KubeObject, ObjectSource, StatusSink } from './kube-ports.js';

/** A core/v1 Service as the reconciler reads it. */
export type Service = ServiceLike & KubeObject;

export interface LbIngress {
  ip: string;
  ipMode?: string;
}

/** The writes the reconciler makes besides Events and ConfigurationState. Each may reject (retried). */
export interface ServiceWriter {
  /**
   * Merge patch on services/<name>/status: status.loadBalancer.ingress, and metadata.annotations
   * in the same request when given (null removes one).
   */
  patchServiceStatus(
    namespace: string,
    name: string,
    ingress: readonly LbIngress[],
    annotations?: Readonly<Record<string, string | null>>,
  ): Promise<void>;
  /** Merge patch of the Service's metadata.annotations (null removes one). */
  patchServiceAnnotations(namespace: string, name: string, annotations: Readonly<Record<string, string | null>>): Promise<void>;
  /** Replaces IPAddressPool <namespace>/<name>'s status. */
  patchPoolStatus(namespace: string, name: string, status: PoolStatus): Promise<void>;
}

/** Runs a request when its turn comes (a bound on requests in flight, shared by writes and Events). */
export type Limiter = <T>(request: () => Promise<T>) => Promise<T>;

/** At most `n` requests in flight, started in the order they were issued (FIFO). */
export function fifoLimiter(n: number): Limiter {
  let slots = n;
  const waiters: Array<() => void> = [];
  return async (request) => {
    if (slots > 0) slots--;
    else await new Promise<void>((r) => waiters.push(r));
    try {
      return await request();
    } finally {
      const next = waiters.shift();
      if (next) next();
      else slots++; // the slot passes straight to the next in line
    }
  };
}

export interface ServiceReconcilerOptions {
  services: ObjectSource<Service>;
  namespaces: ObjectSource;
  /** One source per metallb.io config kind (IPAddressPool, L2Advertisement, ...). */
  config: ReadonlyArray<{ kind: string; source: ObjectSource }>;
  writer: ServiceWriter;
  events: EventSink;
  status: StatusSink;
  clock: Clock;
  log: Logger;
  /** Mooring's namespace (config objects, pool status). */
  namespace: string;
  /** --lb-class: the loadBalancerClass this controller serves (undefined: services without one). */
  lbClass?: string;
  /** Shared with the Event recorder in the controller; a fresh FIFO of 16 by default. */
  limit?: Limiter;
  /** Spans (docs/observability.md): `controller.reconcile` per pass, `controller.allocate`, `controller.statusWrite`. */
  tracer?: Tracer;
  /**
   * Told of every allocation decision (the state feed's `allocation` records): IPs written, a
   * refusal (with the IPs kept, and why none), a release.
   */
  onAllocation?: (d: AllocationDecision) => void;
}

/** An allocation decision for one Service, as the visualizer shows it. */
export interface AllocationDecision {
  /** namespace/name */
  readonly service: string;
  readonly ips: readonly string[];
  readonly pool?: string;
  /** Why these IPs (the pool and how it was chosen), or why none. */
  readonly why: string;
}

/** Why a Service got its IPs from `pool`: what it asked for, else the pools' order. */
export function allocationWhy(req: ServiceRequest, pool: string | undefined): string {
  const a = req.annotations ?? {};
  const from = pool ? `pool ${pool}` : 'no pool';
  if (a[Annotation.loadBalancerIPs] ?? a[Annotation.deprecatedLoadBalancerIPs] ?? req.loadBalancerIP)
    return `${from}: the IPs the Service requested`;
  if (a[Annotation.addressPool] ?? a[Annotation.deprecatedAddressPool]) return `${from}: the pool the Service requested`;
  return `${from}: auto-assigned (first pool by priority with a free address)`;
}

/** Service writes in flight at once (the apiserver's inflight limits answer 429 beyond a few dozen). */
export const WRITE_CONCURRENCY = 16;
/** At most one round of IPAddressPool status writes per this period. */
export const POOL_STATUS_INTERVAL_MS = 1000;
/** A failed pass or write is retried (as a full pass) after this long. */
export const RETRY_MS = 1000;
/** A long pass lets timers (lease renewal) and I/O in every this many services. */
const YIELD_EVERY = 500;

const apiVersionOf = (kind: string): string => {
  const v = KINDS.find((k) => k.kind === kind)?.versions.find((x) => x.storage)?.name;
  return `metallb.io/${v ?? 'v1beta1'}`;
};

/** The config objects (apiVersion and kind set) and namespaces the sources hold: parseConfig's input. */
export function configSnapshot(
  config: ServiceReconcilerOptions['config'],
  namespaces: ObjectSource,
): {
  objects: RawObject[];
  namespaces: Array<{ name: string; labels: Record<string, string> }>;
} {
  return {
    objects: config.flatMap(({ kind, source }) =>
      source.list().map((o) => ({ ...o, apiVersion: o.apiVersion ?? apiVersionOf(kind), kind })),
    ),
    namespaces: namespaces.list().map((n) => ({ name: n.metadata?.name ?? '', labels: n.metadata?.labels ?? {} })),
  };
}

type Listener = (ev: { type: ChangeType; obj: KubeObject }) => void;
/**
 * ObjectSource has no unsubscribe, and a source outlives the lease terms: one dispatcher per
 * source, to which each term adds its listener and from which stop() removes it.
 */
const hubs = new WeakMap<object, Set<Listener>>();
function listen<T extends KubeObject>(source: ObjectSource<T>, cb: (ev: { type: ChangeType; obj: T }) => void): () => void {
  let hub = hubs.get(source);
  if (!hub) {
    const h = new Set<Listener>();
    hubs.set(source, h);
    source.onChange((ev) => {
      for (const l of [...h]) l(ev);
    });
    hub = h;
  }
  const l = cb as Listener;
  hub.add(l);
  return () => {
    hub.delete(l);
  };
}

interface QueuedWrite {
  s: Service;
  w: ServiceWrites;
  sig: string;
  /** Tracing on: the span that decided the write (its allocation, or the pass). */
  cause?: TraceSpan;
}
const errText = (err: unknown) => (err instanceof Error ? err.message.split('\n')[0] : String(err));

export class ServiceReconciler {
  private readonly o: ServiceReconcilerOptions;
  private readonly limit: Limiter;
  private readonly allocator = new Allocator();
  private started = false;
  private readonly unsubscribe: Array<() => void> = [];
  private stopped = false;
  private configValid = false;
  private lastConfigError = '';
  private reclaimed = false;
  /** Requests cached per resourceVersion: the allocator's fast path wants the very same object. */
  private readonly requests = new Map<string, { rv: string | undefined; sig: string; req: ServiceRequest }>();
  /** Writes issued for a resourceVersion: not repeated until the source shows the result. */
  private readonly issued = new Map<string, string>();
  /** Services the allocator refused: converged again after any release. */
  private readonly failed = new Set<string>();
  /** The last decision told per Service (onAllocation): what `allocations()` lists. */
  private readonly decisions = new Map<string, AllocationDecision>();
  private readonly dirtyKeys = new Set<string>();
  private fullDirty = true;
  private released = false;
  /** Per service, the newest wanted write not yet sent, and the loop sending them. */
  private readonly queuedWrites = new Map<string, QueuedWrite>();
  private readonly writers = new Map<string, Promise<void>>();
  /** Config objects' generation, labels and annotations as last seen: status-only updates are skipped. */
  private readonly configSeen = new Map<string, string>();
  private readonly poolStatusWritten = new Map<string, string>();
  private poolStatusTimer: unknown;
  private poolRetryTimer: unknown;
  private poolStatusAt = -Infinity;
  private poolRound: Promise<void> | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private retryTimer: unknown;
  /** Tracing on: the pass under way. */
  private passSpan: TraceSpan | undefined;
  /** Tracing on: the allocation span of the service being converged. */
  private allocSpan: TraceSpan | undefined;

  constructor(o: ServiceReconcilerOptions) {
    this.o = o;
    this.limit = o.limit ?? fifoLimiter(WRITE_CONCURRENCY);
  }

  /** Subscribes to the sources and runs the first full pass (config, re-claim, every Service). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const { services, namespaces, config } = this.o;
    this.unsubscribe.push(
      listen(services, (ev) => {
        if (this.stopped) return;
        this.dirtyKeys.add(serviceKey(ev.obj));
        this.kick();
      }),
    );
    for (const { kind, source } of [{ kind: 'Namespace', source: namespaces }, ...config]) {
      for (const obj of source.list()) this.configChanged(kind, source.name, 'add', obj);
      this.unsubscribe.push(
        listen(source, (ev) => {
          if (!this.stopped && this.configChanged(kind, source.name, ev.type, ev.obj)) {
            this.fullDirty = true;
            this.kick();
          }
        }),
      );
    }
    this.fullDirty = true;
    this.kick();
  }

  /**
   * Ends the term: nothing is written or recorded from now on (queued writes are dropped). Resolves
   * once the pass and the writes already in flight have finished.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    this.queuedWrites.clear();
    for (const t of [this.retryTimer, this.poolStatusTimer, this.poolRetryTimer]) if (t !== undefined) this.o.clock.clearTimeout(t);
    this.retryTimer = this.poolStatusTimer = this.poolRetryTimer = undefined;
    await this.running;
    await Promise.allSettled([...this.writers.values(), this.poolRound]);
  }

  /** Resolves when no pass, Service write or pool status round is running (tests, the simulator). */
  async idle(): Promise<void> {
    for (;;) {
      const busy = [this.running, this.poolRound, ...this.writers.values()].filter((p) => p !== undefined);
      if (busy.length === 0) {
        // A write's result may reach the source a microtask later, and kick another pass.
        for (let i = 0; i < 3; i++) await Promise.resolve();
        if (!this.running && !this.poolRound && this.writers.size === 0) return;
        continue;
      }
      await Promise.allSettled(busy);
    }
  }

  /**
   * Every Service's allocation now: the last decision told, else (re-claimed from status at the
   * term's start, unchanged since) its IPs and pool. The controller's state feed snapshot.
   */
  allocations(): AllocationDecision[] {
    const out = new Map(this.decisions);
    for (const a of this.allocator.list())
      if (!out.has(a.key))
        out.set(a.key, { service: a.key, ips: a.ips, pool: a.pool, why: `pool ${a.pool}: kept from the Service's status` });
    return [...out.values()];
  }

  private decided(d: AllocationDecision): void {
    const last = this.decisions.get(d.service);
    if (last && last.why === d.why && last.pool === d.pool && last.ips.join() === d.ips.join()) return;
    this.decisions.set(d.service, d);
    this.o.onAllocation?.(d);
  }

  /** The allocator's per-pool counts (metrics). */
  stats(): ReturnType<Allocator['stats']> {
    return this.allocator.stats();
  }
  /** A valid config was loaded in this term. */
  configLoaded(): boolean {
    return this.configValid;
  }
  /** Running on an older config because the latest one is invalid. */
  configStale(): boolean {
    return this.configValid && this.lastConfigError !== '';
  }

  /** Whether a config (or namespace) change needs a full pass: not for status-only updates. */
  private configChanged(kind: string, sourceName: string, type: ChangeType, obj: KubeObject): boolean {
    const m = obj.metadata;
    const k = `${sourceName}/${m?.namespace ?? ''}/${m?.name ?? ''}`;
    const sig = JSON.stringify([m?.generation, m?.labels, m?.annotations]);
    if (type === 'update' && m?.generation !== undefined && this.configSeen.get(k) === sig) return false;
    if (type === 'delete') this.configSeen.delete(k);
    else this.configSeen.set(k, sig);
    // A pool created again under an old name starts without status: write it again.
    if (kind === 'IPAddressPool' && type !== 'update') this.poolStatusWritten.delete(m?.name ?? '');
    return true;
  }

  // ---- the loop: one pass at a time; changes during a pass cause exactly one more ----------------
  private kick(): void {
    this.dirty = true;
    if (this.running || this.stopped || !this.started) return;
    this.running = (async () => {
      await Promise.resolve(); // `running` is set before the pass starts (a source may call back synchronously)
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        this.passSpan = this.o.tracer?.start('controller.reconcile', { 'mooring.full': this.fullDirty });
        try {
          await this.pass();
          this.passSpan?.end();
        } catch (err) {
          this.passSpan?.end(String(err));
          this.o.log.error('reconcile failed', { event: 'reconcile.error', bug: true, err: err instanceof Error ? err : String(err) });
          this.retrySoon();
        }
      }
      this.passSpan = undefined;
      this.running = undefined;
    })();
  }

  private retrySoon(): void {
    this.fullDirty = true;
    if (this.retryTimer !== undefined || this.stopped) return;
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, RETRY_MS);
  }

  private yieldToIo(): Promise<void> {
    const { afterIo } = this.o.clock;
    return afterIo ? new Promise<void>((r) => afterIo(r)) : Promise.resolve();
  }

  /**
   * A full pass (config or namespace change, start) parses the config and converges every service;
   * otherwise only the services that changed are converged. Refused services are retried whenever
   * an address was released.
   */
  private async pass(): Promise<void> {
    const { services, lbClass, log } = this.o;
    const full = this.fullDirty;
    this.fullDirty = false;
    this.released = false;
    const keys = [...this.dirtyKeys];
    this.dirtyKeys.clear();
    if (full) this.applyConfig();
    if (!this.configValid) return;
    if (!this.reclaimed) {
      const entries = services
        .list()
        .filter((s) => isManaged(s, lbClass))
        .map((s) => ({ service: this.requestFor(s), ips: ingressIps(s) }));
      const report = this.allocator.reclaim(entries);
      log.info('re-claimed addresses from service status', {
        event: 'reclaim',
        services: report.results.length,
        kept: report.results.filter((r) => r.kept).length,
      });
      this.reclaimed = true;
    }
    const todo: Service[] = [];
    if (full) {
      const present = new Set<string>();
      for (const s of services.list()) {
        present.add(serviceKey(s));
        todo.push(s);
      }
      for (const a of this.allocator.list()) if (!present.has(a.key)) this.forget(a.key);
    } else {
      for (const key of keys) {
        const [ns, name] = key.split('/') as [string, string];
        const s = services.get(name, ns);
        if (s) todo.push(s);
        else this.forget(key);
      }
    }
    for (const [i, s] of todo.entries()) {
      if (this.stopped) return;
      if (this.converge(s)) this.failed.delete(serviceKey(s));
      else this.failed.add(serviceKey(s));
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await this.yieldToIo();
    }
    if (this.released) for (const k of this.failed) this.dirtyKeys.add(k);
    if (this.dirtyKeys.size > 0) this.dirty = true;
    this.passSpan?.set({ 'mooring.services': todo.length, 'mooring.refused': this.failed.size });
    this.schedulePoolStatus();
  }

  /**
   * The allocator's request for a service, the same object while what it reads is unchanged: the
   * same resourceVersion, or a newer one that changed none of the fields the request holds (our
   * own status and pool annotation write coming back through the watch), so the allocator takes
   * its fast path instead of checking the addresses again.
   */
  private requestFor(s: Service): ServiceRequest {
    const key = serviceKey(s);
    const rv = s.metadata?.resourceVersion;
    const c = this.requests.get(key);
    if (c && c.rv === rv) return c.req;
    const req = toServiceRequest(s);
    const sig = JSON.stringify(req);
    if (c && c.sig === sig) {
      c.rv = rv;
      return c.req;
    }
    this.requests.set(key, { rv, sig, req });
    return req;
  }

  private configState(valid: boolean, msg: string): void {
    if (this.stopped) return;
    this.o.status.configurationState('controller', valid, msg).catch((err: unknown) => {
      this.o.log.warn('ConfigurationState write failed', { event: 'config.state.failed', err: errText(err) });
    });
  }

  private applyConfig(): void {
    const { log } = this.o;
    const { objects, namespaces: ns } = configSnapshot(this.o.config, this.o.namespaces);
    this.allocator.setNamespaces(Object.fromEntries(ns.map((n) => [n.name, n.labels])));
    const res = parseConfig({ objects, namespaces: ns, namespace: this.o.namespace });
    if (!res.ok) {
      const msg = res.errors.map(formatConfigError).join('; ');
      if (msg !== this.lastConfigError)
        log.error('configuration invalid, keeping the last valid one', { event: 'config.invalid', err: msg });
      this.lastConfigError = msg;
      this.configState(false, msg);
      return;
    }
    const set = this.allocator.setPools(toAllocatorPools(res.config));
    if (!set.ok) {
      if (set.reason !== this.lastConfigError)
        log.error('pools refused by the allocator, keeping the last valid ones', { event: 'config.invalid', err: set.reason });
      this.lastConfigError = set.reason;
      this.configState(false, set.reason);
      return;
    }
    for (const m of set.moved) {
      const [ns = '', name = ''] = m.key.split('/');
      const svc = this.o.services.get(name, ns);
      if (!svc) continue;
      this.emit(svc, clearedByConfigEvent(m.key, m.from));
      if (m.result.ok) this.emit(svc, { type: 'Normal', reason: 'IPAllocated', message: `Assigned IP ${JSON.stringify(m.result.ips)}` });
      log.info('address no longer allowed by config: moved', {
        event: 'service.moved',
        service: m.key,
        from: [...m.from],
        ip: m.result.ok ? [...m.result.ips] : [],
      });
    }
    this.configState(true, '');
    if (this.lastConfigError || !this.configValid)
      log.info('configuration loaded', { event: 'config.loaded', pools: res.config.pools.length });
    this.lastConfigError = '';
    this.configValid = true;
  }

  private forget(key: string): void {
    if (this.allocator.release(key)) {
      this.o.log.info('released: service deleted', { event: 'service.released', service: key });
      this.released = true;
    }
    if (this.decisions.has(key)) this.o.onAllocation?.({ service: key, ips: [], why: 'released: the Service was deleted' });
    this.decisions.delete(key);
    this.requests.delete(key);
    this.issued.delete(key);
    this.queuedWrites.delete(key);
    this.failed.delete(key);
  }

  private emit(s: Service, e: ServiceEvent): void {
    if (this.stopped) return;
    this.o.events.record(
      { kind: 'Service', name: s.metadata?.name ?? '', namespace: s.metadata?.namespace ?? '', uid: s.metadata?.uid, apiVersion: 'v1' },
      e.type,
      e.reason,
      e.message,
    );
  }

  /** Converges one service (its writes are queued); returns false when the allocator refused it (retried after releases). */
  private converge(s: Service): boolean {
    const { lbClass, log } = this.o;
    const key = serviceKey(s);
    if (!isManaged(s, lbClass)) {
      const held = this.allocator.get(key)?.ips ?? [];
      if (this.allocator.release(key)) {
        log.info('released: no longer ours', { event: 'service.released', service: key });
        this.released = true;
        this.decided({ service: key, ips: [], why: 'released: no longer a LoadBalancer Service of this controller' });
        const cleared = clearedNotOursEvent(s, held, lbClass);
        if (cleared) this.emit(s, cleared);
      }
      // The deprecated pool annotation goes when the service stops being a LoadBalancer (MetalLB
      // clears it there); on another class's service it is that controller's.
      const ann = s.metadata?.annotations;
      const dropDeprecated = s.spec?.type !== 'LoadBalancer' && ann?.[DEPRECATED_POOL_ANNOTATION] !== undefined;
      if (ann?.[POOL_ANNOTATION] !== undefined || dropDeprecated) {
        const { dropDeprecatedPool: _, ...w } = writesFor(s, [], undefined);
        this.writeReporting(s, dropDeprecated ? { ...w, dropDeprecatedPool: true } : w);
      }
      return true;
    }
    const r = this.allocator.assign(this.requestFor(s));
    // An allocation span when the answer changed or is a refusal (not for every unchanged service of a pass).
    const alloc =
      this.passSpan && (!r.ok || r.changed) ? this.passSpan.child('controller.allocate', { 'mooring.service': key }) : undefined;
    this.allocSpan = alloc;
    try {
      return this.allocated(s, key, r, alloc);
    } finally {
      this.allocSpan = undefined;
    }
  }

  private allocated(s: Service, key: string, r: ReturnType<Allocator['assign']>, alloc: TraceSpan | undefined): boolean {
    const { log } = this.o;
    alloc?.set({
      'mooring.ips': r.ips.join(','),
      'mooring.pool': r.ok ? (r.pool ?? '') : '',
      'mooring.result': r.ok ? 'assigned' : r.code,
    });
    alloc?.end(r.ok ? undefined : r.reason);
    if (r.ok) {
      if (r.changed) this.emit(s, { type: 'Normal', reason: 'IPAllocated', message: `Assigned IP ${JSON.stringify(r.ips)}` });
      if (r.changed && r.warning)
        this.emit(s, {
          type: 'Normal',
          reason: 'AdditionalAssignFailed',
          message: `cannot assign additional IP in PreferDualStack: ${r.warning}`,
        });
      const w = writesFor(s, r.ips, r.pool);
      if (hasWrites(w)) {
        log.info('service converged', { event: 'service.assigned', service: key, ip: r.ips, pool: r.pool });
        this.writeReporting(s, w);
      }
      return true;
    }
    const w = writesFor(s, r.ips, r.ips.length > 0 ? this.allocator.get(key)?.pool : undefined);
    if (hasWrites(w) || !this.failed.has(key)) {
      this.emit(s, refusalEvent(key, r.code, r.reason, r.ips));
      log.warn('allocation failed', { event: 'service.allocationFailed', service: key, reason: r.code, err: r.reason });
      this.decided({ service: key, ips: r.ips, why: `${r.ips.length > 0 ? 'kept, no new IP' : 'no IP'}: ${r.code}: ${r.reason}` });
      if (hasWrites(w)) this.writeReporting(s, w);
    }
    return false;
  }

  /**
   * A write, with MetalLB's deprecatedAnnotation Event per metallb.universe.tf/* annotation: it
   * reports them only when it writes the service (not on every pass), and not again while the
   * same write is already issued.
   */
  private writeReporting(s: Service, w: ServiceWrites): void {
    const sig = `${s.metadata?.resourceVersion ?? ''}:${JSON.stringify(w)}`;
    if (this.stopped || this.issued.get(serviceKey(s)) === sig) return;
    for (const e of deprecatedAnnotationEvents(s)) this.emit(s, e);
    this.write(s, w);
  }

  /**
   * Per service, one write (annotation patch, or status patch carrying the annotation) in flight at
   * a time; a newer write for a service replaces its queued one (it carries the whole wanted
   * state). The queued write is picked when a slot is free, so a write waiting for its turn is
   * never sent stale.
   */
  private write(s: Service, w: ServiceWrites): void {
    const key = serviceKey(s);
    const sig = `${s.metadata?.resourceVersion ?? ''}:${JSON.stringify(w)}`;
    if (this.stopped || this.issued.get(key) === sig) return;
    this.issued.set(key, sig);
    const cause = this.allocSpan ?? this.passSpan;
    this.queuedWrites.set(key, { s, w, sig, ...(cause ? { cause } : {}) });
    if (this.writers.has(key)) return; // its writer picks the newest one up
    this.writers.set(
      key,
      (async () => {
        while (this.queuedWrites.has(key)) {
          await this.limit(async () => {
            const q = this.queuedWrites.get(key);
            this.queuedWrites.delete(key);
            if (q && !this.stopped) await this.send(key, q);
          });
        }
        this.writers.delete(key);
      })(),
    );
  }

  /**
   * The annotation and the status in one request when both change (a merge patch on
   * services/status keeps metadata changes), so a service gets its IP and the annotation saying
   * which pool it came from together, in one round trip and one resourceVersion. Should an
   * apiserver drop metadata on /status, the source shows the status without the annotation, and
   * the next converge writes the annotation alone.
   */
  private async send(key: string, { s, w, sig, cause }: QueuedWrite): Promise<void> {
    const name = s.metadata?.name ?? '';
    const ns = s.metadata?.namespace ?? '';
    const annotations = annotationPatch(w);
    const span = cause?.child('controller.statusWrite', {
      'mooring.service': key,
      'mooring.ips': w.ingress?.join(',') ?? '',
      'mooring.write': w.ingress !== undefined ? 'status' : 'annotations',
    });
    try {
      if (w.ingress !== undefined) {
        await this.o.writer.patchServiceStatus(
          ns,
          name,
          w.ingress.map((ip) => ({ ip, ipMode: 'VIP' })),
          annotations,
        );
        const pool = w.poolAnnotation ?? undefined;
        // An empty write follows a refusal or a release: that decision was told already.
        if (w.ingress.length > 0)
          this.decided({ service: key, ips: w.ingress, ...(pool ? { pool } : {}), why: allocationWhy(this.requestFor(s), pool) });
      } else if (annotations) {
        await this.o.writer.patchServiceAnnotations(ns, name, annotations);
      }
      span?.end();
    } catch (err) {
      span?.end(errText(err));
      if (this.issued.get(key) === sig) this.issued.delete(key);
      this.o.log.warn('service write failed, will retry', {
        event: 'service.write.failed',
        service: key,
        err: err instanceof Error ? err : String(err),
      });
      this.retrySoon();
    }
  }

  // ---- IPAddressPool status: assigned/available per family, at most one round of writes per interval.
  private schedulePoolStatus(): void {
    if (this.poolStatusTimer !== undefined || this.stopped) return;
    const { clock } = this.o;
    const wait = Math.max(0, this.poolStatusAt + POOL_STATUS_INTERVAL_MS - clock.now());
    this.poolStatusTimer = clock.setTimeout(() => {
      this.poolStatusAt = clock.now();
      this.poolRound = this.writePoolStatus().finally(() => {
        this.poolStatusTimer = undefined;
        this.poolRound = undefined;
      });
    }, wait);
  }

  private async writePoolStatus(): Promise<void> {
    let failures = 0;
    for (const st of this.allocator.stats()) {
      if (this.stopped) return;
      const status = poolStatus(st);
      const sig = JSON.stringify(status);
      if (this.poolStatusWritten.get(st.pool) === sig) continue;
      const span = this.o.tracer?.start('controller.poolStatusWrite', { 'mooring.pool': st.pool });
      try {
        await this.o.writer.patchPoolStatus(this.o.namespace, st.pool, status);
        this.poolStatusWritten.set(st.pool, sig);
        span?.end();
      } catch (err) {
        span?.end(errText(err));
        failures++;
        this.o.log.warn('pool status write failed, will retry', { event: 'pool.status.failed', pool: st.pool, err: errText(err) });
      }
    }
    if (failures > 0 && !this.stopped && this.poolRetryTimer === undefined) {
      this.poolRetryTimer = this.o.clock.setTimeout(() => {
        this.poolRetryTimer = undefined;
        this.schedulePoolStatus();
      }, POOL_STATUS_INTERVAL_MS);
    }
  }
}
