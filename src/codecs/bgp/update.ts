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
import { ipToBytes, u16, Writer } from './bytes.js';
import { isLinkLocalText } from '../../domain/ip-family.js';
import {
  AttrFlag,
  AttrType,
  decodeAttributes,
  encodeAttributes,
  mpReachValue,
  mpUnreachValue,
  writeAttr,
  type DecodeContext,
  type EncodeContext,
  type PathAttributes,
} from './attributes.js';
import { frame } from './header.js';
import { parsePrefixes, prefixWireLen, readPrefixes, writePrefix, type ParsedPrefix } from './prefix.js';
import {
  Afi,
  ErrorCode,
  HEADER_LEN,
  MAX_MESSAGE_LEN,
  MessageType,
  Safi,
  Treatment,
  UpdateSubcode,
  type BgpError,
  type EncodeError,
  type Result,
  fail,
  ok,
} from './types.js';

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
  if (2 + wLen + 2 > b.length)
    return fail(ErrorCode.update, UpdateSubcode.malformedAttributeList, `withdrawn length ${wLen} overruns the message`);
  const withdrawn = readPrefixes(b.subarray(2, 2 + wLen), Afi.ipv4, 'withdrawn routes');
  if (!withdrawn.ok) return withdrawn;
  const aLen = u16(b, 2 + wLen);
  const aStart = 4 + wLen;
  if (aStart + aLen > b.length)
    return fail(ErrorCode.update, UpdateSubcode.malformedAttributeList, `path attribute length ${aLen} overruns the message`);
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
      errors.push({
        code: ErrorCode.update,
        subcode: UpdateSubcode.missingWellKnown,
        data: Uint8Array.of(type),
        treatment: Treatment.treatAsWithdraw,
        message: `missing well-known attribute ${name}`,
      });
    }
  }
  const tw = errors.find((e) => e.treatment === Treatment.treatAsWithdraw);
  if (tw) {
    const all = [...withdrawn.value, ...nlri.value, ...(attrs.mpReach?.nlri ?? []), ...(attrs.mpUnreach?.withdrawn ?? [])];
    return { ok: false, error: { ...tw, withdraw: all } };
  }
  return ok({
    withdrawn: withdrawn.value,
    attrs,
    nlri: nlri.value,
    ...(errors.length > 0 ? { discarded: errors } : {}),
  });
}

/** The family an UPDATE marks as End-of-RIB, if it is one (RFC 4724 §2). */
export function endOfRibFamily(u: Update): Afi | undefined {
  const keys = Object.keys(u.attrs);
  if (u.withdrawn.length === 0 && u.nlri.length === 0 && keys.length === 0) return Afi.ipv4;
  if (
    u.withdrawn.length === 0 &&
    u.nlri.length === 0 &&
    keys.length === 1 &&
    u.attrs.mpUnreach &&
    u.attrs.mpUnreach.withdrawn.length === 0
  ) {
    const afi = u.attrs.mpUnreach.afi;
    return afi === Afi.ipv4 || afi === Afi.ipv6 ? afi : undefined;
  }
  return undefined;
}

/**
 * Encodes a single UPDATE body from its parts (no size check: use the builders for NLRI packing),
 * or says which input it cannot encode (a prefix that does not parse or is of the wrong family,
 * a next hop that is not an address): nothing is dropped silently.
 */
export function encodeUpdate(u: Update, ctx: EncodeContext): Result<Uint8Array, EncodeError> {
  const withdrawn = parsePrefixes(u.withdrawn, Afi.ipv4, 'withdrawn routes');
  if (!withdrawn.ok) return withdrawn;
  const nlri = parsePrefixes(u.nlri, Afi.ipv4, 'NLRI');
  if (!nlri.ok) return nlri;
  const attrs = encodeAttributes(u.attrs, ctx);
  if (!attrs.ok) return attrs;
  const w = new Writer(256);
  const wd = new Writer(64);
  for (const p of withdrawn.value) writePrefix(wd, p);
  w.u16(wd.length).bytes(wd.finish());
  const at = new Writer(128);
  at.bytes(attrs.value);
  const T = AttrFlag.optional;
  if (u.attrs.mpReach) {
    const m = u.attrs.mpReach;
    const reach = parsePrefixes(m.nlri, knownAfi(m.afi), 'MP_REACH_NLRI');
    if (!reach.ok) return reach;
    const v = mpReachValue(m.afi, m.safi, m.nextHops, reach.value);
    if (!v.ok) return v;
    writeAttr(at, T, AttrType.mpReach, v.value);
  }
  if (u.attrs.mpUnreach) {
    const m = u.attrs.mpUnreach;
    const unreach = parsePrefixes(m.withdrawn, knownAfi(m.afi), 'MP_UNREACH_NLRI');
    if (!unreach.ok) return unreach;
    writeAttr(at, T, AttrType.mpUnreach, mpUnreachValue(m.afi, m.safi, unreach.value));
  }
  w.u16(at.length).bytes(at.finish());
  for (const p of nlri.value) writePrefix(w, p);
  return ok(w.finish());
}

/** The AFI if it is one whose prefixes parsePrefix knows (IPv4, IPv6). */
const knownAfi = (afi: number): Afi | undefined => (afi === Afi.ipv4 || afi === Afi.ipv6 ? afi : undefined);

const MAX_BODY = MAX_MESSAGE_LEN - HEADER_LEN;

/** Splits prefixes into runs whose wire size fits `budget` bytes each. */
function chunkByBytes(prefixes: readonly ParsedPrefix[], budget: number): ParsedPrefix[][] {
  const out: ParsedPrefix[][] = [];
  let cur: ParsedPrefix[] = [];
  let used = 0;
  for (const p of prefixes) {
    const n = prefixWireLen(p.len);
    if (used + n > budget && cur.length > 0) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(p);
    used += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * Framed UPDATEs announcing `prefixes` (one family) with shared attributes, packed into as few
 * 4096-byte messages as fit. IPv4 with an IPv4 NEXT_HOP uses the NLRI field and NEXT_HOP; IPv6,
 * and IPv4 with an IPv6 next hop (RFC 8950 extended next hop: only on a session whose peer
 * advertised the capability for IPv4 unicast), use MP_REACH_NLRI, whose next hop is 16 octets
 * (`attrs.nextHop`), or 32 with `linkLocal` (global then link-local, RFC 2545 §3 / RFC 8950 §3).
 * Every prefix must parse and be of family `afi`: otherwise the error names those that are not
 * (`error.prefixes`) and nothing is built.
 */
export function buildAnnouncements(
  afi: Afi,
  prefixes: readonly string[],
  attrs: Omit<PathAttributes, 'mpReach' | 'mpUnreach'>,
  ctx: EncodeContext,
  linkLocal?: string,
): Result<Uint8Array[], EncodeError> {
  const parsed = parsePrefixes(prefixes, afi, 'NLRI');
  if (!parsed.ok) return parsed;
  if (parsed.value.length === 0) return ok([]);
  if (linkLocal !== undefined && !(isLinkLocalText(linkLocal) && ipToBytes(linkLocal)?.length === 16))
    return {
      ok: false,
      error: { message: `MP_REACH_NLRI link-local next hop: not an IPv6 link-local address: ${JSON.stringify(linkLocal)}`, prefixes: [] },
    };
  const v6NextHop = attrs.nextHop !== undefined && attrs.nextHop.includes(':');
  if (afi === Afi.ipv4 && linkLocal !== undefined && !v6NextHop)
    return {
      ok: false,
      error: { message: `IPv4 NLRI with a link-local next hop needs an IPv6 NEXT_HOP, got ${JSON.stringify(attrs.nextHop)}`, prefixes: [] },
    };
  const out: Uint8Array[] = [];
  if (afi === Afi.ipv4 && !v6NextHop) {
    const at = encodeAttributes(attrs, ctx);
    if (!at.ok) return at;
    for (const run of chunkByBytes(parsed.value, MAX_BODY - 4 - at.value.length)) {
      const w = new Writer(MAX_BODY).u16(0).u16(at.value.length).bytes(at.value);
      for (const p of run) writePrefix(w, p);
      out.push(frame(MessageType.update, w.finish()));
    }
    return ok(out);
  }
  const { nextHop, ...rest } = attrs;
  const at = encodeAttributes(rest, ctx);
  if (!at.ok) return at;
  const nextHops = nextHop ? [nextHop, ...(linkLocal !== undefined ? [linkLocal] : [])] : [];
  const mpFixed = 4 /* ext attr header */ + 5 + 16 * nextHops.length;
  for (const run of chunkByBytes(parsed.value, MAX_BODY - 4 - at.value.length - mpFixed)) {
    const v = mpReachValue(afi, Safi.unicast, nextHops, run);
    if (!v.ok) return v;
    const mp = new Writer(MAX_BODY);
    writeAttr(mp, AttrFlag.optional | AttrFlag.extendedLength, AttrType.mpReach, v.value);
    const attrBytes = at.value.length + mp.length;
    const w = new Writer(MAX_BODY).u16(0).u16(attrBytes).bytes(at.value).bytes(mp.finish());
    out.push(frame(MessageType.update, w.finish()));
  }
  return ok(out);
}

/**
 * Framed UPDATEs withdrawing `prefixes` (one family), packed; errors as buildAnnouncements. */
export function buildWithdrawals(afi: Afi, prefixes: readonly string[]): Result<Uint8Array[], EncodeError> {
  const parsed = parsePrefixes(prefixes, afi, 'withdrawn routes');
  if (!parsed.ok) return parsed;
  const out: Uint8Array[] = [];
  if (afi === Afi.ipv4) {
    for (const run of chunkByBytes(parsed.value, MAX_BODY - 4)) {
      const wd = new Writer(MAX_BODY);
      for (const p of run) writePrefix(wd, p);
      out.push(frame(MessageType.update, new Writer(MAX_BODY).u16(wd.length).bytes(wd.finish()).u16(0).finish()));
    }
    return ok(out);
  }
  for (const run of chunkByBytes(parsed.value, MAX_BODY - 4 - 4 - 3)) {
    const mp = new Writer(MAX_BODY);
    writeAttr(mp, AttrFlag.optional | AttrFlag.extendedLength, AttrType.mpUnreach, mpUnreachValue(afi, Safi.unicast, run));
    out.push(frame(MessageType.update, new Writer(MAX_BODY).u16(0).u16(mp.length).bytes(mp.finish()).finish()));
  }
  return ok(out);
}

/** End-of-RIB marker for a family (RFC 4724 §2). */
export function endOfRib(afi: Afi): Uint8Array {
  if (afi === Afi.ipv4) return frame(MessageType.update, Uint8Array.of(0, 0, 0, 0));
  const mp = new Writer(8);
  writeAttr(mp, AttrFlag.optional, AttrType.mpUnreach, Uint8Array.of(0, afi, Safi.unicast));
  return frame(MessageType.update, new Writer(16).u16(0).u16(mp.length).bytes(mp.finish()).finish());
}
