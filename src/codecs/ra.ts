// ICMPv6 Router Advertisement (RFC 4861 §4.2) for BGP unnumbered: a router running FRR with
// `neighbor <ifname> interface` sends RAs on the link and learns its neighbour's link-local
// address from the RAs it receives (FRR zebra's rtadv). The speaker reads the router's RAs to
// find the address to open the session to, and sends its own (router lifetime 0: it is no
// default router) so the router learns ours. Pure; decode never throws.
//
//  0        1        2                 4
// +--------+--------+-----------------+
// |  134   |   0    |    checksum     |
// +--------+--------+-----------------+
// |cur hop |M|O|    | router lifetime |
// +--------+--------+-----------------+
// |         reachable time (4)        |
// |         retrans timer (4)         |
// | options (source link-layer address, MTU, prefix information, ...)
import { macAt, putMac } from './ethernet.js';
import { NEXT_HEADER_ICMPV6, NdpOption, icmpv6Checksum, icmpv6Packet, parseIpv6, type Ipv6Packet } from './ndp.js';
import type { Result } from '../domain/result.js';

export const ROUTER_ADVERTISEMENT = 134;
const RA_LEN = 16;

export interface RouterAdvertisement {
  /** The sender: the router's link-local address (RFC 4861 §6.1.2: RAs come only from one). */
  readonly src: string;
  readonly curHopLimit: number;
  readonly managed: boolean;
  readonly other: boolean;
  /** Seconds; 0: the sender is not a default router (it may still be a BGP neighbour). */
  readonly routerLifetime: number;
  readonly reachableTime: number;
  readonly retransTimer: number;
  readonly sourceLinkAddr?: string;
}

/**
 * Decodes an IPv6 packet as a Router Advertisement with RFC 4861 §6.1.2's validity checks
 * (link-local source, hop limit 255, checksum, code 0, length, no zero-length option). A
 * well-formed ICMPv6 message of another type is `undefined` (not ours); an invalid RA is an error
 * (the caller counts and drops it).
 */
export function decodeRouterAdvertisement(ip: Ipv6Packet): Result<RouterAdvertisement | undefined> {
  if (ip.nextHeader !== NEXT_HEADER_ICMPV6) return { ok: true, value: undefined };
  const m = ip.payload;
  if (m.length < 4) return { ok: false, error: `icmpv6: ${m.length} bytes` };
  if (m[0] !== ROUTER_ADVERTISEMENT) return { ok: true, value: undefined };
  if (icmpv6Checksum(ip.srcBytes, ip.dstBytes, m) !== 0) return { ok: false, error: 'ra: bad checksum' };
  if (ip.hopLimit !== 255) return { ok: false, error: `ra: hop limit ${ip.hopLimit}, must be 255` };
  if (m[1] !== 0) return { ok: false, error: `ra: code ${m[1]}` };
  if (m.length < RA_LEN) return { ok: false, error: `ra: ${m.length} bytes, need ${RA_LEN}` };
  if (ip.srcBytes[0] !== 0xfe || (ip.srcBytes[1]! & 0xc0) !== 0x80) return { ok: false, error: `ra: source ${ip.src} is not link-local` };
  let lladdr: string | undefined;
  for (let off = RA_LEN; off < m.length;) {
    if (m.length - off < 2) return { ok: false, error: 'ra: truncated option header' };
    const otype = m[off]!;
    const olen = m[off + 1]! * 8;
    if (olen === 0) return { ok: false, error: 'ra: option length 0' };
    if (off + olen > m.length) return { ok: false, error: `ra: option ${otype} overruns message` };
    if (otype === NdpOption.sourceLinkAddr && olen >= 8 && lladdr === undefined) lladdr = macAt(m, off + 2);
    off += olen;
  }
  const u32 = (o: number) => ((m[o]! << 24) | (m[o + 1]! << 16) | (m[o + 2]! << 8) | m[o + 3]!) >>> 0;
  const ra: RouterAdvertisement = {
    src: ip.src,
    curHopLimit: m[4]!,
    managed: (m[5]! & 0x80) !== 0,
    other: (m[5]! & 0x40) !== 0,
    routerLifetime: (m[6]! << 8) | m[7]!,
    reachableTime: u32(8),
    retransTimer: u32(12),
  };
  return { ok: true, value: lladdr === undefined ? ra : { ...ra, sourceLinkAddr: lladdr } };
}

export interface RouterAdvertisementOut {
  readonly curHopLimit?: number;
  readonly routerLifetime?: number;
  readonly sourceLinkAddr?: string;
}

/**
 * An IPv6 packet (hop limit 255, checksum set) carrying a Router Advertisement from `src` (a
 * link-local address) to `dst` (usually ff02::1). Defaults: hop limit 64 (FRR's AdvCurHopLimit,
 * so its consistency check stays quiet), router lifetime 0, reachable time and retrans timer 0
 * (unspecified). Throws only on caller bugs (strings that are not IPv6 addresses / MACs).
 */
export function encodeRouterAdvertisement(src: string, dst: string, ra: RouterAdvertisementOut = {}): Uint8Array {
  const s = parseIpv6(src);
  const d = parseIpv6(dst);
  if (!s || !d) throw new TypeError(`encodeRouterAdvertisement: bad IPv6 ${src} / ${dst}`);
  return icmpv6Packet(s, d, RA_LEN + (ra.sourceLinkAddr === undefined ? 0 : 8), (m) => {
    m[0] = ROUTER_ADVERTISEMENT;
    m[4] = ra.curHopLimit ?? 64;
    const lifetime = ra.routerLifetime ?? 0;
    m[6] = lifetime >> 8;
    m[7] = lifetime & 0xff;
    if (ra.sourceLinkAddr !== undefined) {
      m[16] = NdpOption.sourceLinkAddr;
      m[17] = 1;
      putMac(m, 18, ra.sourceLinkAddr);
    }
  });
}
