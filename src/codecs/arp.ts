// ARP for IPv4 over Ethernet (RFC 826), gratuitous ARP and probes (RFC 5227). Pure; decode never
// throws.
//
//   0       2       4   5   6       8                 14          18                24     28
//  +-------+-------+---+---+-------+-----------------+-----------+-----------------+------+
//  | htype | ptype |hln|pln|  op   | sender MAC      | sender IP | target MAC      |tgt IP|
//  +-------+-------+---+---+-------+-----------------+-----------+-----------------+------+
//  htype 1 (Ethernet), ptype 0x0800, hln 6, pln 4; op 1 request, 2 reply.
import { macAt, putMac } from './ethernet.js';
import type { Result } from '../domain/result.js';

export const ArpOp = { request: 1, reply: 2 } as const;
export type ArpOp = (typeof ArpOp)[keyof typeof ArpOp];

export interface ArpPacket {
  readonly op: ArpOp;
  readonly senderMac: string;
  /** Dotted quad. */
  readonly senderIp: string;
  readonly targetMac: string;
  readonly targetIp: string;
}

export const ARP_LEN = 28;

function ipv4At(b: Uint8Array, off: number): string {
  return `${b[off]!}.${b[off + 1]!}.${b[off + 2]!}.${b[off + 3]!}`;
}

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Dotted quad to 4 bytes, or undefined when not a valid IPv4 address. */
export function parseIpv4(s: string): Uint8Array | undefined {
  const m = V4_RE.exec(s);
  if (!m) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const n = Number(m[i + 1]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

export function decodeArp(b: Uint8Array): Result<ArpPacket> {
  // Ethernet pads short frames to 60 bytes: trailing bytes after the 28 are padding, not errors.
  if (b.length < ARP_LEN) return { ok: false, error: `arp: ${b.length} bytes, need ${ARP_LEN}` };
  const htype = (b[0]! << 8) | b[1]!;
  const ptype = (b[2]! << 8) | b[3]!;
  if (htype !== 1) return { ok: false, error: `arp: hardware type ${htype}, want 1 (Ethernet)` };
  if (ptype !== 0x0800) return { ok: false, error: `arp: protocol type 0x${ptype.toString(16)}, want 0x0800` };
  if (b[4] !== 6 || b[5] !== 4) return { ok: false, error: `arp: address lengths ${b[4]}/${b[5]}, want 6/4` };
  const op = (b[6]! << 8) | b[7]!;
  if (op !== ArpOp.request && op !== ArpOp.reply) return { ok: false, error: `arp: opcode ${op}` };
  return {
    ok: true,
    value: { op, senderMac: macAt(b, 8), senderIp: ipv4At(b, 14), targetMac: macAt(b, 18), targetIp: ipv4At(b, 24) },
  };
}

/** Encodes an ARP packet; throws only on caller bugs (addresses that are not MAC/IPv4 strings). */
export function encodeArp(p: ArpPacket): Uint8Array {
  const out = new Uint8Array(ARP_LEN);
  const sip = parseIpv4(p.senderIp);
  const tip = parseIpv4(p.targetIp);
  if (!sip || !tip) throw new TypeError(`encodeArp: bad IPv4 ${p.senderIp} / ${p.targetIp}`);
  out[1] = 1; // htype Ethernet
  out[2] = 0x08; // ptype IPv4
  out[4] = 6;
  out[5] = 4;
  out[7] = p.op;
  putMac(out, 8, p.senderMac);
  out.set(sip, 14);
  putMac(out, 18, p.targetMac);
  out.set(tip, 24);
  return out;
}
