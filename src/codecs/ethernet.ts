// Ethernet II framing (IEEE 802.3 with EtherType) and MAC address helpers for the L2 announcer.
// Pure: bytes in, values out; decode never throws.
//
//   0                   6                   12      14 (18 with one 802.1Q tag)
//  +-------------------+-------------------+-------+---------------------------
//  | destination MAC   | source MAC        | type  | payload ...
//  +-------------------+-------------------+-------+---------------------------
//  With an 802.1Q tag, `type` is 0x8100 followed by TCI (PCP/DEI/VID) and the real EtherType.
import type { Result } from '../domain/result.js';

export const EtherType = { ipv4: 0x0800, arp: 0x0806, vlan: 0x8100, ipv6: 0x86dd } as const;

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
export const ZERO_MAC = '00:00:00:00:00:00';

export interface EthernetFrame {
  /** Lower-case, colon-separated. */
  readonly dst: string;
  readonly src: string;
  readonly etherType: number;
  /** 802.1Q VLAN id when the frame carried one tag. */
  readonly vlan?: number;
  readonly payload: Uint8Array;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Six bytes at `off` as `aa:bb:cc:dd:ee:ff`. */
export function macAt(b: Uint8Array, off: number): string {
  return `${HEX[b[off]!]}:${HEX[b[off + 1]!]}:${HEX[b[off + 2]!]}:${HEX[b[off + 3]!]}:${HEX[b[off + 4]!]}:${HEX[b[off + 5]!]}`;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function isMac(s: string): boolean {
  return MAC_RE.test(s);
}

/** Writes a MAC string into `b` at `off`; the caller validated it with isMac. */
export function putMac(b: Uint8Array, off: number, mac: string): void {
  for (let i = 0; i < 6; i++) b[off + i] = parseInt(mac.slice(i * 3, i * 3 + 2), 16);
}

export function decodeEthernet(b: Uint8Array): Result<EthernetFrame> {
  if (b.length < 14) return { ok: false, error: `ethernet: ${b.length} bytes, need 14` };
  let type = (b[12]! << 8) | b[13]!;
  let off = 14;
  let vlan: number | undefined;
  if (type === EtherType.vlan) {
    if (b.length < 18) return { ok: false, error: 'ethernet: truncated 802.1Q tag' };
    vlan = ((b[14]! << 8) | b[15]!) & 0x0fff;
    type = (b[16]! << 8) | b[17]!;
    off = 18;
  }
  // 802.3 length field (< 0x0600) means LLC framing, which neither ARP nor IPv6 uses here.
  if (type < 0x0600) return { ok: false, error: `ethernet: 802.3 length field ${type}, not an EtherType` };
  const frame: EthernetFrame = { dst: macAt(b, 0), src: macAt(b, 6), etherType: type, payload: b.subarray(off) };
  return { ok: true, value: vlan === undefined ? frame : { ...frame, vlan } };
}

export function encodeEthernet(f: { dst: string; src: string; etherType: number; vlan?: number; payload: Uint8Array }): Uint8Array {
  const hdr = f.vlan === undefined ? 14 : 18;
  const out = new Uint8Array(hdr + f.payload.length);
  putMac(out, 0, f.dst);
  putMac(out, 6, f.src);
  if (f.vlan !== undefined) {
    out[12] = 0x81;
    out[13] = 0x00;
    out[14] = (f.vlan >> 8) & 0x0f;
    out[15] = f.vlan & 0xff;
  }
  out[hdr - 2] = (f.etherType >> 8) & 0xff;
  out[hdr - 1] = f.etherType & 0xff;
  out.set(f.payload, hdr);
  return out;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += HEX[x]!;
  return s;
}

/** Hex string (whitespace and `#`-to-end-of-line comments ignored) to bytes: for fixtures. */
export function fromHex(s: string): Uint8Array {
  const clean = s.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  const out = new Uint8Array(clean.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}
