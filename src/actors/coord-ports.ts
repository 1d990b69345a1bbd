// Ports the coordinator talks through: a clock, the coordination bus (core NATS), and the epoch
// store (JetStream KV). The NATS adapter implements the bus and the store for real; the
// simulator implements them in memory on one simulated clock.

/** The clock port lives in clock.ts (monotonic ms); re-exported for the coordinator's importers. */
export { realClock, type Clock } from './clock.js';

/** One connection as the NATS servers name it (re-exported for the bus's implementers). */
export type { ConnId } from '../codecs/coord.js';
import type { ConnId } from '../codecs/coord.js';
import type { TraceHeaders } from './trace-port.js';

export interface CoordBus {
  /** `headers`: a trace context (src/actors/trace-port.ts), sent as NATS message headers; a bus without headers drops them. */
  publish(subject: string, data: Uint8Array, headers?: TraceHeaders): void;
  /** Subscribes to a subject (wildcards allowed); returns an unsubscribe function. `headers`: the message's, when it has any. */
  subscribe(subject: string, cb: (subject: string, data: Uint8Array, headers?: TraceHeaders) => void): () => void;
  /** Connection status changes (true = connected). Returns an unsubscribe function. */
  onStatus(cb: (up: boolean) => void): () => void;
  isUp(): boolean;
  /**
   * The bus's NATS connections now (primary, mirror), advertised in heartbeats for the death fast
   * path (src/domain/presence.ts). Absent or empty: peers judge this node by heartbeats only.
   */
  connections?(): readonly ConnId[];
}

export interface KvEntry {
  readonly value: Uint8Array;
  readonly revision: number;
}

/**
 * Why a KV operation failed. `conflict`: a compare-and-set lost (the key exists, or is no longer at
 * the expected revision): someone else wrote first, re-read it. `unavailable`: the KV did not
 * answer (timeout, no responders, connection lost, a replica set without a leader): transient.
 */
export const KvErrorKind = { conflict: 'conflict', unavailable: 'unavailable' } as const;
export type KvErrorKind = (typeof KvErrorKind)[keyof typeof KvErrorKind];

export interface KvFailure<K extends KvErrorKind = KvErrorKind> {
  readonly ok: false;
  readonly kind: K;
  readonly error: string;
}

export type KvRead = { readonly ok: true; readonly entry: KvEntry | null } | KvFailure<'unavailable'>;
export type KvWrite = { readonly ok: true; readonly revision: number } | KvFailure;

/** Compare-and-set store. Failures are values, never rejections (an adapter bug may still reject). */
export interface EpochStore {
  get(key: string): Promise<KvRead>;
  /** Creates the key; `conflict` if it exists. */
  create(key: string, value: Uint8Array): Promise<KvWrite>;
  /** Writes only if the key is still at `revision`; `conflict` otherwise. */
  update(key: string, value: Uint8Array, revision: number): Promise<KvWrite>;
}
