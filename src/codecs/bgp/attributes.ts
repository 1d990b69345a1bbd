// Path attributes (RFC 4271 §4.3, §5; RFC 1997 communities; RFC 8092 large communities;
// RFC 4760 MP_REACH/MP_UNREACH; RFC 6793 AS4_PATH) with RFC 7606 error handling per attribute.
//
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |O|T|P|E| unused|  Type code    | Length (1 octet, or 2 if E)   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Value ...
import { bytesToIp, ipToBytes, u16, u32, Writer } from './bytes.js';
import { readPrefixes, writePrefix, type ParsedPrefix } from './prefix.js';
import { Afi, ErrorCode, Treatment, UpdateSubcode, type BgpError, type EncodeError, type Result, fail, ok } from './types.js';

export const AttrFlag = { optional: 0x80, transitive: 0x40, partial: 0x20, extendedLength: 0x10 } as const;
export const AttrType = {
  origin: 1,
  asPath: 2,
  nextHop: 3,
  med: 4,
  localPref: 5,
  atomicAggregate: 6,
  aggregator: 7,
  communities: 8,
  mpReach: 14,
  mpUnreach: 15,
  as4Path: 17,
  as4Aggregator: 18,
  largeCommunity: 32,
} as const;
export const Origin = { igp: 0, egp: 1, incomplete: 2 } as const;
export const AsSegment = { set: 1, sequence: 2 } as const;

export interface AsPathSegment {
  readonly type: number;
  readonly asns: readonly number[];
}
export type LargeCommunity = readonly [number, number, number];
export interface MpReach {
  readonly afi: number;
  readonly safi: number;
  readonly nextHops: readonly string[];
  readonly nlri: readonly string[];
}
export interface MpUnreach {
  readonly afi: number;
  readonly safi: number;
  readonly withdrawn: readonly string[];
}
export interface RawAttribute {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
}

export interface PathAttributes {
  readonly origin?: number;
  readonly asPath?: readonly AsPathSegment[];
  readonly nextHop?: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  readonly aggregator?: { readonly asn: number; readonly address: string };
  /** RFC 1997 values as 32-bit numbers (high 16 bits = AS). */
  readonly communities?: readonly number[];
  readonly largeCommunities?: readonly LargeCommunity[];
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
  readonly as4Path?: readonly AsPathSegment[];
  /** Attributes we do not interpret (optional ones are passed on as RFC 4271 §5 says). */
  readonly unknown?: readonly RawAttribute[];
}

export interface DecodeContext {
  /** 4-octet AS negotiated (RFC 6793): AS_PATH carries 4-octet ASNs. */
  readonly as4: boolean;
  /** eBGP session: LOCAL_PREF from it is discarded (RFC 7606 §7.5). */
  readonly ebgp?: boolean;
}

/** Expected O/T flag bits for each well-known or known optional attribute (RFC 7606 §3 c). */
const EXPECTED_FLAGS: Record<number, number> = {
  [AttrType.origin]: AttrFlag.transitive,
  [AttrType.asPath]: AttrFlag.transitive,
  [AttrType.nextHop]: AttrFlag.transitive,
  [AttrType.med]: AttrFlag.optional,
  [AttrType.localPref]: AttrFlag.transitive,
  [AttrType.atomicAggregate]: AttrFlag.transitive,
  [AttrType.aggregator]: AttrFlag.optional | AttrFlag.transitive,
  [AttrType.communities]: AttrFlag.optional | AttrFlag.transitive,
  [AttrType.mpReach]: AttrFlag.optional,
  [AttrType.mpUnreach]: AttrFlag.optional,
  [AttrType.as4Path]: AttrFlag.optional | AttrFlag.transitive,
  [AttrType.as4Aggregator]: AttrFlag.optional | AttrFlag.transitive,
  [AttrType.largeCommunity]: AttrFlag.optional | AttrFlag.transitive,
};

/** RFC 7606 §7: the treatment for a malformed instance of each attribute. */
const TREATMENT: Record<number, Treatment> = {
  [AttrType.origin]: Treatment.treatAsWithdraw,
  [AttrType.asPath]: Treatment.treatAsWithdraw,
  [AttrType.nextHop]: Treatment.treatAsWithdraw,
  [AttrType.med]: Treatment.treatAsWithdraw,
  [AttrType.localPref]: Treatment.treatAsWithdraw,
  [AttrType.atomicAggregate]: Treatment.attributeDiscard,
  [AttrType.aggregator]: Treatment.attributeDiscard,
  [AttrType.communities]: Treatment.treatAsWithdraw,
  [AttrType.mpReach]: Treatment.sessionReset,
  [AttrType.mpUnreach]: Treatment.sessionReset,
  [AttrType.as4Path]: Treatment.attributeDiscard,
  [AttrType.as4Aggregator]: Treatment.attributeDiscard,
  [AttrType.largeCommunity]: Treatment.treatAsWithdraw,
};

/** The attribute's own bytes (flags, type, length, value) as NOTIFICATION data (RFC 4271 §6.3). */
function attrData(flags: number, type: number, value: Uint8Array): Uint8Array {
  const w = new Writer(value.length + 4).u8(flags).u8(type);
  if (flags & AttrFlag.extendedLength) w.u16(value.length);
  else w.u8(value.length);
  return w.bytes(value).finish();
}

function attrError(type: number, flags: number, value: Uint8Array, subcode: number, message: string): BgpError {
  return {
    code: ErrorCode.update,
    subcode,
    data: attrData(flags, type, value),
    treatment: TREATMENT[type] ?? Treatment.sessionReset,
    message,
  };
}

function decodeAsPath(v: Uint8Array, width: 2 | 4): AsPathSegment[] | undefined {
  const segs: AsPathSegment[] = [];
  let i = 0;
  while (i < v.length) {
    if (i + 2 > v.length) return undefined;
    const type = v[i] as number;
    const n = v[i + 1] as number;
    // RFC 7606 §7.2: unknown segment type, zero length or overrun is malformed.
    if (type < 1 || type > 4 || n === 0 || i + 2 + n * width > v.length) return undefined;
    const asns: number[] = [];
    for (let k = 0; k < n; k++) asns.push(width === 4 ? u32(v, i + 2 + k * 4) : u16(v, i + 2 + k * 2));
    segs.push({ type, asns });
    i += 2 + n * width;
  }
  return segs;
}

function encodeAsPath(segs: readonly AsPathSegment[], width: 2 | 4): Uint8Array {
  const w = new Writer(16);
  for (const s of segs) {
    w.u8(s.type).u8(s.asns.length);
    for (const a of s.asns)
      if (width === 4) w.u32(a);
      else w.u16(a > 0xffff ? 23456 : a);
  }
  return w.finish();
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface AttributesDecoded {
  readonly attrs: PathAttributes;
  /** RFC 7606 attribute-discard and treat-as-withdraw errors found (session-reset errors fail instead). */
  readonly errors: readonly BgpError[];
}

/**
 * Decodes the path attribute field. Session-reset errors return `ok:false`; softer errors are
 * collected so the caller can withdraw or discard (RFC 7606 §2).
 */
export function decodeAttributes(b: Uint8Array, ctx: DecodeContext): Result<AttributesDecoded> {
  const a: Mutable<PathAttributes> & { unknown: RawAttribute[] } = { unknown: [] };
  const errors: BgpError[] = [];
  const seen = new Set<number>();
  let i = 0;
  while (i < b.length) {
    if (i + 3 > b.length) {
      // §4: attribute boundaries lost; treat-as-withdraw (the NLRI field is still delimited).
      errors.push({
        code: ErrorCode.update,
        subcode: UpdateSubcode.attributeLength,
        data: new Uint8Array(0),
        treatment: Treatment.treatAsWithdraw,
        message: 'attribute header truncated',
      });
      break;
    }
    const flags = b[i] as number;
    const type = b[i + 1] as number;
    const ext = (flags & AttrFlag.extendedLength) !== 0;
    if (ext && i + 4 > b.length) {
      errors.push({
        code: ErrorCode.update,
        subcode: UpdateSubcode.attributeLength,
        data: new Uint8Array(0),
        treatment: Treatment.treatAsWithdraw,
        message: 'attribute header truncated',
      });
      break;
    }
    const len = ext ? u16(b, i + 2) : (b[i + 2] as number);
    const hdr = ext ? 4 : 3;
    if (i + hdr + len > b.length) {
      const t = type === AttrType.mpReach || type === AttrType.mpUnreach ? Treatment.sessionReset : Treatment.treatAsWithdraw;
      if (t === Treatment.sessionReset)
        return fail(ErrorCode.update, UpdateSubcode.attributeLength, `attribute ${type} overruns the attribute field`, b.slice(i));
      errors.push({
        code: ErrorCode.update,
        subcode: UpdateSubcode.attributeLength,
        data: b.slice(i),
        treatment: t,
        message: `attribute ${type} overruns the attribute field`,
      });
      break;
    }
    const v = b.subarray(i + hdr, i + hdr + len);
    i += hdr + len;
    // §3 g: a repeated MP attribute resets; other repeats are discarded.
    if (seen.has(type)) {
      if (type === AttrType.mpReach || type === AttrType.mpUnreach)
        return fail(ErrorCode.update, UpdateSubcode.malformedAttributeList, `attribute ${type} repeated`);
      errors.push({
        ...attrError(type, flags, v, UpdateSubcode.malformedAttributeList, `attribute ${type} repeated`),
        treatment: Treatment.attributeDiscard,
      });
      continue;
    }
    seen.add(type);
    const expected = EXPECTED_FLAGS[type];
    if (expected !== undefined && (flags & (AttrFlag.optional | AttrFlag.transitive)) !== expected) {
      const e = attrError(type, flags, v, UpdateSubcode.attributeFlags, `attribute ${type} flags 0x${flags.toString(16)}`);
      if (e.treatment === Treatment.sessionReset) return { ok: false, error: e };
      errors.push(e);
      continue;
    }
    const bad = (subcode: number, message: string): Result<never> | undefined => {
      const e = attrError(type, flags, v, subcode, message);
      if (e.treatment === Treatment.sessionReset) return { ok: false, error: e };
      errors.push(e);
      return undefined;
    };
    switch (type) {
      case AttrType.origin:
        if (len !== 1) {
          const r = bad(UpdateSubcode.attributeLength, `ORIGIN length ${len}`);
          if (r) return r;
          break;
        }
        if ((v[0] as number) > 2) {
          const r = bad(UpdateSubcode.invalidOrigin, `ORIGIN value ${v[0]}`);
          if (r) return r;
          break;
        }
        a.origin = v[0] as number;
        break;
      case AttrType.asPath: {
        const segs = decodeAsPath(v, ctx.as4 ? 4 : 2);
        if (!segs) {
          const r = bad(UpdateSubcode.malformedAsPath, 'AS_PATH malformed');
          if (r) return r;
          break;
        }
        a.asPath = segs;
        break;
      }
      case AttrType.as4Path: {
        const segs = decodeAsPath(v, 4);
        if (!segs) {
          const r = bad(UpdateSubcode.optionalAttribute, 'AS4_PATH malformed');
          if (r) return r;
          break;
        }
        a.as4Path = segs;
        break;
      }
      case AttrType.nextHop:
        if (len !== 4) {
          const r = bad(UpdateSubcode.attributeLength, `NEXT_HOP length ${len}`);
          if (r) return r;
          break;
        }
        a.nextHop = bytesToIp(v);
        break;
      case AttrType.med:
        if (len !== 4) {
          const r = bad(UpdateSubcode.attributeLength, `MED length ${len}`);
          if (r) return r;
          break;
        }
        a.med = u32(v, 0);
        break;
      case AttrType.localPref:
        if (ctx.ebgp) break; // §7.5: ignored from an external peer.
        if (len !== 4) {
          const r = bad(UpdateSubcode.attributeLength, `LOCAL_PREF length ${len}`);
          if (r) return r;
          break;
        }
        a.localPref = u32(v, 0);
        break;
      case AttrType.atomicAggregate:
        if (len !== 0) {
          const r = bad(UpdateSubcode.attributeLength, `ATOMIC_AGGREGATE length ${len}`);
          if (r) return r;
          break;
        }
        a.atomicAggregate = true;
        break;
      case AttrType.aggregator: {
        const w = ctx.as4 ? 8 : 6;
        if (len !== w) {
          const r = bad(UpdateSubcode.attributeLength, `AGGREGATOR length ${len}`);
          if (r) return r;
          break;
        }
        a.aggregator = { asn: ctx.as4 ? u32(v, 0) : u16(v, 0), address: bytesToIp(v.subarray(w - 4)) };
        break;
      }
      case AttrType.communities: {
        if (len === 0 || len % 4 !== 0) {
          const r = bad(UpdateSubcode.optionalAttribute, `COMMUNITIES length ${len}`);
          if (r) return r;
          break;
        }
        const cs: number[] = [];
        for (let k = 0; k < len; k += 4) cs.push(u32(v, k));
        a.communities = cs;
        break;
      }
      case AttrType.largeCommunity: {
        if (len === 0 || len % 12 !== 0) {
          const r = bad(UpdateSubcode.optionalAttribute, `LARGE_COMMUNITY length ${len}`);
          if (r) return r;
          break;
        }
        const cs: LargeCommunity[] = [];
        for (let k = 0; k < len; k += 12) cs.push([u32(v, k), u32(v, k + 4), u32(v, k + 8)]);
        a.largeCommunities = cs;
        break;
      }
      case AttrType.mpReach: {
        const r = decodeMpReach(v);
        if (!r.ok) return fail(ErrorCode.update, UpdateSubcode.optionalAttribute, r.error.message, attrData(flags, type, v));
        a.mpReach = r.value;
        break;
      }
      case AttrType.mpUnreach: {
        const r = decodeMpUnreach(v);
        if (!r.ok) return fail(ErrorCode.update, UpdateSubcode.optionalAttribute, r.error.message, attrData(flags, type, v));
        a.mpUnreach = r.value;
        break;
      }
      default:
        // RFC 4271 §6.3: an unrecognized well-known attribute is an error.
        if (!(flags & AttrFlag.optional))
          return fail(
            ErrorCode.update,
            UpdateSubcode.unrecognizedWellKnown,
            `unrecognized well-known attribute ${type}`,
            attrData(flags, type, v),
          );
        a.unknown.push({ flags, type, value: v.slice() });
    }
  }
  const { unknown, ...rest } = a;
  return ok({ attrs: unknown.length > 0 ? { ...rest, unknown } : rest, errors });
}

function decodeMpReach(v: Uint8Array): Result<MpReach> {
  if (v.length < 5) return fail(ErrorCode.update, UpdateSubcode.optionalAttribute, 'MP_REACH_NLRI too short');
  const afi = u16(v, 0);
  const safi = v[2] as number;
  const nhLen = v[3] as number;
  if (4 + nhLen + 1 > v.length) return fail(ErrorCode.update, UpdateSubcode.optionalAttribute, 'MP_REACH_NLRI next hop overruns');
  const nh = v.subarray(4, 4 + nhLen);
  const nextHops: string[] = [];
  // IPv6: 16 (global) or 32 (global + link-local) octets (RFC 2545 §3).
  if (nhLen === 4 || nhLen === 16) nextHops.push(bytesToIp(nh));
  else if (nhLen === 32) nextHops.push(bytesToIp(nh.subarray(0, 16)), bytesToIp(nh.subarray(16)));
  else if (afi === Afi.ipv4 || afi === Afi.ipv6)
    return fail(ErrorCode.update, UpdateSubcode.optionalAttribute, `MP_REACH_NLRI next hop length ${nhLen}`);
  const nlriBytes = v.subarray(4 + nhLen + 1);
  if (afi !== Afi.ipv4 && afi !== Afi.ipv6) return ok({ afi, safi, nextHops, nlri: [] });
  const p = readPrefixes(nlriBytes, afi, 'MP_REACH_NLRI');
  if (!p.ok) return p;
  return ok({ afi, safi, nextHops, nlri: p.value });
}

function decodeMpUnreach(v: Uint8Array): Result<MpUnreach> {
  if (v.length < 3) return fail(ErrorCode.update, UpdateSubcode.optionalAttribute, 'MP_UNREACH_NLRI too short');
  const afi = u16(v, 0);
  const safi = v[2] as number;
  if (afi !== Afi.ipv4 && afi !== Afi.ipv6) return ok({ afi, safi, withdrawn: [] });
  const p = readPrefixes(v.subarray(3), afi, 'MP_UNREACH_NLRI');
  if (!p.ok) return p;
  return ok({ afi, safi, withdrawn: p.value });
}

function writeAttr(w: Writer, flags: number, type: number, value: Uint8Array): void {
  if (value.length > 255)
    w.u8(flags | AttrFlag.extendedLength)
      .u8(type)
      .u16(value.length);
  else
    w.u8(flags & ~AttrFlag.extendedLength)
      .u8(type)
      .u8(value.length);
  w.bytes(value);
}

export interface EncodeContext {
  readonly as4: boolean;
}

/**
 * Encodes every attribute except MP_REACH/MP_UNREACH (those carry NLRI and are laid out by the
 * UPDATE builder), in type-code order as RFC 4271 §5 recommends.
 */
export function encodeAttributes(a: PathAttributes, ctx: EncodeContext): Result<Uint8Array, EncodeError> {
  const nextHop = a.nextHop === undefined ? undefined : ipv4Bytes(a.nextHop);
  if (nextHop === null) return encodeFail(`NEXT_HOP: not an IPv4 address: ${JSON.stringify(a.nextHop)}`);
  const aggregator = a.aggregator ? ipv4Bytes(a.aggregator.address) : undefined;
  if (aggregator === null) return encodeFail(`AGGREGATOR: not an IPv4 address: ${JSON.stringify(a.aggregator?.address)}`);
  const w = new Writer(64);
  const T = AttrFlag.transitive;
  const O = AttrFlag.optional;
  if (a.origin !== undefined) writeAttr(w, T, AttrType.origin, Uint8Array.of(a.origin));
  if (a.asPath !== undefined) writeAttr(w, T, AttrType.asPath, encodeAsPath(a.asPath, ctx.as4 ? 4 : 2));
  if (nextHop !== undefined) writeAttr(w, T, AttrType.nextHop, nextHop);
  if (a.med !== undefined) writeAttr(w, O, AttrType.med, new Writer(4).u32(a.med).finish());
  if (a.localPref !== undefined) writeAttr(w, T, AttrType.localPref, new Writer(4).u32(a.localPref).finish());
  if (a.atomicAggregate) writeAttr(w, T, AttrType.atomicAggregate, new Uint8Array(0));
  if (a.aggregator && aggregator) {
    const x = new Writer(8);
    if (ctx.as4) x.u32(a.aggregator.asn);
    else x.u16(a.aggregator.asn > 0xffff ? 23456 : a.aggregator.asn);
    writeAttr(w, O | T, AttrType.aggregator, x.bytes(aggregator).finish());
  }
  if (a.communities && a.communities.length > 0) {
    const x = new Writer(a.communities.length * 4);
    for (const c of a.communities) x.u32(c);
    writeAttr(w, O | T, AttrType.communities, x.finish());
  }
  // RFC 6793 §4.2.2: a 2-octet speaker sends AS4_PATH when the path holds 4-octet ASNs.
  const as4Path = a.as4Path ?? (!ctx.as4 && a.asPath?.some((s) => s.asns.some((n) => n > 0xffff)) ? a.asPath : undefined);
  if (as4Path && !ctx.as4) writeAttr(w, O | T, AttrType.as4Path, encodeAsPath(as4Path, 4));
  if (a.largeCommunities && a.largeCommunities.length > 0) {
    const x = new Writer(a.largeCommunities.length * 12);
    for (const [g, l1, l2] of a.largeCommunities) x.u32(g).u32(l1).u32(l2);
    writeAttr(w, O | T, AttrType.largeCommunity, x.finish());
  }
  for (const u of a.unknown ?? []) writeAttr(w, u.flags, u.type, u.value);
  return ok(w.finish());
}

const encodeFail = (message: string): { ok: false; error: EncodeError } => ({ ok: false, error: { message, prefixes: [] } });

/** The 4 octets of an IPv4 address, null when `s` is not one. */
function ipv4Bytes(s: string): Uint8Array | null {
  const b = ipToBytes(s);
  return b !== undefined && b.length === 4 ? b : null;
}

/** MP_REACH_NLRI with the given prefixes (already parsed) — used by the UPDATE builder. */
export function mpReachValue(
  afi: number,
  safi: number,
  nextHops: readonly string[],
  nlri: readonly ParsedPrefix[],
): Result<Uint8Array, EncodeError> {
  const nh: Uint8Array[] = [];
  for (const n of nextHops) {
    const b = ipToBytes(n);
    if (b === undefined) return encodeFail(`MP_REACH_NLRI next hop: not an IP address: ${JSON.stringify(n)}`);
    nh.push(b);
  }
  const w = new Writer(64).u16(afi).u8(safi);
  w.u8(nh.reduce((s, x) => s + x.length, 0));
  for (const x of nh) w.bytes(x);
  w.u8(0); // Reserved (RFC 4760 §3).
  for (const p of nlri) writePrefix(w, p);
  return ok(w.finish());
}

export function mpUnreachValue(afi: number, safi: number, withdrawn: readonly ParsedPrefix[]): Uint8Array {
  const w = new Writer(64).u16(afi).u8(safi);
  for (const p of withdrawn) writePrefix(w, p);
  return w.finish();
}

export { writeAttr };

/** RFC 1997 community from "65000:100" or a well-known name. */
export const WELL_KNOWN_COMMUNITIES: Readonly<Record<string, number>> = {
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
  NO_PEER: 0xffffff04,
  GRACEFUL_SHUTDOWN: 0xffff0000,
  BLACKHOLE: 0xffff029a,
};

export function parseCommunity(s: string): number | undefined {
  const wk = WELL_KNOWN_COMMUNITIES[s];
  if (wk !== undefined) return wk;
  const m = /^(\d+):(\d+)$/.exec(s);
  if (!m) return undefined;
  const hi = Number(m[1]);
  const lo = Number(m[2]);
  if (hi > 0xffff || lo > 0xffff) return undefined;
  return ((hi << 16) | lo) >>> 0;
}

/** RFC 8092 large community from "large:G:L1:L2" (MetalLB syntax) or "G:L1:L2". */
export function parseLargeCommunity(s: string): LargeCommunity | undefined {
  const m = /^(?:large:)?(\d+):(\d+):(\d+)$/.exec(s);
  if (!m) return undefined;
  const v = [Number(m[1]), Number(m[2]), Number(m[3])] as const;
  return v.every((n) => n <= 0xffffffff) ? v : undefined;
}
