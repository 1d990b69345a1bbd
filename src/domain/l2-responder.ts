// The Layer 2 responder's decisions, as pure functions: a captured frame plus what this node owns
// on that interface in, the frames to inject and the facts seen (request, conflict, malformed)
// out. The pcap adapter and the announcer actor only move bytes and count. Reference behaviour:
// MetalLB speaker `internal/layer2` (arp.go, ndp.go) and RFC 826, RFC 5227, RFC 4861.
import { decodeEthernet, encodeEthernet, EtherType, BROADCAST_MAC, ZERO_MAC } from '../codecs/ethernet.js';
import { decodeArp, encodeArp, ArpOp } from '../codecs/arp.js';
import {
  decodeIpv6,
  decodeNdp,
  encodeNdp,
  multicastMac,
  parseIpv6,
  solicitedNodeBytes,
  ipv6At,
  ALL_NODES,
  UNSPECIFIED,
  NEXT_HEADER_ICMPV6,
} from '../codecs/ndp.js';

export interface ResponderView {
  /** Our MAC on this interface (lower-case, colon-separated). */
  readonly mac: string;
  /** Canonical IPs (dotted quad / RFC 5952) answered for on this interface. */
  readonly owned: ReadonlySet<string>;
  /** IPs not answered for yet but watched for conflicts (RFC 5227 probing). */
  readonly probing?: ReadonlySet<string>;
}

export interface L2Conflict {
  readonly ip: string;
  readonly mac: string;
}

export interface FrameOutcome {
  /** Ethernet frames to inject, in order. */
  readonly replies: readonly Uint8Array[];
  /** The owned IP a request (ARP request / NS) asked for: MetalLB's requests_received. */
  readonly requestFor?: string;
  /** Another station claims an IP we own or probe. */
  readonly conflict?: L2Conflict;
  /** Why the frame was dropped as malformed (counted, never thrown). */
  readonly malformed?: string;
}

const NOTHING: FrameOutcome = { replies: [] };
const ALL_NODES_MAC = '33:33:00:00:00:01';

function claimed(v: ResponderView, ip: string): boolean {
  return v.owned.has(ip) || (v.probing?.has(ip) ?? false);
}

/** Decides what to do with one captured frame. Never throws on any input bytes. */
export function respond(frame: Uint8Array, v: ResponderView): FrameOutcome {
  const eth = decodeEthernet(frame);
  if (!eth.ok) return { replies: [], malformed: eth.error };
  // Frames from our own MAC are our injections or the kernel's own traffic on this host.
  if (eth.value.src === v.mac) return NOTHING;
  const vlan = eth.value.vlan;
  if (eth.value.etherType === EtherType.arp) return respondArp(eth.value.payload, eth.value.src, vlan, v);
  if (eth.value.etherType === EtherType.ipv6) return respondNdp(eth.value.payload, eth.value.src, vlan, v);
  return NOTHING;
}

function respondArp(payload: Uint8Array, ethSrc: string, vlan: number | undefined, v: ResponderView): FrameOutcome {
  const r = decodeArp(payload);
  if (!r.ok) return { replies: [], malformed: r.error };
  const a = r.value;
  // A sender that is not us using an IP we own (reply, gratuitous ARP or an ordinary request) is
  // a conflict (RFC 5227 §2.1.1, §2.4). A probe (sender 0.0.0.0) claims nothing: it is answered.
  const conflict =
    a.senderIp !== '0.0.0.0' && a.senderMac !== v.mac && claimed(v, a.senderIp) ? { ip: a.senderIp, mac: a.senderMac } : undefined;
  // Gratuitous ARP (sender == target) announces, it does not ask.
  if (a.op !== ArpOp.request || a.senderIp === a.targetIp || !v.owned.has(a.targetIp)) {
    return conflict ? { replies: [], conflict } : NOTHING;
  }
  const reply = encodeArp({ op: ArpOp.reply, senderMac: v.mac, senderIp: a.targetIp, targetMac: a.senderMac, targetIp: a.senderIp });
  const frame = encodeEthernet({
    dst: ethSrc,
    src: v.mac,
    etherType: EtherType.arp,
    payload: reply,
    ...(vlan === undefined ? {} : { vlan }),
  });
  return conflict ? { replies: [frame], requestFor: a.targetIp, conflict } : { replies: [frame], requestFor: a.targetIp };
}

function respondNdp(payload: Uint8Array, ethSrc: string, vlan: number | undefined, v: ResponderView): FrameOutcome {
  const ip = decodeIpv6(payload);
  if (!ip.ok) return { replies: [], malformed: ip.error };
  if (ip.value.nextHeader !== NEXT_HEADER_ICMPV6) return NOTHING;
  const r = decodeNdp(ip.value);
  if (!r.ok) return { replies: [], malformed: r.error };
  const m = r.value;
  if (m.kind === 'other') return NOTHING;
  if (m.kind === 'na') {
    const mac = m.targetLinkAddr ?? ethSrc;
    return mac !== v.mac && claimed(v, m.target) ? { replies: [], conflict: { ip: m.target, mac } } : NOTHING;
  }
  // NS. A solicitation *from* an address we own is another station using it.
  const srcMac = m.sourceLinkAddr ?? ethSrc;
  const conflict =
    ip.value.src !== UNSPECIFIED && srcMac !== v.mac && claimed(v, ip.value.src) ? { ip: ip.value.src, mac: srcMac } : undefined;
  if (!v.owned.has(m.target)) return conflict ? { replies: [], conflict } : NOTHING;
  // RFC 4861 §7.2.4: to the soliciting unicast source with S=1; a DAD probe (source ::) gets a
  // multicast answer to all-nodes with S=0. Override is set: we are the authority for the VIP.
  const dad = ip.value.src === UNSPECIFIED;
  const dst = dad ? ALL_NODES : ip.value.src;
  const na = encodeNdp(m.target, dst, { kind: 'na', target: m.target, solicited: !dad, override: true, targetLinkAddr: v.mac });
  const frame = encodeEthernet({
    dst: dad ? ALL_NODES_MAC : srcMac,
    src: v.mac,
    etherType: EtherType.ipv6,
    payload: na,
    ...(vlan === undefined ? {} : { vlan }),
  });
  return conflict ? { replies: [frame], requestFor: m.target, conflict } : { replies: [frame], requestFor: m.target };
}

export function isIpv6(ip: string): boolean {
  return ip.includes(':');
}

/**
 * The takeover announcement for one IP: gratuitous ARP request and reply (both broadcast, target
 * MAC broadcast, as MetalLB sends them) or one unsolicited NA with Override to all-nodes.
 */
export function gratuitousFrames(ip: string, mac: string): Uint8Array[] {
  if (isIpv6(ip)) {
    const na = encodeNdp(ip, ALL_NODES, { kind: 'na', target: ip, solicited: false, override: true, targetLinkAddr: mac });
    return [encodeEthernet({ dst: ALL_NODES_MAC, src: mac, etherType: EtherType.ipv6, payload: na })];
  }
  return [ArpOp.request, ArpOp.reply].map((op) =>
    encodeEthernet({
      dst: BROADCAST_MAC,
      src: mac,
      etherType: EtherType.arp,
      payload: encodeArp({ op, senderMac: mac, senderIp: ip, targetMac: BROADCAST_MAC, targetIp: ip }),
    }),
  );
}

/**
 * A probe that makes any other holder of `ip` answer without claiming it ourselves: an ARP probe
 * (RFC 5227 §2.1.1, sender IP 0.0.0.0) or a DAD-style NS from :: to the solicited-node group.
 */
export function probeFrame(ip: string, mac: string): Uint8Array {
  if (isIpv6(ip)) {
    const sn = solicitedNodeBytes(parseIpv6(ip) ?? new Uint8Array(16));
    const ns = encodeNdp(UNSPECIFIED, ipv6At(sn, 0), { kind: 'ns', target: ip });
    return encodeEthernet({ dst: multicastMac(sn), src: mac, etherType: EtherType.ipv6, payload: ns });
  }
  return encodeEthernet({
    dst: BROADCAST_MAC,
    src: mac,
    etherType: EtherType.arp,
    payload: encodeArp({ op: ArpOp.request, senderMac: mac, senderIp: '0.0.0.0', targetMac: ZERO_MAC, targetIp: ip }),
  });
}

/** The Ethernet multicast MAC of the solicited-node group of an IPv6 address (to join on the NIC). */
export function solicitedNodeMac(ip: string): string | undefined {
  const b = parseIpv6(ip);
  return b ? multicastMac(solicitedNodeBytes(b)) : undefined;
}
