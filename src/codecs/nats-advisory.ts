// NATS server connect/disconnect advisories (`$SYS.ACCOUNT.<account>.CONNECT` / `.DISCONNECT`),
// as the system account publishes them and exports them to the coordination account
// (src/domain/nats-config.ts): which client connection (server id, client id, client name) opened
// or closed. Only the fields the presence table needs are read. Decode never throws.
import type { ConnId } from './coord.js';
import type { Result } from '../domain/result.js';

export const CONNECT_ADVISORY = 'io.nats.server.advisory.v1.client_connect';
export const DISCONNECT_ADVISORY = 'io.nats.server.advisory.v1.client_disconnect';

export interface ConnAdvisory {
  readonly kind: 'connect' | 'disconnect';
  readonly conn: ConnId;
  /** The server's reason on a disconnect (`Client Closed`, `Stale Connection`, …). */
  readonly reason?: string;
  /** The server's `timestamp` (ms since the epoch) when present: diagnostics only, never a verdict. */
  readonly at?: number;
}

const dec = new TextDecoder('utf-8', { fatal: true });

export function decodeConnAdvisory(bytes: Uint8Array): Result<ConnAdvisory> {
  let o: unknown;
  try {
    o = JSON.parse(dec.decode(bytes));
  } catch {
    return { ok: false, error: 'not UTF-8 JSON' };
  }
  if (typeof o !== 'object' || o === null) return { ok: false, error: 'not an object' };
  const { type, server, client, reason, timestamp } = o as Record<string, unknown>;
  const kind = type === CONNECT_ADVISORY ? 'connect' : type === DISCONNECT_ADVISORY ? 'disconnect' : undefined;
  if (!kind) return { ok: false, error: `not a connect/disconnect advisory: ${String(type)}` };
  const sid = (server as Record<string, unknown> | null)?.id;
  const c = client as Record<string, unknown> | null;
  if (typeof sid !== 'string' || sid.length === 0) return { ok: false, error: 'server.id missing' };
  if (typeof c?.id !== 'number' || !Number.isSafeInteger(c.id)) return { ok: false, error: 'client.id missing' };
  // A client without a name cannot be one of ours (the speaker always names its connections).
  const name = typeof c.name === 'string' ? c.name : '';
  const conn: ConnId = { s: sid, c: c.id, n: name };
  const at = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN;
  return {
    ok: true,
    value: { kind, conn, ...(typeof reason === 'string' ? { reason } : {}), ...(Number.isFinite(at) ? { at } : {}) },
  };
}

/** Encodes an advisory with the fields above (the simulator's servers, tests). */
export function encodeConnAdvisory(a: ConnAdvisory): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      type: a.kind === 'connect' ? CONNECT_ADVISORY : DISCONNECT_ADVISORY,
      server: { id: a.conn.s },
      client: { id: a.conn.c, name: a.conn.n },
      ...(a.reason ? { reason: a.reason } : {}),
    }),
  );
}
