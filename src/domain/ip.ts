// IP parsing for config: CIDRs and start-end ranges as bigint intervals with MetalLB's messages
// and the smallest covering prefix (for aggregation checks). Addresses are parsed and formatted by
// the allocator's codec (strict dotted quad, RFC 5952), so config and allocation agree. Pure.
import { parseIp, formatIp } from './allocator/ip.js';
import { familyBits, type IpFamily } from './ip-family.js';

/** The one IP family type (ip-family.ts), under the name this module's importers use. */
export type Family = IpFamily;
export interface IpInterval {
  family: Family;
  first: bigint;
  last: bigint;
}

export { parseIp, formatIp, familyBits };

export type ParsedRange =
  | { ok: true; interval: IpInterval; prefixLen?: number; /** the range as CIDRs (MetalLB summarises ranges) */ minPrefixLen: number }
  | { ok: false; message: string };

/** Smallest prefix length among the CIDRs that summarise [first, last]. */
function minPrefixOf(family: Family, first: bigint, last: bigint): number {
  const bits = familyBits(family);
  let best = bits;
  let cur = first;
  while (cur <= last) {
    let size = 0;
    while (size < bits && (cur & ((1n << BigInt(size + 1)) - 1n)) === 0n && cur + (1n << BigInt(size + 1)) - 1n <= last) size++;
    best = Math.min(best, bits - size);
    cur += 1n << BigInt(size);
    if (size === bits) break;
  }
  return best;
}

/** Parses "198.51.100.0/24" or "198.51.100.10-198.51.100.20" (MetalLB's ParseCIDR messages). */
export function parseRange(text: string): ParsedRange {
  if (!text.includes('-')) {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
    const ip = m ? parseIp(m[1] as string) : undefined;
    const len = m ? Number(m[2]) : NaN;
    if (!m || !ip || len > familyBits(ip.family)) return { ok: false, message: `invalid CIDR ${JSON.stringify(text)}` };
    const host = BigInt(familyBits(ip.family) - len);
    const first = (ip.value >> host) << host;
    return { ok: true, interval: { family: ip.family, first, last: first + (1n << host) - 1n }, prefixLen: len, minPrefixLen: len };
  }
  const [a = '', b = ''] = text.split('-', 2).length === 2 ? [text.slice(0, text.indexOf('-')), text.slice(text.indexOf('-') + 1)] : [];
  const start = parseIp(a);
  if (!start) return { ok: false, message: `invalid IP range ${JSON.stringify(text)}: invalid start IP ${JSON.stringify(a)}` };
  const end = parseIp(b);
  if (!end) return { ok: false, message: `invalid IP range ${JSON.stringify(text)}: invalid end IP ${JSON.stringify(b)}` };
  if (start.family !== end.family)
    return { ok: false, message: `invalid IP range ${JSON.stringify(text)}: start and end IPs are of different families` };
  if (start.value > end.value) {
    return {
      ok: false,
      message: `invalid IP range ${JSON.stringify(text)}: start IP ${JSON.stringify(a.trim())} is after the end IP ${JSON.stringify(b.trim())}`,
    };
  }
  return {
    ok: true,
    interval: { family: start.family, first: start.value, last: end.value },
    minPrefixLen: minPrefixOf(start.family, start.value, end.value),
  };
}

export const overlaps = (x: IpInterval, y: IpInterval): boolean => x.family === y.family && x.first <= y.last && y.first <= x.last;

/** Whether the CIDR or range `prefix` contains the address `ip` (IPv4 and IPv6). */
export function prefixContains(prefix: string, ip: string): boolean {
  const r = parseRange(prefix);
  const a = parseIp(ip);
  return r.ok && a !== undefined && r.interval.family === a.family && r.interval.first <= a.value && a.value <= r.interval.last;
}
