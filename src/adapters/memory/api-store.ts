// An in-memory Kubernetes API for unit tests and the simulator: objects of any kind by
// namespace/name, one resourceVersion counter for the whole store (as etcd's revision),
// metadata.generation bumped on spec changes, watchers called synchronously on every change
// (an update or patch that changes nothing is a no-op, as on an apiserver).
// It implements the actors' Kubernetes ports: `source(kind)` is an ObjectSource (synced at once),
// `serviceWriter()` the controller's ServiceWriter (merge patches of annotations and status that
// land on a microtask, bump resourceVersion and notify, like a real apiserver; failures and
// pauses can be injected), `eventSink()` an EventSink that keeps every Event, `statusSink()` a
// StatusSink that keeps ConfigurationStates and per-node status sets. Deterministic: no clock,
// no randomness.
import type { ServiceWriter, LbIngress } from '../../actors/service-reconciler.js';
import type {
  ChangeType,
  DesiredStatus,
  EventSink,
  EventTarget,
  EventType,
  KubeObject,
  ObjectSource,
  StatusSink,
} from '../../actors/kube-ports.js';
import type { PoolStatus } from '../../domain/lb-service.js';

/** A stored object: anything with kind/metadata; spec, status and the rest are free-form. */
export type StoredObject = KubeObject & Record<string, unknown>;
type Listener = (ev: { type: ChangeType; obj: KubeObject }) => void;

const keyOf = (name: string, namespace?: string) => `${namespace ?? ''}/${name}`;
const clone = <T>(o: T): T => structuredClone(o);
const specOf = (o: KubeObject): string => {
  const { metadata: _m, status: _s, ...rest } = o as StoredObject;
  return JSON.stringify(rest);
};

/** Equal apart from the fields the server sets (resourceVersion, generation, uid). */
const sameObject = (a: KubeObject, b: KubeObject): boolean => {
  const strip = (o: KubeObject) => {
    const { resourceVersion: _r, generation: _g, uid: _u, ...m } = o.metadata ?? {};
    return JSON.stringify({ ...o, metadata: m });
  };
  return strip(a) === strip(b);
};

/** A default plural name for a kind, as an informer names its source ("Service" -> "services"). */
export function pluralOf(kind: string): string {
  const k = kind.toLowerCase();
  return k.endsWith('y') ? `${k.slice(0, -1)}ies` : k.endsWith('s') ? `${k}es` : `${k}s`;
}

export class NotFoundError extends Error {
  readonly code = 404;
  constructor(kind: string, key: string) {
    super(`${kind} "${key}" not found`);
  }
}

export class ApiStore {
  private revision = 0;
  private readonly objects = new Map<string, Map<string, StoredObject>>();
  private readonly listeners = new Map<string, Listener[]>();

  /** The current resourceVersion of the store (the last write's). */
  resourceVersion(): number {
    return this.revision;
  }

  private kindMap(kind: string): Map<string, StoredObject> {
    let m = this.objects.get(kind);
    if (!m) {
      m = new Map();
      this.objects.set(kind, m);
    }
    return m;
  }

  private notify(kind: string, type: ChangeType, obj: StoredObject): void {
    for (const l of [...(this.listeners.get(kind) ?? [])]) l({ type, obj });
  }

  get<T extends KubeObject = StoredObject>(kind: string, name: string, namespace?: string): T | undefined {
    return this.objects.get(kind)?.get(keyOf(name, namespace)) as T | undefined;
  }

  list<T extends KubeObject = StoredObject>(kind: string): T[] {
    return [...(this.objects.get(kind)?.values() ?? [])] as T[];
  }

  /**
   * Creates or replaces an object (`kind` from the object). A replace without `status` keeps the
   * stored status (the status subresource is written separately); generation goes up when
   * anything outside metadata and status changed. Returns the stored copy.
   */
  apply<T extends KubeObject>(obj: T): T {
    const kind = obj.kind;
    if (!kind) throw new Error('apply: object without kind');
    const name = obj.metadata?.name;
    if (!name) throw new Error(`apply: ${kind} without metadata.name`);
    const m = this.kindMap(kind);
    const key = keyOf(name, obj.metadata?.namespace);
    const prev = m.get(key);
    const next = clone(obj) as StoredObject;
    if (prev && next.status === undefined && prev.status !== undefined) next.status = clone(prev.status);
    // An update that changes nothing is a no-op, as on an apiserver: no new resourceVersion, no event.
    if (prev && sameObject(prev, next)) return prev as unknown as T;
    const generation = prev ? (specOf(prev) === specOf(next) ? (prev.metadata?.generation ?? 1) : (prev.metadata?.generation ?? 1) + 1) : 1;
    next.metadata = {
      ...next.metadata,
      uid: prev?.metadata?.uid ?? next.metadata?.uid ?? `uid-${kind.toLowerCase()}-${key}`,
      resourceVersion: String(++this.revision),
      generation,
    };
    m.set(key, next);
    this.notify(kind, prev ? 'update' : 'add', next);
    return next as unknown as T;
  }

  /** Deletes an object; false when there was none. */
  delete(kind: string, name: string, namespace?: string): boolean {
    const m = this.objects.get(kind);
    const key = keyOf(name, namespace);
    const prev = m?.get(key);
    if (!m || !prev) return false;
    m.delete(key);
    this.revision++;
    this.notify(kind, 'delete', prev);
    return true;
  }

  /**
   * A JSON merge patch of metadata.annotations / metadata.labels (null removes a key) and a
   * replacement of `status` when given; bumps resourceVersion (not generation) and notifies.
   */
  patch(
    kind: string,
    name: string,
    namespace: string | undefined,
    p: { annotations?: Readonly<Record<string, string | null>>; labels?: Readonly<Record<string, string | null>>; status?: unknown },
  ): StoredObject {
    const key = keyOf(name, namespace);
    const prev = this.objects.get(kind)?.get(key);
    if (!prev) throw new NotFoundError(kind, key);
    const next = clone(prev);
    const merge = (cur: Record<string, string> | undefined, d: Readonly<Record<string, string | null>> | undefined) => {
      if (!d) return cur;
      const out = { ...(cur ?? {}) };
      for (const [k, v] of Object.entries(d)) {
        if (v === null) delete out[k];
        else out[k] = v;
      }
      return out;
    };
    const annotations = merge(prev.metadata?.annotations, p.annotations);
    const labels = merge(prev.metadata?.labels, p.labels);
    next.metadata = { ...next.metadata, ...(annotations ? { annotations } : {}), ...(labels ? { labels } : {}) };
    if (p.status !== undefined) next.status = clone(p.status);
    if (sameObject(prev, next)) return prev; // a patch that changes nothing: no new resourceVersion, no event
    next.metadata.resourceVersion = String(++this.revision);
    this.objects.get(kind)!.set(key, next);
    this.notify(kind, 'update', next);
    return next;
  }

  /** How many listeners watch a kind (tests: no leak across lease terms). */
  listenerCount(kind: string): number {
    return this.listeners.get(kind)?.length ?? 0;
  }

  /** An ObjectSource over one kind: synced at once, sees every later change synchronously. */
  source<T extends KubeObject = StoredObject>(kind: string, name = pluralOf(kind)): ObjectSource<T> {
    return {
      name,
      synced: Promise.resolve(),
      isSynced: () => true,
      list: () => this.list<T>(kind),
      get: (n, ns) => this.get<T>(kind, n, ns),
      onChange: (cb) => {
        const ls = this.listeners.get(kind) ?? [];
        ls.push(cb as Listener);
        this.listeners.set(kind, ls);
      },
    };
  }

  /** The controller's writes against this store. */
  serviceWriter(): MemoryServiceWriter {
    return new MemoryServiceWriter(this);
  }
  eventSink(): MemoryEventSink {
    return new MemoryEventSink();
  }
  statusSink(): MemoryStatusSink {
    return new MemoryStatusSink();
  }
}

export type WriteOp =
  | { op: 'serviceStatus'; namespace: string; name: string; ingress: LbIngress[]; annotations?: Record<string, string | null> }
  | { op: 'serviceAnnotations'; namespace: string; name: string; annotations: Record<string, string | null> }
  | { op: 'poolStatus'; namespace: string; name: string; status: PoolStatus };

/**
 * ServiceWriter over an ApiStore. Every attempt is logged in `ops` (with `ok`); `fail` may refuse
 * one (returning the error to reject with); while paused, writes wait for resume().
 */
export class MemoryServiceWriter implements ServiceWriter {
  readonly ops: Array<WriteOp & { ok: boolean }> = [];
  fail: ((op: WriteOp) => Error | undefined) | undefined;
  private gate: { p: Promise<void>; open: () => void } | undefined;

  constructor(private readonly store: ApiStore) {}

  pause(): void {
    if (this.gate) return;
    let open = () => {};
    const p = new Promise<void>((r) => {
      open = r;
    });
    this.gate = { p, open };
  }

  resume(): void {
    const g = this.gate;
    this.gate = undefined;
    g?.open();
  }

  private async run(op: WriteOp, apply: () => void): Promise<void> {
    await Promise.resolve(); // the answer comes later than the call, as over the wire
    while (this.gate) await this.gate.p;
    const err = this.fail?.(op);
    if (!err) {
      try {
        apply();
      } catch (e) {
        this.ops.push({ ...op, ok: false });
        throw e;
      }
    }
    this.ops.push({ ...op, ok: !err });
    if (err) throw err;
  }

  patchServiceStatus(
    namespace: string,
    name: string,
    ingress: readonly LbIngress[],
    annotations?: Readonly<Record<string, string | null>>,
  ): Promise<void> {
    const op: WriteOp = {
      op: 'serviceStatus',
      namespace,
      name,
      ingress: clone([...ingress]),
      ...(annotations ? { annotations: { ...annotations } } : {}),
    };
    return this.run(op, () => {
      const prev = this.store.get('Service', name, namespace);
      const status = { ...(prev?.status as Record<string, unknown> | undefined), loadBalancer: { ingress: clone([...ingress]) } };
      this.store.patch('Service', name, namespace, { ...(annotations ? { annotations } : {}), status });
    });
  }

  patchServiceAnnotations(namespace: string, name: string, annotations: Readonly<Record<string, string | null>>): Promise<void> {
    return this.run({ op: 'serviceAnnotations', namespace, name, annotations: { ...annotations } }, () => {
      this.store.patch('Service', name, namespace, { annotations });
    });
  }

  patchPoolStatus(namespace: string, name: string, status: PoolStatus): Promise<void> {
    return this.run({ op: 'poolStatus', namespace, name, status: { ...status } }, () => {
      this.store.patch('IPAddressPool', name, namespace, { status });
    });
  }
}

export interface RecordedEvent {
  target: EventTarget;
  type: EventType;
  reason: string;
  message: string;
}

/** Keeps every Event, in order (no aggregation: tests read them all). */
export class MemoryEventSink implements EventSink {
  readonly events: RecordedEvent[] = [];
  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    this.events.push({ target: { ...target }, type, reason, message });
  }
  /** The Events recorded for one object ("namespace/name"). */
  for(key: string): RecordedEvent[] {
    return this.events.filter((e) => `${e.target.namespace}/${e.target.name}` === key);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
}

/** Keeps the last ConfigurationState per name, every call to it, and the last status set per (plural, node). */
export class MemoryStatusSink implements StatusSink {
  readonly configurationStates = new Map<string, { valid: boolean; errorSummary: string }>();
  readonly configurationCalls: Array<{ name: string; valid: boolean; errorSummary: string }> = [];
  readonly statuses = new Map<string, readonly DesiredStatus[]>();

  configurationState(name: string, valid: boolean, errorSummary: string): Promise<void> {
    this.configurationCalls.push({ name, valid, errorSummary });
    this.configurationStates.set(name, { valid, errorSummary });
    return Promise.resolve();
  }

  reconcile(plural: 'servicel2statuses' | 'servicebgpstatuses', node: string, desired: readonly DesiredStatus[]): Promise<void> {
    this.statuses.set(`${plural}/${node}`, clone([...desired]));
    return Promise.resolve();
  }
}
