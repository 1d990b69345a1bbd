// IP addresses as big integers: parsing (ipaddr.js, strict four-part decimal for IPv4), canonical
// formatting (dotted quad; RFC 5952 for IPv6, as Go's net.IP.String and Kubernetes print them),
// and pool address entries ("198.51.100.0/24", "198.51.100.10-198.51.100.20") as ranges.
//
// A range with avoidBuggyIPs is addressed through a dense index that skips every IPv4 address
// ending in .0 or .255 (the "buggy" ones that confuse smurf protection in old CPE firmware), so
// the free-space structure never has to hold or step over those holes.
import ipaddr from 'ipaddr.js';
import type { Result } from '../result.js';
import type { IpFamily } from '../ip-family.js';

export type { IpFamily };

export interface ParsedIp {
  readonly family: IpFamily;
  readonly value: bigint;
}

const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;

/** Strict dotted quad (no leading zeros, as Go since 1.17), without regexes: the hot path. */
function parseV4(s: string): bigint | undefined {
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return undefined;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined; // leading zero
      part = part * 10 + (c - 48);
      if (part > 255) return undefined;
      digits++;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return BigInt(v * 256 + part);
}

/** Parses one address; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is treated as IPv4, as Go does. */
export function parseIp(text: string): ParsedIp | undefined {
  const s = text.trim();
  if (!s.includes(':')) {
    const v = parseV4(s);
    return v === undefined ? undefined : { family: 4, value: v };
  }
  if (s === '' || s.includes('%') || s.includes('/')) return undefined;
  if (!ipaddr.isValid(s)) return undefined;
  if (!s.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(s)) return undefined;
  let addr = ipaddr.parse(s);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  }
  let v = 0n;
  for (const b of addr.toByteArray()) v = (v << 8n) | BigInt(b);
  return { family: addr.kind() === 'ipv4' ? 4 : 6, value: v };
}

export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952 §4.2: compress the longest run (leftmost on ties) of two or more zero groups.
  let bestStart = -1,
    bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Canonical text of an address, or undefined when it does not parse. */
export function canonicalIp(text: string): string | undefined {
  const p = parseIp(text);
  return p ? formatIp(p.family, p.value) : undefined;
}

/** An IPv4 address ending in .0 or .255 (MetalLB `ipConfusesBuggyFirmwares`); never IPv6. */
export function isBuggyIp(family: IpFamily, value: bigint): boolean {
  if (family !== 4) return false;
  const last = value & 255n;
  return last === 0n || last === 255n;
}

/** An inclusive address range of one family, from one entry of a pool's `addresses`. */
export interface AddressRange {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
  /** The entry as written in the pool, for messages. */
  readonly source: string;
}

export type ParseRangeResult = Result<AddressRange>;

/**
 * Parses a CIDR (host bits are masked, as Go's net.ParseCIDR does) or a `start-end` range
 * (both ends of one family, start <= end). Never throws.
 */
export function parseAddressEntry(entry: string): ParseRangeResult {
  const s = entry.trim();
  if (s.includes('-')) {
    const parts = s.split('-');
    if (parts.length !== 2) return { ok: false, error: `invalid IP range "${entry}"` };
    const a = parseIp(parts[0] ?? '');
    const b = parseIp(parts[1] ?? '');
    if (!a) return { ok: false, error: `invalid IP range "${entry}": invalid start IP "${(parts[0] ?? '').trim()}"` };
    if (!b) return { ok: false, error: `invalid IP range "${entry}": invalid end IP "${(parts[1] ?? '').trim()}"` };
    if (a.family !== b.family) return { ok: false, error: `invalid IP range "${entry}": start and end are of different families` };
    if (a.value > b.value) return { ok: false, error: `invalid IP range "${entry}": start IP is after the end IP` };
    return { ok: true, value: { family: a.family, first: a.value, last: b.value, source: s } };
  }
  const slash = s.indexOf('/');
  if (slash < 0)
    return {
      ok: false,
      error: `invalid CIDR "${entry}": expected a prefix like 198.51.100.0/24 or a range like 198.51.100.10-198.51.100.20`,
    };
  const ip = parseIp(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenText)) return { ok: false, error: `invalid CIDR "${entry}"` };
  const bits = ip.family === 4 ? 32 : 128;
  const len = Number(lenText);
  if (len > bits) return { ok: false, error: `invalid CIDR "${entry}": prefix length ${len} is longer than ${bits}` };
  const hostBits = BigInt(bits - len);
  const max = ip.family === 4 ? V4_MAX : V6_MAX;
  const hostMask = (1n << hostBits) - 1n;
  const first = ip.value & (max ^ hostMask);
  return { ok: true, value: { family: ip.family, first, last: first | hostMask, source: s } };
}

// Dense index over the non-buggy IPv4 addresses: each /24 contributes .1 to .254 (254 addresses).
function denseOf(v: bigint): bigint {
  return (v >> 8n) * 254n + (v & 255n) - 1n;
}
function undense(d: bigint): bigint {
  return (d / 254n) * 256n + (d % 254n) + 1n;
}

/**
 * Maps the usable addresses of a range onto indexes 0..size-1, in address order. With
 * `avoidBuggy` (IPv4 only) the .0/.255 addresses have no index.
 */
export class RangeIndex {
  readonly size: bigint;
  private readonly base: bigint;
  private readonly dense: boolean;

  constructor(
    readonly range: AddressRange,
    avoidBuggy: boolean,
  ) {
    this.dense = avoidBuggy && range.family === 4;
    if (!this.dense) {
      this.base = range.first;
      this.size = range.last - range.first + 1n;
      return;
    }
    let lo = range.first;
    if (isBuggyIp(4, lo)) lo += (lo & 255n) === 0n ? 1n : 2n;
    let hi = range.last;
    if (isBuggyIp(4, hi)) hi -= (hi & 255n) === 255n ? 1n : 2n;
    this.base = denseOf(lo);
    this.size = lo > hi ? 0n : denseOf(hi) - this.base + 1n;
  }

  /** Index of an address of this range, or undefined if it is outside it or unusable (buggy). */
  indexOf(value: bigint): bigint | undefined {
    if (value < this.range.first || value > this.range.last) return undefined;
    if (!this.dense) return value - this.base;
    if (isBuggyIp(4, value)) return undefined;
    return denseOf(value) - this.base;
  }

  addressAt(index: bigint): bigint {
    return this.dense ? undense(this.base + index) : this.base + index;
  }
}
