// IPv6 fixed header (RFC 8200 §3) and the two Neighbor Discovery messages the L2 announcer speaks
// (RFC 4861 §4.3 Neighbor Solicitation, §4.4 Neighbor Advertisement) with their link-layer address
// options (§4.6.1) and the ICMPv6 checksum over the IPv6 pseudo-header (RFC 4443 §2.3, RFC 8200
// §8.1). Pure; decode never throws.
//
// IPv6 header                         ICMPv6 NS (type 135)            ICMPv6 NA (type 136)
//  0      4        12        16        0    1    2        4            0    1    2        4
// +-------+--------+---------+        +----+----+--------+            +----+----+--------+
// |ver|tc |flow label        |        |type|code|checksum|            |type|code|checksum|
// +-------+--------+---------+        +----+----+--------+            +-+-+-+------------+
// |payload len|next|hop limit|        |    reserved (4)  |            |R|S|O| reserved   |
// +--------------------------+        +------------------+            +-+-+-+------------+
// | source address (16)      |        | target (16)      |            | target (16)      |
// | destination address (16) |        | options ...      |            | options ...      |
// +--------------------------+        +------------------+            +------------------+
// Option: type (1 source / 2 target link-layer address), length in units of 8 octets, value.
import { macAt, putMac } from './ethernet.js';
import type { Result } from '../domain/result.js';

export const IPV6_HEADER_LEN = 40;
export const NEXT_HEADER_ICMPV6 = 58;
export const Icmpv6Type = { neighborSolicitation: 135, neighborAdvertisement: 136 } as const;
export const NdpOption = { sourceLinkAddr: 1, targetLinkAddr: 2 } as const;

export const ALL_NODES = 'ff02::1';
export const UNSPECIFIED = '::';

export interface Ipv6Packet {
  readonly src: string;
  readonly dst: string;
  readonly nextHeader: number;
  readonly hopLimit: number;
  /** The payload as declared by the payload length field (link padding removed). */
  readonly payload: Uint8Array;
  /** Raw 16-byte addresses, for checksums and multicast MACs without re-parsing. */
  readonly srcBytes: Uint8Array;
  readonly dstBytes: Uint8Array;
}

export type NdpMessage =
  | { readonly kind: 'ns'; readonly target: string; readonly sourceLinkAddr?: string }
  | {
      readonly kind: 'na';
      readonly target: string;
      readonly router: boolean;
      readonly solicited: boolean;
      readonly override: boolean;
      readonly targetLinkAddr?: string;
    }
  /** Any other ICMPv6 message: well formed, not ours. */
  | { readonly kind: 'other'; readonly type: number };

const HEX4 = /^[0-9a-fA-F]{1,4}$/;

// Module-level helpers, not closures: this runs per frame and per announced IP.
function hexGroups(g: readonly number[], from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) out += i === from ? g[i]!.toString(16) : `:${g[i]!.toString(16)}`;
  return out;
}

function parseGroups(h: string): number[] | undefined {
  if (h === '') return [];
  const parts = h.split(':');
  const out: number[] = [];
  for (const p of parts) {
    if (!HEX4.test(p)) return undefined;
    out.push(parseInt(p, 16));
  }
  return out;
}

/** RFC 5952 text form of a 16-byte address (hex only, longest zero run compressed). */
export function ipv6At(b: Uint8Array, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let best = -1,
    bestLen = 1,
    run = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && g[i] === 0) {
      if (run < 0) run = i;
      continue;
    }
    if (run >= 0 && i - run > bestLen) {
      best = run;
      bestLen = i - run;
    }
    run = -1;
  }
  return best < 0 ? hexGroups(g, 0, 8) : `${hexGroups(g, 0, best)}::${hexGroups(g, best + bestLen, 8)}`;
}

/** IPv6 text (RFC 4291 §2.2, with `::` and a dotted-quad tail) to 16 bytes, or undefined. */
export function parseIpv6(s: string): Uint8Array | undefined {
  if (s.length > 45 || s.length < 2) return undefined;
  let text = s;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const q = text.slice(lastColon + 1).split('.');
    if (q.length !== 4 || q.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return undefined;
    const n = q.map(Number);
    tail.push((n[0]! << 8) | n[1]!, (n[2]! << 8) | n[3]!);
    text = `${text.slice(0, lastColon + 1)}0`; // placeholder group, dropped below
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !rest) return undefined;
  if (tail.length) (halves.length === 2 ? rest : head).pop();
  const given = head.length + rest.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
  const out = new Uint8Array(16);
  groups.forEach((x, i) => {
    out[2 * i] = x >> 8;
    out[2 * i + 1] = x & 0xff;
  });
  return out;
}

/** Canonical (RFC 5952) text of an IPv6 address, or undefined. */
export function normalizeIpv6(s: string): string | undefined {
  const b = parseIpv6(s);
  return b ? ipv6At(b, 0) : undefined;
}

/** Solicited-node multicast address ff02::1:ffXX:XXXX of an address (RFC 4291 §2.7.1). */
export function solicitedNodeBytes(addr: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[0] = 0xff;
  out[1] = 0x02;
  out[11] = 0x01;
  out[12] = 0xff;
  out[13] = addr[13]!;
  out[14] = addr[14]!;
  out[15] = addr[15]!;
  return out;
}

/** Ethernet MAC of an IPv6 multicast address: 33:33 + its last 32 bits (RFC 2464 §7). */
export function multicastMac(addr: Uint8Array): string {
  const m = new Uint8Array(6);
  m[0] = 0x33;
  m[1] = 0x33;
  m.set(addr.subarray(12, 16), 2);
  return macAt(m, 0);
}

export function decodeIpv6(b: Uint8Array): Result<Ipv6Packet> {
  if (b.length < IPV6_HEADER_LEN) return { ok: false, error: `ipv6: ${b.length} bytes, need ${IPV6_HEADER_LEN}` };
  if (b[0]! >> 4 !== 6) return { ok: false, error: `ipv6: version ${b[0]! >> 4}` };
  const plen = (b[4]! << 8) | b[5]!;
  if (IPV6_HEADER_LEN + plen > b.length)
    return { ok: false, error: `ipv6: payload length ${plen} exceeds ${b.length - IPV6_HEADER_LEN} bytes` };
  const srcBytes = b.subarray(8, 24);
  const dstBytes = b.subarray(24, 40);
  return {
    ok: true,
    value: {
      src: ipv6At(b, 8),
      dst: ipv6At(b, 24),
      nextHeader: b[6]!,
      hopLimit: b[7]!,
      payload: b.subarray(IPV6_HEADER_LEN, IPV6_HEADER_LEN + plen),
      srcBytes,
      dstBytes,
    },
  };
}

/** The Internet checksum of the IPv6 pseudo-header plus `body` (RFC 8200 §8.1). */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, body: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 16; i += 2) sum += ((src[i]! << 8) | src[i + 1]!) + ((dst[i]! << 8) | dst[i + 1]!);
  sum += (body.length >>> 16) + (body.length & 0xffff) + NEXT_HEADER_ICMPV6;
  for (let i = 0; i + 1 < body.length; i += 2) sum += (body[i]! << 8) | body[i + 1]!;
  if (body.length & 1) sum += body[body.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function isUnspecified(a: Uint8Array): boolean {
  return a.every((x) => x === 0);
}

/**
 * Decodes the ICMPv6 payload of an IPv6 packet as NS/NA, applying RFC 4861 §7.1.1/§7.1.2
 * validity checks (hop limit 255, code 0, checksum, length, option lengths, no source link-layer
 * option from the unspecified address, target not multicast). Any other ICMPv6 type is `other`.
 */
export function decodeNdp(ip: Ipv6Packet): Result<NdpMessage> {
  if (ip.nextHeader !== NEXT_HEADER_ICMPV6) return { ok: false, error: `ndp: next header ${ip.nextHeader}, want 58` };
  const m = ip.payload;
  if (m.length < 4) return { ok: false, error: `icmpv6: ${m.length} bytes` };
  if (icmpv6Checksum(ip.srcBytes, ip.dstBytes, m) !== 0) return { ok: false, error: 'icmpv6: bad checksum' };
  const type = m[0]!;
  if (type !== Icmpv6Type.neighborSolicitation && type !== Icmpv6Type.neighborAdvertisement)
    return { ok: true, value: { kind: 'other', type } };
  if (ip.hopLimit !== 255) return { ok: false, error: `ndp: hop limit ${ip.hopLimit}, must be 255` };
  if (m[1] !== 0) return { ok: false, error: `ndp: code ${m[1]}` };
  if (m.length < 24) return { ok: false, error: `ndp: ${m.length} bytes, need 24` };
  if (m[8] === 0xff) return { ok: false, error: 'ndp: multicast target' };
  const target = ipv6At(m, 8);
  let lladdr: string | undefined;
  let llopt = 0;
  for (let off = 24; off < m.length;) {
    if (m.length - off < 2) return { ok: false, error: 'ndp: truncated option header' };
    const otype = m[off]!;
    const olen = m[off + 1]! * 8;
    if (olen === 0) return { ok: false, error: 'ndp: option length 0' };
    if (off + olen > m.length) return { ok: false, error: `ndp: option ${otype} overruns message` };
    if ((otype === NdpOption.sourceLinkAddr || otype === NdpOption.targetLinkAddr) && olen >= 8) {
      // Ethernet link-layer address options are 8 bytes; the first one of the expected kind wins.
      const want = type === Icmpv6Type.neighborSolicitation ? NdpOption.sourceLinkAddr : NdpOption.targetLinkAddr;
      if (otype === want && lladdr === undefined) {
        lladdr = macAt(m, off + 2);
        llopt = otype;
      }
    }
    off += olen;
  }
  if (type === Icmpv6Type.neighborSolicitation) {
    if (isUnspecified(ip.srcBytes) && llopt !== 0) return { ok: false, error: 'ndp: NS from :: with source link-layer option' };
    return { ok: true, value: lladdr === undefined ? { kind: 'ns', target } : { kind: 'ns', target, sourceLinkAddr: lladdr } };
  }
  const flags = m[4]!;
  const solicited = (flags & 0x40) !== 0;
  if (solicited && ip.dst.startsWith('ff')) return { ok: false, error: 'ndp: solicited NA to a multicast destination' };
  const na = { kind: 'na' as const, target, router: (flags & 0x80) !== 0, solicited, override: (flags & 0x20) !== 0 };
  return { ok: true, value: lladdr === undefined ? na : { ...na, targetLinkAddr: lladdr } };
}

export type NdpOut =
  | { readonly kind: 'ns'; readonly target: string; readonly sourceLinkAddr?: string }
  | {
      readonly kind: 'na';
      readonly target: string;
      readonly router?: boolean;
      readonly solicited: boolean;
      readonly override: boolean;
      readonly targetLinkAddr?: string;
    };

/**
 * Encodes an IPv6 packet carrying an NS or NA with hop limit 255 and a correct checksum. Throws
 * only on caller bugs (strings that are not IPv6 addresses / MACs).
 */
export function encodeNdp(src: string, dst: string, msg: NdpOut): Uint8Array {
  const s = parseIpv6(src);
  const d = parseIpv6(dst);
  const t = parseIpv6(msg.target);
  if (!s || !d || !t) throw new TypeError(`encodeNdp: bad IPv6 ${src} / ${dst} / ${msg.target}`);
  const ll = msg.kind === 'ns' ? msg.sourceLinkAddr : msg.targetLinkAddr;
  return icmpv6Packet(s, d, 24 + (ll === undefined ? 0 : 8), (m) => {
    if (msg.kind === 'ns') {
      m[0] = Icmpv6Type.neighborSolicitation;
    } else {
      m[0] = Icmpv6Type.neighborAdvertisement;
      m[4] = (msg.router ? 0x80 : 0) | (msg.solicited ? 0x40 : 0) | (msg.override ? 0x20 : 0);
    }
    m.set(t, 8);
    if (ll !== undefined) {
      m[24] = msg.kind === 'ns' ? NdpOption.sourceLinkAddr : NdpOption.targetLinkAddr;
      m[25] = 1;
      putMac(m, 26, ll);
    }
  });
}

/**
 * An IPv6 packet from `s` to `d` with hop limit 255 (neighbour discovery's rule, RFC 4861 §6.1)
 * carrying an ICMPv6 message of `bodyLen` bytes: `fill` writes the message (type, fields,
 * options), then its checksum is set. Used for NS/NA here and Router Advertisements (ra.ts).
 */
export function icmpv6Packet(s: Uint8Array, d: Uint8Array, bodyLen: number, fill: (m: Uint8Array) => void): Uint8Array {
  const out = new Uint8Array(IPV6_HEADER_LEN + bodyLen);
  out[0] = 0x60;
  out[4] = bodyLen >> 8;
  out[5] = bodyLen & 0xff;
  out[6] = NEXT_HEADER_ICMPV6;
  out[7] = 255;
  out.set(s, 8);
  out.set(d, 24);
  const m = out.subarray(IPV6_HEADER_LEN);
  fill(m);
  const ck = icmpv6Checksum(s, d, m);
  m[2] = ck >> 8;
  m[3] = ck & 0xff;
  return out;
}
