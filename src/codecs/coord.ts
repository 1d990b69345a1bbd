// Coordination payloads on core NATS (docs/coordination.md): heartbeats and ownership claims,
// JSON in UTF-8. Decode never throws: anything malformed is `{ ok: false, error }` and the
// receiver drops it (a peer on a different version must not crash us).
import type { Result } from '../domain/result.js';

export const COORD_VERSION = 1;

export interface Heartbeat {
  readonly v: 1;
  readonly node: string;
  /** Incarnation: chosen at process start, strictly greater on each restart of the node. */
  readonly inc: number;
  /** Sequence within the incarnation (gaps are fine, repeats and regressions are dropped). */
  readonly seq: number;
  /** Sender's heartbeat interval, so peers size their timeouts to it. */
  readonly intervalMs: number;
  /** Carrier up on at least one announcing interface. */
  readonly l2Ready: boolean;
  /** Planned handover in progress: peers elect around this node. */
  readonly draining: boolean;
  /**
   * The sender has heard its peers for a resync window since it (re)connected and may take IPs
   * over: an owner hands an IP to a returning node only once this is true (failback). Absent
   * (a sender before this field) = settled, which is how such a sender was treated.
   */
  readonly settled?: boolean;
  /**
   * The sender's NATS connections when it sent this (primary and mirror): server id, client id,
   * client name, as the servers' connect/disconnect advisories name them. Receivers treat "every
   * connection of the node is gone" as its death (src/domain/presence.ts). Absent: no fast path.
   */
  readonly conns?: readonly ConnId[];
}

/** One client connection as a NATS server identifies it (`server.id`, `client.id`, `client.name`). */
export interface ConnId {
  /** Server id (`nc.info.server_id`, the advisory's `server.id`). */
  readonly s: string;
  /** Client id on that server (`nc.info.client_id`, the advisory's `client.id`). */
  readonly c: number;
  /** Client name (stable across reconnects: `speaker-<node>`, `speaker-<node>-mirror`). */
  readonly n: string;
}

export interface Claim {
  readonly ip: string;
  readonly epoch: number;
}

/** Full list of IPs the node announces now (absent = not announced). */
export interface Claims {
  readonly v: 1;
  readonly node: string;
  readonly inc: number;
  readonly seq: number;
  readonly claims: readonly Claim[];
}

/** A decoded payload or why it does not decode (the one Result; the name stays for its importers). */
export type Decoded<T> = Result<T>;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function encodeHeartbeat(h: Heartbeat): Uint8Array {
  return enc.encode(JSON.stringify(h));
}

export function encodeClaims(c: Claims): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

function parse(bytes: Uint8Array): Decoded<Record<string, unknown>> {
  let text: string;
  try {
    text = dec.decode(bytes);
  } catch {
    return { ok: false, error: 'not UTF-8' };
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, error: 'not an object' };
  const o = v as Record<string, unknown>;
  if (o.v !== COORD_VERSION) return { ok: false, error: `unsupported version ${String(o.v)}` };
  return { ok: true, value: o };
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isName = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 253;

/** The sender fields every payload carries (node, incarnation, sequence). */
function sender(o: Record<string, unknown>): Decoded<{ node: string; inc: number; seq: number }> {
  if (!isName(o.node)) return { ok: false, error: 'node: missing or not a name' };
  if (!isCount(o.inc)) return { ok: false, error: 'inc: not a non-negative integer' };
  if (!isCount(o.seq)) return { ok: false, error: 'seq: not a non-negative integer' };
  return { ok: true, value: { node: o.node, inc: o.inc, seq: o.seq } };
}

export function decodeHeartbeat(bytes: Uint8Array): Decoded<Heartbeat> {
  const p = parse(bytes);
  if (!p.ok) return p;
  const o = p.value;
  const from = sender(o);
  if (!from.ok) return from;
  if (!isCount(o.intervalMs) || o.intervalMs === 0) return { ok: false, error: 'intervalMs: not a positive integer' };
  if (typeof o.l2Ready !== 'boolean') return { ok: false, error: 'l2Ready: not a boolean' };
  if (typeof o.draining !== 'boolean') return { ok: false, error: 'draining: not a boolean' };
  if (o.settled !== undefined && typeof o.settled !== 'boolean') return { ok: false, error: 'settled: not a boolean' };
  const base = { v: 1 as const, ...from.value, intervalMs: o.intervalMs, l2Ready: o.l2Ready, draining: o.draining };
  const withSettled = o.settled === undefined ? base : { ...base, settled: o.settled };
  if (o.conns === undefined) return { ok: true, value: withSettled };
  const conns = decodeConns(o.conns);
  return conns.ok ? { ok: true, value: { ...withSettled, conns: conns.value } } : conns;
}

function decodeConns(x: unknown): Decoded<ConnId[]> {
  if (!Array.isArray(x) || x.length > 8) return { ok: false, error: 'conns: not an array of at most 8' };
  const out: ConnId[] = [];
  for (const [i, c] of (x as unknown[]).entries()) {
    if (typeof c !== 'object' || c === null) return { ok: false, error: `conns[${i}]: not an object` };
    const { s, c: cid, n } = c as Record<string, unknown>;
    if (!isName(s) || !isCount(cid) || !isName(n)) return { ok: false, error: `conns[${i}]: want {s: server id, c: client id, n: name}` };
    out.push({ s, c: cid, n });
  }
  return { ok: true, value: out };
}

export function decodeClaims(bytes: Uint8Array): Decoded<Claims> {
  const p = parse(bytes);
  if (!p.ok) return p;
  const o = p.value;
  const from = sender(o);
  if (!from.ok) return from;
  if (!Array.isArray(o.claims)) return { ok: false, error: 'claims: not an array' };
  const claims: Claim[] = [];
  for (const [i, c] of (o.claims as unknown[]).entries()) {
    if (typeof c !== 'object' || c === null) return { ok: false, error: `claims[${i}]: not an object` };
    const { ip, epoch } = c as Record<string, unknown>;
    if (typeof ip !== 'string' || ip.length === 0 || ip.length > 45) return { ok: false, error: `claims[${i}].ip: not an address` };
    if (!isCount(epoch)) return { ok: false, error: `claims[${i}].epoch: not a non-negative integer` };
    claims.push({ ip, epoch });
  }
  return { ok: true, value: { v: 1, ...from.value, claims } };
}

/** Operator command (mooringctl drain/undrain) on `drain.<node>`. */
export interface DrainCommand {
  readonly v: 1;
  readonly node: string;
  readonly draining: boolean;
}

export function encodeDrain(d: DrainCommand): Uint8Array {
  return enc.encode(JSON.stringify(d));
}

export function decodeDrain(bytes: Uint8Array): Decoded<DrainCommand> {
  const p = parse(bytes);
  if (!p.ok) return p;
  const { node, draining } = p.value;
  if (!isName(node)) return { ok: false, error: 'node: missing or not a name' };
  if (typeof draining !== 'boolean') return { ok: false, error: 'draining: not a boolean' };
  return { ok: true, value: { v: 1, node, draining } };
}

/** KV value of an IP's epoch record: who took it over last, at which epoch. */
export interface EpochRecord {
  readonly epoch: number;
  readonly node: string;
}

export function encodeEpochRecord(r: EpochRecord): Uint8Array {
  return enc.encode(JSON.stringify({ v: COORD_VERSION, ...r }));
}

export function decodeEpochRecord(bytes: Uint8Array): Decoded<EpochRecord> {
  const p = parse(bytes);
  if (!p.ok) return p;
  const { epoch, node } = p.value;
  if (!isCount(epoch)) return { ok: false, error: 'epoch: not a non-negative integer' };
  if (!isName(node)) return { ok: false, error: 'node: missing or not a name' };
  return { ok: true, value: { epoch, node } };
}
