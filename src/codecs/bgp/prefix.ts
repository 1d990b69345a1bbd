// NLRI prefixes (RFC 4271 §4.3, RFC 4760 §5): length in bits, then the minimum number of octets.
//
//   +---------------------------+
//   |   Length (1 octet, bits)  |
//   +---------------------------+
//   |   Prefix (ceil(len/8))    |
//   +---------------------------+
//
// Prefixes are carried as canonical text ("203.0.113.7/32", "2001:db8:4:ff::1/128") so the
// advertisement diff can use them as map keys.
import type { Writer } from './bytes.js';
import { bytesToIp, ipToBytes } from './bytes.js';
import { Afi, type EncodeError, type Result, ok, fail, ErrorCode, UpdateSubcode } from './types.js';

export interface ParsedPrefix {
  readonly afi: Afi;
  readonly bytes: Uint8Array;
  readonly len: number;
}

/** Parses "addr/len" (host bits are cleared). */
export function parsePrefix(p: string): ParsedPrefix | undefined {
  const slash = p.lastIndexOf('/');
  const addr = slash < 0 ? p : p.slice(0, slash);
  const bytes = ipToBytes(addr);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  const len = slash < 0 ? max : Number(p.slice(slash + 1));
  if (!Number.isInteger(len) || len < 0 || len > max) return undefined;
  maskBytes(bytes, len);
  return { afi: bytes.length === 4 ? Afi.ipv4 : Afi.ipv6, bytes, len };
}

/**
 * Parses prefixes for encoding into `field` ("NLRI", "withdrawn routes", ...): all of them, of
 * family `afi` when given, or an error naming every prefix that is not.
 */
export function parsePrefixes(prefixes: readonly string[], afi: Afi | undefined, field: string): Result<ParsedPrefix[], EncodeError> {
  const out: ParsedPrefix[] = [];
  let bad: string[] | undefined;
  for (const p of prefixes) {
    const pp = parsePrefix(p);
    if (pp && (afi === undefined || pp.afi === afi)) out.push(pp);
    else (bad ??= []).push(p);
  }
  if (bad === undefined) return ok(out);
  const what = afi === undefined ? 'a prefix' : afi === Afi.ipv4 ? 'an IPv4 prefix' : 'an IPv6 prefix';
  return { ok: false, error: { message: `${field}: not ${what}: ${bad.map((p) => JSON.stringify(p)).join(', ')}`, prefixes: bad } };
}

function maskBytes(bytes: Uint8Array, len: number): void {
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, len - i * 8));
    bytes[i] = (bytes[i] ?? 0) & ((0xff << (8 - bits)) & 0xff);
  }
}

export function formatPrefix(afi: Afi, bytes: Uint8Array, len: number): string {
  const full = new Uint8Array(afi === Afi.ipv4 ? 4 : 16);
  full.set(bytes.subarray(0, full.length));
  maskBytes(full, len);
  return `${bytesToIp(full)}/${len}`;
}

/** Canonical text of a prefix, or undefined when it does not parse. */
export function canonicalPrefix(p: string): string | undefined {
  const pp = parsePrefix(p);
  return pp ? formatPrefix(pp.afi, pp.bytes, pp.len) : undefined;
}

/** Wire size of one encoded prefix. */
export const prefixWireLen = (len: number): number => 1 + ((len + 7) >> 3);

export function writePrefix(w: Writer, p: ParsedPrefix): void {
  w.u8(p.len);
  w.bytes(p.bytes.subarray(0, (p.len + 7) >> 3));
}

/**
 * Decodes a run of prefixes filling `b` exactly. A length beyond the family's maximum or a prefix
 * overrunning the field is RFC 7606 §5.3 "session reset" (the NLRI boundaries are lost).
 */
export function readPrefixes(b: Uint8Array, afi: Afi, what: string): Result<string[]> {
  const max = afi === Afi.ipv4 ? 32 : 128;
  const out: string[] = [];
  let i = 0;
  while (i < b.length) {
    const len = b[i] as number;
    if (len > max) return fail(ErrorCode.update, UpdateSubcode.invalidNetworkField, `${what}: prefix length ${len} > ${max}`);
    const n = (len + 7) >> 3;
    if (i + 1 + n > b.length) return fail(ErrorCode.update, UpdateSubcode.invalidNetworkField, `${what}: prefix overruns the field`);
    out.push(formatPrefix(afi, b.subarray(i + 1, i + 1 + n), len));
    i += 1 + n;
  }
  return ok(out);
}
