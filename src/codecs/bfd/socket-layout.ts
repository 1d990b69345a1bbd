// Byte layouts for batched datagram I/O with sendmmsg(2)/recvmmsg(2) (adapters/bfd-mmsg.ts):
// socket addresses, IP_PKTINFO / IPV6_PKTINFO control messages, and the canonical text form of
// an address read from the wire. Linux, LP64, little-endian host fields (the adapter checks).
// Pure: no I/O.
//
//   struct sockaddr_in   { u16 family = 2;  be16 port; u8 addr[4]; u8 zero[8]; }            16 bytes
//   struct sockaddr_in6  { u16 family = 10; be16 port; u32 flowinfo; u8 addr[16]; u32 scope; } 28 bytes
//   struct cmsghdr       { size_t len; int level; int type; u8 data[]; }    header 16, data 8-aligned
//   struct in_pktinfo    { int ifindex; u8 spec_dst[4]; u8 addr[4]; }       IPPROTO_IP,   IP_PKTINFO 8
//   struct in6_pktinfo   { u8 addr[16]; int ifindex; }                      IPPROTO_IPV6, IPV6_PKTINFO 50
// Received: in_pktinfo.addr / in6_pktinfo.addr is the datagram's destination (our local address).
// Sent: in_pktinfo.spec_dst / in6_pktinfo.addr chooses the source address.
import type { IpFamily } from '../../domain/ip-family.js';

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOL_IP = 0;
export const SOL_IPV6 = 41;
export const IP_PKTINFO = 8;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const CMSG_HEADER = 16;
export const cmsgSpace = (n: number): number => CMSG_HEADER + ((n + 7) & ~7);
/** Control bytes one packet-info message takes when sending. */
export const pktinfoSpace = (family: IpFamily): number => cmsgSpace(family === 4 ? 12 : 20);

/** Address text → bytes (4 or 16), or undefined when it is not an IP literal. Scope ids dropped. */
export function parseAddress(text: string): Uint8Array | undefined {
  const s = text.replace(/%.*$/, '');
  if (!s.includes(':')) return parseV4(s);
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return undefined;
  let head = dbl >= 0 ? s.slice(0, dbl) : s;
  let tail = dbl >= 0 ? s.slice(dbl + 2) : '';
  const out = new Uint8Array(16);
  // An embedded IPv4 suffix takes the last two groups.
  let v4: Uint8Array | undefined;
  const last = dbl >= 0 ? tail : head;
  const lastColon = last.lastIndexOf(':');
  const lastPart = last.slice(lastColon + 1);
  if (lastPart.includes('.')) {
    v4 = parseV4(lastPart);
    if (!v4) return undefined;
    const rest = lastColon >= 0 ? last.slice(0, lastColon) : '';
    if (dbl >= 0) tail = rest;
    else head = rest;
  }
  const groups = (p: string): number[] | undefined => {
    if (p === '') return [];
    const out: number[] = [];
    for (const g of p.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  if (!h || !t) return undefined;
  const total = h.length + t.length + (v4 ? 2 : 0);
  if (dbl < 0 ? total !== 8 : total > 7) return undefined;
  const all = [...h, ...new Array<number>(8 - total).fill(0), ...t];
  for (let i = 0; i < all.length; i++) {
    out[2 * i] = all[i]! >> 8;
    out[2 * i + 1] = all[i]! & 0xff;
  }
  if (v4) out.set(v4, 12);
  return out;
}

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i]!)) return undefined;
    const v = Number(parts[i]);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/**
 * The address at `u8[off..]` (4 or 16 bytes) in the transport's canonical form
 * (actors/bfd-transport.actor.ts `canonicalAddress`): dotted IPv4, IPv4-mapped IPv6 folded to
 * IPv4, otherwise eight lowercase hex groups without leading zeros and without `::`.
 */
export function formatAddress(u8: Uint8Array, off: number, family: IpFamily): string {
  if (family === 4) return `${u8[off]}.${u8[off + 1]}.${u8[off + 2]}.${u8[off + 3]}`;
  let mapped = u8[off + 10] === 0xff && u8[off + 11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) if (u8[off + i] !== 0) mapped = false;
  if (mapped) return `${u8[off + 12]}.${u8[off + 13]}.${u8[off + 14]}.${u8[off + 15]}`;
  let s = '';
  for (let i = 0; i < 16; i += 2) {
    if (i > 0) s += ':';
    s += ((u8[off + i]! << 8) | u8[off + i + 1]!).toString(16);
  }
  return s;
}

/** Writes a sockaddr_in/_in6 for `addr` (4 or 16 bytes) and `port`; returns its length. */
export function writeSockaddr(u8: Uint8Array, off: number, addr: Uint8Array, port: number): number {
  const family = addr.length === 4 ? AF_INET : AF_INET6;
  const len = addr.length === 4 ? 16 : 28;
  u8.fill(0, off, off + len);
  u8[off] = family & 0xff;
  u8[off + 1] = family >> 8;
  u8[off + 2] = port >> 8;
  u8[off + 3] = port & 0xff;
  u8.set(addr, off + (addr.length === 4 ? 4 : 8));
  return len;
}

/** Family and port of the sockaddr at `off` (family undefined when neither AF_INET nor AF_INET6). */
export function sockaddrFamily(u8: Uint8Array, off: number): IpFamily | undefined {
  const f = u8[off]! | (u8[off + 1]! << 8);
  return f === AF_INET ? 4 : f === AF_INET6 ? 6 : undefined;
}
export function sockaddrPort(u8: Uint8Array, off: number): number {
  return (u8[off + 2]! << 8) | u8[off + 3]!;
}
/** Offset of the address bytes inside a sockaddr of `family`. */
export function sockaddrAddrOffset(family: IpFamily): number {
  return family === 4 ? 4 : 8;
}

/** Writes one packet-info control message choosing the source `addr`; returns its length (space). */
export function writePktinfo(u8: Uint8Array, off: number, addr: Uint8Array): number {
  const v4 = addr.length === 4;
  const data = v4 ? 12 : 20;
  const space = cmsgSpace(data);
  u8.fill(0, off, off + space);
  writeU32(u8, off, CMSG_HEADER + data); // cmsg_len (size_t; the high half stays 0)
  writeU32(u8, off + 8, v4 ? SOL_IP : SOL_IPV6);
  writeU32(u8, off + 12, v4 ? IP_PKTINFO : IPV6_PKTINFO);
  // in_pktinfo.ipi_spec_dst (bytes 4..8 of the data) / in6_pktinfo.ipi6_addr (bytes 0..16).
  u8.set(addr, off + CMSG_HEADER + (v4 ? 4 : 0));
  return space;
}

/**
 * Offset of the destination address in the received control bytes `u8[off, off+len)`, from
 * IP_PKTINFO / IPV6_PKTINFO, or -1 when there is none.
 */
export function findPktinfoAddr(u8: Uint8Array, off: number, len: number, family: IpFamily): number {
  let p = off;
  const end = off + len;
  while (p + CMSG_HEADER <= end) {
    const clen = readU32(u8, p);
    if (clen < CMSG_HEADER || p + clen > end) return -1;
    const level = readU32(u8, p + 8);
    const type = readU32(u8, p + 12);
    if (family === 4 && level === SOL_IP && type === IP_PKTINFO && clen >= CMSG_HEADER + 12) return p + CMSG_HEADER + 8;
    if (family === 6 && level === SOL_IPV6 && type === IPV6_PKTINFO && clen >= CMSG_HEADER + 20) return p + CMSG_HEADER;
    p += (clen + 7) & ~7;
  }
  return -1;
}

export function writeU32(u8: Uint8Array, off: number, v: number): void {
  u8[off] = v & 0xff;
  u8[off + 1] = (v >>> 8) & 0xff;
  u8[off + 2] = (v >>> 16) & 0xff;
  u8[off + 3] = (v >>> 24) & 0xff;
}
export function readU32(u8: Uint8Array, off: number): number {
  return (u8[off]! | (u8[off + 1]! << 8) | (u8[off + 2]! << 16) | (u8[off + 3]! << 24)) >>> 0;
}
