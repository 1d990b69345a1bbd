// UPDATE message (RFC 4271 §4.3), End-of-RIB (RFC 4724 §2) and the packing builder.
//
//   +-----------------------------------------------------+
//   |   Withdrawn Routes Length (2 octets)                |
//   +-----------------------------------------------------+
//   |   Withdrawn Routes (variable)                       |
//   +-----------------------------------------------------+
//   |   Total Path Attribute Length (2 octets)            |
//   +-----------------------------------------------------+
//   |   Path Attributes (variable)                        |
//   +-----------------------------------------------------+
//   |   Network Layer Reachability Information (variable) |
//   +-----------------------------------------------------+
// IPv6 routes travel in MP_REACH_NLRI / MP_UNREACH_NLRI attributes (RFC 4760).
import { u16, Writer } from './bytes.js';
import { AttrFlag, AttrType, decodeAttributes, encodeAttributes, mpReachValue, mpUnreachValue, writeAttr, type DecodeContext, type EncodeContext, type PathAttributes } from './attributes.js';
import { frame } from './header.js';
import { parsePrefix, prefixWireLen, readPrefixes, writePrefix, type ParsedPrefix } from './prefix.js';
import { Afi, ErrorCode, HEADER_LEN, MAX_MESSAGE_LEN, MessageType, Safi, Treatment, UpdateSubcode, type BgpError, type Result, fail, ok } from './types.js';

export interface Update {
  /** IPv4 withdrawn routes (the classic field). */
  readonly withdrawn: readonly string[];
  readonly attrs: PathAttributes;
  /** IPv4 NLRI (the classic field). */
  readonly nlri: readonly string[];
  /** RFC 7606 attribute-discard errors: those attributes were dropped, the rest stands. */
  readonly discarded?: readonly BgpError[];
}

/** A treat-as-withdraw error also lists every prefix the UPDATE touched (RFC 7606 §2). */
export type UpdateError = BgpError & { readonly withdraw?: readonly string[] };

export function decodeUpdate(b: Uint8Array, ctx: DecodeContext): Result<Update, UpdateError> {
  if (b.length < 4) return fail(ErrorCode.update, UpdateSubcode.malformedAttributeList, 'UPDATE shorter than 4 octets');
  const wLen = u16(b, 0);
  if (2 + wLen + 2 > b.length) return fail(ErrorCode.update, UpdateSubcode.malformedAttributeList, `withdrawn length ${wLen} overruns the message`);
  const withdrawn = readPrefixes(b.subarray(2, 2 + wLen), Afi.ipv4, 'withdrawn routes');
  if (!withdrawn.ok) return withdrawn;
  const aLen = u16(b, 2 + wLen);
  const aStart = 4 + wLen;
  if (aStart + aLen > b.length) return fail(ErrorCode.update, UpdateSubcode.malformedAttributeList, `path attribute length ${aLen} overruns the message`);
  const nlri = readPrefixes(b.subarray(aStart + aLen), Afi.ipv4, 'NLRI');
  if (!nlri.ok) return nlri;
  const dec = decodeAttributes(b.subarray(aStart, aStart + aLen), ctx);
  if (!dec.ok) return dec;
  const { attrs } = dec.value;
  const errors = [...dec.value.errors];
  // §3 d: missing well-known mandatory attributes when there is something to install.
  const reach = nlri.value.length > 0 || (attrs.mpReach?.nlri.length ?? 0) > 0;
  if (reach) {
    const missing: Array<[number, string]> = [];
    if (attrs.origin === undefined) missing.push([AttrType.origin, 'ORIGIN']);
    if (attrs.asPath === undefined) missing.push([AttrType.asPath, 'AS_PATH']);
    if (nlri.value.length > 0 && attrs.nextHop === undefined) missing.push([AttrType.nextHop, 'NEXT_HOP']);
    for (const [type, name] of missing) {
      errors.push({ code: ErrorCode.update, subcode: UpdateSubcode.missingWellKnown, data: Uint8Array.of(type), treatment: Treatment.treatAsWithdraw, message: `missing well-known attribute ${name}` });
    }
  }
  const tw = errors.find((e) => e.treatment === Treatment.treatAsWithdraw);
  if (tw) {
    const all = [...withdrawn.value, ...nlri.value, ...(attrs.mpReach?.nlri ?? []), ...(attrs.mpUnreach?.withdrawn ?? [])];
    return { ok: false, error: { ...tw, withdraw: all } };
  }
  return ok({
    withdrawn: withdrawn.value, attrs, nlri: nlri.value,
    ...(errors.length > 0 ? { discarded: errors } : {}),
  });
}

/** The family an UPDATE marks as End-of-RIB, if it is one (RFC 4724 §2). */
export function endOfRibFamily(u: Update): Afi | undefined {
  const keys = Object.keys(u.attrs);
  if (u.withdrawn.length === 0 && u.nlri.length === 0 && keys.length === 0) return Afi.ipv4;
  if (u.withdrawn.length === 0 && u.nlri.length === 0 && keys.length === 1 && u.attrs.mpUnreach && u.attrs.mpUnreach.withdrawn.length === 0) {
    const afi = u.attrs.mpUnreach.afi;
    return afi === Afi.ipv4 || afi === Afi.ipv6 ? afi : undefined;
  }
  return undefined;
}

/** Encodes a single UPDATE body from its parts (no size check: use the builders for NLRI packing). */
export function encodeUpdate(u: Update, ctx: EncodeContext): Uint8Array {
  const w = new Writer(256);
  const wd = new Writer(64);
  for (const p of u.withdrawn) { const pp = parsePrefix(p); if (pp) writePrefix(wd, pp); }
  w.u16(wd.length).bytes(wd.finish());
  const at = new Writer(128);
  at.bytes(encodeAttributes(u.attrs, ctx));
  const T = AttrFlag.optional;
  if (u.attrs.mpReach) {
    const m = u.attrs.mpReach;
    writeAttr(at, T, AttrType.mpReach, mpReachValue(m.afi, m.safi, m.nextHops, m.nlri.map(parsePrefix).filter((x): x is ParsedPrefix => !!x)));
  }
  if (u.attrs.mpUnreach) {
    const m = u.attrs.mpUnreach;
    writeAttr(at, T, AttrType.mpUnreach, mpUnreachValue(m.afi, m.safi, m.withdrawn.map(parsePrefix).filter((x): x is ParsedPrefix => !!x)));
  }
  w.u16(at.length).bytes(at.finish());
  for (const p of u.nlri) { const pp = parsePrefix(p); if (pp) writePrefix(w, pp); }
  return w.finish();
}

const MAX_BODY = MAX_MESSAGE_LEN - HEADER_LEN;

/** Splits prefixes into runs whose wire size fits `budget` bytes each. */
function chunkByBytes(prefixes: readonly ParsedPrefix[], budget: number): ParsedPrefix[][] {
  const out: ParsedPrefix[][] = [];
  let cur: ParsedPrefix[] = [];
  let used = 0;
  for (const p of prefixes) {
    const n = prefixWireLen(p.len);
    if (used + n > budget && cur.length > 0) { out.push(cur); cur = []; used = 0; }
    cur.push(p);
    used += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function parseAll(prefixes: readonly string[], afi: Afi): ParsedPrefix[] {
  const out: ParsedPrefix[] = [];
  for (const p of prefixes) { const pp = parsePrefix(p); if (pp && pp.afi === afi) out.push(pp); }
  return out;
}

/**
 * Framed UPDATEs announcing `prefixes` (one family) with shared attributes, packed into as few
 * 4096-byte messages as fit. IPv4 uses the NLRI field and NEXT_HOP; IPv6 uses MP_REACH_NLRI.
 */
export function buildAnnouncements(afi: Afi, prefixes: readonly string[], attrs: Omit<PathAttributes, 'mpReach' | 'mpUnreach'>, ctx: EncodeContext): Uint8Array[] {
  const parsed = parseAll(prefixes, afi);
  if (parsed.length === 0) return [];
  const out: Uint8Array[] = [];
  if (afi === Afi.ipv4) {
    const at = encodeAttributes(attrs, ctx);
    for (const run of chunkByBytes(parsed, MAX_BODY - 4 - at.length)) {
      const w = new Writer(MAX_BODY).u16(0).u16(at.length).bytes(at);
      for (const p of run) writePrefix(w, p);
      out.push(frame(MessageType.update, w.finish()));
    }
    return out;
  }
  const { nextHop, ...rest } = attrs;
  const at = encodeAttributes(rest, ctx);
  const nextHops = nextHop ? [nextHop] : [];
  const mpFixed = 4 /* ext attr header */ + 5 + 16 * nextHops.length;
  for (const run of chunkByBytes(parsed, MAX_BODY - 4 - at.length - mpFixed)) {
    const mp = new Writer(MAX_BODY);
    writeAttr(mp, AttrFlag.optional | AttrFlag.extendedLength, AttrType.mpReach, mpReachValue(afi, Safi.unicast, nextHops, run));
    const attrBytes = at.length + mp.length;
    const w = new Writer(MAX_BODY).u16(0).u16(attrBytes).bytes(at).bytes(mp.finish());
    out.push(frame(MessageType.update, w.finish()));
  }
  return out;
}

/** Framed UPDATEs withdrawing `prefixes` (one family), packed. */
export function buildWithdrawals(afi: Afi, prefixes: readonly string[]): Uint8Array[] {
  const parsed = parseAll(prefixes, afi);
  const out: Uint8Array[] = [];
  if (afi === Afi.ipv4) {
    for (const run of chunkByBytes(parsed, MAX_BODY - 4)) {
      const wd = new Writer(MAX_BODY);
      for (const p of run) writePrefix(wd, p);
      out.push(frame(MessageType.update, new Writer(MAX_BODY).u16(wd.length).bytes(wd.finish()).u16(0).finish()));
    }
    return out;
  }
  for (const run of chunkByBytes(parsed, MAX_BODY - 4 - 4 - 3)) {
    const mp = new Writer(MAX_BODY);
    writeAttr(mp, AttrFlag.optional | AttrFlag.extendedLength, AttrType.mpUnreach, mpUnreachValue(afi, Safi.unicast, run));
    out.push(frame(MessageType.update, new Writer(MAX_BODY).u16(0).u16(mp.length).bytes(mp.finish()).finish()));
  }
  return out;
}

/** End-of-RIB marker for a family (RFC 4724 §2). */
export function endOfRib(afi: Afi): Uint8Array {
  if (afi === Afi.ipv4) return frame(MessageType.update, Uint8Array.of(0, 0, 0, 0));
  const mp = new Writer(8);
  writeAttr(mp, AttrFlag.optional, AttrType.mpUnreach, Uint8Array.of(0, afi, Safi.unicast));
  return frame(MessageType.update, new Writer(16).u16(0).u16(mp.length).bytes(mp.finish()).finish());
}
