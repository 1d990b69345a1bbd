// Ports between the actors and the Kubernetes API. The controller's reconciler and the speaker's
// actors read objects and write status and Events only through these; the adapters in
// src/adapters/kube implement them against a real apiserver (an `Informer` is an ObjectSource),
// and an in-memory API store implements them for unit tests and the simulator, so both run the
// same actor code.

/** The part of a Kubernetes object the actors read generically. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

export type ChangeType = 'add' | 'update' | 'delete';

/** A cache of one kind of object, kept current by list+watch (or by the in-memory store). */
export interface ObjectSource<T extends KubeObject = KubeObject> {
  /** For logs and metrics: "services", "ipaddresspools", ... */
  readonly name: string;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;
  isSynced(): boolean;
  list(): readonly T[];
  get(name: string, namespace?: string): T | undefined;
  /** Called after any add/update/delete (and after each relist). */
  onChange(cb: (ev: { type: ChangeType; obj: T }) => void): void;
}

export interface EventTarget {
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
}
export type EventType = 'Normal' | 'Warning';

/** Kubernetes Events; identical ones within a window are aggregated by the implementation. */
export interface EventSink {
  record(target: EventTarget, type: EventType, reason: string, message: string): void;
  /** Waits for writes in flight (tests, shutdown). */
  flush(): Promise<void>;
}

/** One ServiceL2Status / ServiceBGPStatus object this node wants to exist. */
export interface DesiredStatus {
  serviceKey: string;
  status: Record<string, unknown>;
}

/** The status objects a component owns: ConfigurationState and the per-node service statuses. */
export interface StatusSink {
  /** ConfigurationState/<name>: whether the last config was valid, and why not. */
  configurationState(name: string, valid: boolean, errorSummary: string): Promise<void>;
  /** Makes this node's objects of `plural` exactly `desired` (creates, updates, deletes). */
  reconcile(plural: 'servicel2statuses' | 'servicebgpstatuses', node: string, desired: readonly DesiredStatus[]): Promise<void>;
}
