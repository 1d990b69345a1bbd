// Ports the coordinator talks through: a clock, the coordination bus (core NATS), and the epoch
// store (JetStream KV). The NATS adapter implements the bus and the store for real; the
// simulator implements them in memory on one simulated clock.

/** The clock port lives in clock.ts (monotonic ms); re-exported for the coordinator's importers. */
export { realClock, type Clock } from './clock.js';

export interface CoordBus {
  publish(subject: string, data: Uint8Array): void;
  /** Subscribes to a subject (wildcards allowed); returns an unsubscribe function. */
  subscribe(subject: string, cb: (subject: string, data: Uint8Array) => void): () => void;
  /** Connection status changes (true = connected). Returns an unsubscribe function. */
  onStatus(cb: (up: boolean) => void): () => void;
  isUp(): boolean;
}

export interface KvEntry {
  readonly value: Uint8Array;
  readonly revision: number;
}

/** Compare-and-set store. Every method may reject (KV unavailable): callers treat that as transient. */
export interface EpochStore {
  get(key: string): Promise<KvEntry | null>;
  /** Creates the key; rejects if it exists. Returns the new revision. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Writes only if the key is still at `revision`; rejects otherwise. Returns the new revision. */
  update(key: string, value: Uint8Array, revision: number): Promise<number>;
}
