// RFC 5881 §5 (GTSM, RFC 5082) for single-hop BFD: a received Control packet whose IPv4 TTL or
// IPv6 Hop Limit is not 255 MUST be discarded. Node's dgram does not hand us the received TTL
// (no IP_RECVTTL / IPV6_RECVHOPLIMIT ancillary data), so the kernel checks it: a classic BPF
// socket filter (SO_ATTACH_FILTER) on the receive socket reads the byte from the IP header
// (SKF_NET_OFF: negative offsets address the network header of a UDP socket's packet) and
//   - TTL/Hop Limit 255: keeps the whole datagram;
//   - anything else: trims it to the UDP header plus one byte.
// A 1-byte BFD datagram cannot be a Control packet (24 bytes at least), so the trimmed datagram
// still reaches us as a *mark*: the transport discards and counts it (reason `ttl`) without any
// per-packet cost for the good ones. Pure: the program as bytes; the adapter attaches it.
// Multi-hop sessions (RFC 5883 §5) cannot expect 255; there the floor is configured (MetalLB's
// BFDProfile minimumTtl, default 254): the filter keeps TTL/Hop Limit ≥ that floor instead.
import type { IpFamily } from '../../domain/ip-family.js';

/** One classic BPF instruction (struct sock_filter). */
export interface BpfInsn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

const BPF_LD_B_ABS = 0x30; // BPF_LD | BPF_B | BPF_ABS
const BPF_JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_JGE_K = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const BPF_RET_K = 0x06; // BPF_RET | BPF_K
/** SKF_NET_OFF (linux/filter.h): loads at this offset + n read byte n of the network header. */
export const SKF_NET_OFF = -0x100000;
const UDP_HEADER = 8;
/** Payload length of a datagram the filter marked (TTL/Hop Limit was not 255). */
export const GTSM_MARK_LENGTH = 1;
export const GTSM_TTL = 255;

/** Offset of TTL (IPv4 header byte 8) or Hop Limit (IPv6 header byte 7). */
export function ttlOffset(family: IpFamily): number {
  return family === 4 ? 8 : 7;
}

/**
 * The filter for a receive socket of `family`: TTL/Hop Limit exactly 255 (single hop), or at
 * least `minTtl` (multi-hop, 1–254).
 */
export function gtsmFilter(family: IpFamily, minTtl: number = GTSM_TTL): BpfInsn[] {
  const floor = Math.min(GTSM_TTL, Math.max(1, Math.trunc(minTtl)));
  return [
    { code: BPF_LD_B_ABS, jt: 0, jf: 0, k: (SKF_NET_OFF + ttlOffset(family)) >>> 0 },
    floor === GTSM_TTL ? { code: BPF_JEQ_K, jt: 0, jf: 1, k: GTSM_TTL } : { code: BPF_JGE_K, jt: 0, jf: 1, k: floor },
    { code: BPF_RET_K, jt: 0, jf: 0, k: 0xffffffff },
    { code: BPF_RET_K, jt: 0, jf: 0, k: UDP_HEADER + GTSM_MARK_LENGTH },
  ];
}

/** struct sock_filter[] in the host's byte order. */
export function encodeBpf(prog: readonly BpfInsn[], littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(8 * prog.length);
  const dv = new DataView(out.buffer);
  prog.forEach((p, i) => {
    dv.setUint16(i * 8, p.code, littleEndian);
    out[i * 8 + 2] = p.jt;
    out[i * 8 + 3] = p.jf;
    dv.setUint32(i * 8 + 4, p.k >>> 0, littleEndian);
  });
  return out;
}

/** A datagram the filter trimmed: its sender was not on the link (or spoofs from afar). */
export function isGtsmMark(payload: Uint8Array): boolean {
  return payload.length === GTSM_MARK_LENGTH;
}
