// State-feed payloads (domain/state-feed.ts) on core NATS: JSON in UTF-8. Decode never throws:
// anything malformed is `{ ok: false, error }` and the reader drops it.
//
// Formats (v 1; fields are only ever added, readers ignore fields they do not know):
//   feed.<node>  {v:1, node, inc, seq, transitions: TransitionRecord[], dropped?}
//                a record: {machine, id, node, from, to, event?, reason?, epoch?, service?, at}.
//                `event: "machine.added"` (from "none") tells of a machine that exists now without
//                having moved (a new Service's IP on a node not elected for it); `"machine.removed"`
//                (to "gone") of one that no longer exists.
//   snap.<node>  {v:1, node, inc, seq, at, machines: MachineState[]}, the answer to `snapreq.<node>`
//                a machine: {machine, id, state, reason?, epoch?, service?, since}. A speaker lists
//                EVERY machine it runs as it is now (each serviceIp of the configuration, elected
//                here or not, each BGP and BFD session), not only the ones that moved; `since` is
//                the time of its last record in that state, else the snapshot's `at`. A snapshot
//                is the whole set: a machine it does not list no longer exists.
//   The controller's feed (node "controller") has `allocation` records: id the Service key, from/to
//   its IPs joined by ",", reason "pool <name>" or why none.
import type { Result } from '../domain/result.js';
import { MACHINE_KINDS, type FeedMessage, type MachineState, type SnapshotMessage, type TransitionRecord } from '../domain/state-feed.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeFeed(m: FeedMessage | SnapshotMessage): Uint8Array {
  return enc.encode(JSON.stringify(m));
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): x is string => typeof x === 'string';
const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const optStr = (x: unknown) => x === undefined || str(x);
const optNum = (x: unknown) => x === undefined || num(x);

export function isTransitionRecord(x: unknown): x is TransitionRecord {
  return (
    isObj(x) &&
    MACHINE_KINDS.includes(x.machine as never) &&
    str(x.id) &&
    str(x.node) &&
    str(x.from) &&
    str(x.to) &&
    num(x.at) &&
    optStr(x.event) &&
    optStr(x.reason) &&
    optStr(x.service) &&
    optNum(x.epoch)
  );
}

function isMachineState(x: unknown): x is MachineState {
  return (
    isObj(x) &&
    MACHINE_KINDS.includes(x.machine as never) &&
    str(x.id) &&
    str(x.state) &&
    num(x.since) &&
    optStr(x.reason) &&
    optStr(x.service) &&
    optNum(x.epoch)
  );
}

function parse(data: Uint8Array): Result<Obj> {
  try {
    const x: unknown = JSON.parse(dec.decode(data));
    if (!isObj(x) || x.v !== 1 || !str(x.node) || !num(x.inc) || !num(x.seq)) return { ok: false, error: 'not a v1 feed payload' };
    return { ok: true, value: x };
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
}

export function decodeFeed(data: Uint8Array): Result<FeedMessage> {
  const r = parse(data);
  if (!r.ok) return r;
  const t = r.value.transitions;
  if (!Array.isArray(t) || !t.every(isTransitionRecord)) return { ok: false, error: 'bad transitions' };
  if (!optNum(r.value.dropped)) return { ok: false, error: 'bad dropped' };
  return { ok: true, value: r.value as unknown as FeedMessage };
}

export function decodeSnapshot(data: Uint8Array): Result<SnapshotMessage> {
  const r = parse(data);
  if (!r.ok) return r;
  const m = r.value.machines;
  if (!num(r.value.at) || !Array.isArray(m) || !m.every(isMachineState)) return { ok: false, error: 'bad machines' };
  return { ok: true, value: r.value as unknown as SnapshotMessage };
}
