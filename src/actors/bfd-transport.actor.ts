// The BFD transport: one hub per speaker shares a datagram port (UDP 3784, see
// adapters/bfd-udp.ts) among all bfdSession machines. Incoming datagrams are decoded (codec,
// §6.8.6 packet checks) and demultiplexed per RFC 5880 §6.8.6: a nonzero Your Discriminator
// selects the session; a zero one selects it by source address (single hop, RFC 5881 §3).
// `hub.logic` is the `bfdTransport` actor the session machine invokes.
import { fromCallback } from 'xstate';
import { decodeControl, encodeControl, type BfdControlPacket } from '../codecs/bfd/control-packet.js';
import { isGtsmMark } from '../codecs/bfd/gtsm-filter.js';
import type { BfdTransportCommand, BfdTransportInput } from '../machines/bfd-session.machine.js';

export interface BfdDatagram {
  readonly data: Uint8Array;
  /** Source address and port. */
  readonly address: string;
  readonly port: number;
  /** Local address the socket is bound to. */
  readonly local: string;
}

/** What the hub needs from the network (the UDP adapter; fakes in tests). */
export interface BfdDatagramPort {
  /** Sends to `address` port 3784, from `local` when given (else the family's first address). */
  send(data: Uint8Array, address: string, local?: string): void;
  /**
   * Optional: `send` bound to one destination, its route resolved once (a session's packets). The
   * bytes handed to it are not changed afterwards (the port may keep what it derived from them).
   */
  sender?(address: string, local?: string): (data: Uint8Array) => void;
  /**
   * `d` (and `d.data`) may be reused by the port after the callback returns: copy what is kept.
   * The callback may return a `BfdRepeat` for `d`: the port may then call it instead of the
   * callback for a later datagram identical to `d` (same payload bytes, same source address and
   * port, same local address), as long as no other datagram with the same Your Discriminator
   * (payload bytes 8–11) was delivered in between.
   */
  onDatagram(cb: (d: BfdDatagram) => BfdRepeat | void): () => void;
  close(): Promise<void>;
}

/**
 * A BFD datagram port as a speaker uses it (adapters/bfd-port.ts `openBfdPort`: the batched port,
 * adapters/bfd-mmsg.ts, or node:dgram, adapters/bfd-udp.ts).
 */
export interface BfdPort extends BfdDatagramPort {
  /** Which implementation: batched sendmmsg/recvmmsg, or node:dgram. */
  readonly io: 'mmsg' | 'dgram';
  /** The source port of every session (RFC 5881 §4). */
  readonly sourcePort: number;
  /** The received-TTL check (GTSM socket filter) is attached to every receive socket. */
  readonly gtsm: boolean;
  /** Sent packets carry DSCP CS6. */
  readonly dscp: boolean;
  /** The transmit slot (ms) sessions on this port should use (createBfdSession's `txSlotMs`); 0: none. */
  readonly txSlotMs: number;
  /** Changes the batched port's poll period and transmit slot (ms); the dgram port ignores it. */
  setPollMs(ms: number): void;
  /** Replaces the received TTL/Hop Limit floor (multi-hop: the lowest minimumTtl); false when it cannot. */
  setMinTtl(minTtl: number): boolean;
}

/**
 * Handles a repeat of an accepted datagram exactly as the callback would have; false when it no
 * longer may (the session is gone): the port then delivers the datagram through the callback.
 */
export type BfdRepeat = () => boolean;

/** Per-peer packet counters (MetalLB: metallb_bfd_control_packet_input/output). */
export interface BfdPeerCounters {
  input: number;
  output: number;
  discarded: number;
}

/** `ttl`: received TTL/Hop Limit not 255 (RFC 5881 §5), marked by the receive socket's filter. */
export type BfdDiscardReason = 'ttl' | 'decode' | 'unknownSession' | 'sourceMismatch';

interface Registration {
  localDiscr: number;
  peer: string;
  local: string | undefined;
  key: string;
  deliver: (p: BfdControlPacket) => void;
  /** The peer's counters, resolved once. */
  counters: BfdPeerCounters;
  /** Source and local address strings of the last accepted datagram, as the port gave them. */
  seenFrom: string | undefined;
  seenLocal: string | undefined;
  /** The last accepted datagram's bytes and its decoded packet (a steady peer repeats itself). */
  lastBytes: Uint8Array;
  lastPacket: BfdControlPacket | undefined;
  /** Still the hub's session for its discriminator. */
  live: boolean;
  /** A repeat of the last accepted datagram (handed to the port, see `BfdDatagramPort.onDatagram`). */
  repeat: BfdRepeat;
}

/** a[0..n) equals b[0..n) (n = both lengths). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Canonical text form so `2001:db8::1` and `2001:DB8:0::1` meet; IPv4-mapped IPv6 folded to IPv4. */
const canonicalCache = new Map<string, string>();
export function canonicalAddress(a: string): string {
  let c = canonicalCache.get(a);
  if (c === undefined) {
    c = canonicalize(a);
    // Bounded: addresses come from config and from datagrams; forget all if it grows odd.
    if (canonicalCache.size > 10_000) canonicalCache.clear();
    // One string object per canonical address: the per-packet comparisons are then identity checks.
    const known = canonicalCache.get(c);
    if (known !== undefined) c = known;
    else canonicalCache.set(c, c);
    canonicalCache.set(a, c);
  }
  return c;
}

function canonicalize(a: string): string {
  const s = a.toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (mapped) return mapped[1]!;
  if (!s.includes(':')) return s;
  // Expand and re-compress IPv6 (RFC 5952 is not needed for equality, only a stable form).
  const [head, tail = ''] = s.split('::') as [string, string?];
  const h = head ? head.split(':') : [];
  const t = s.includes('::') && tail ? tail.split(':') : [];
  const fill = s.includes('::') ? new Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((x) => parseInt(x, 16).toString(16)).join(':');
}

export class BfdHub {
  private readonly byDiscr = new Map<number, Registration>();
  private readonly byPeer = new Map<string, Registration>();
  private readonly counters = new Map<string, BfdPeerCounters>();
  /** Discarded datagrams by reason, all peers. */
  readonly discards: Record<BfdDiscardReason, number> = { ttl: 0, decode: 0, unknownSession: 0, sourceMismatch: 0 };
  private readonly off: () => void;
  /** Called for every datagram we drop, with the reason (for logs and metrics). */
  onDiscard: (reason: BfdDiscardReason, from: string, detail?: string) => void = () => undefined;

  constructor(private readonly port: BfdDatagramPort) {
    this.off = port.onDatagram((d) => this.receive(d));
  }

  /** The `bfdTransport` actor logic for `bfdSessionMachine.provide({ actors: { bfdTransport } })`. */
  readonly logic = fromCallback<BfdTransportCommand, BfdTransportInput>(({ input, receive, sendBack }) => {
    const unregister = this.register(
      input.localDiscr,
      input.peer,
      (packet) => sendBack({ type: 'bfd.packet.received', packet }),
      input.local,
    );
    receive((cmd) => this.send(input.peer, cmd.packet, input.local));
    return unregister;
  });

  /**
   * Registers a session. Sessions are told apart by (local, peer) when a local address is given,
   * so one peer address can have sessions from several of our addresses; otherwise by peer.
   */
  register(localDiscr: number, peer: string, deliver: (p: BfdControlPacket) => void, local?: string): () => void {
    const p = canonicalAddress(peer);
    const l = local === undefined ? undefined : canonicalAddress(local);
    const r: Registration = {
      localDiscr,
      peer: p,
      local: l,
      key: l === undefined ? p : `${l}|${p}`,
      deliver,
      counters: this.count(p),
      seenFrom: undefined,
      seenLocal: undefined,
      lastBytes: new Uint8Array(0),
      lastPacket: undefined,
      live: true,
      // What `receive` does for the same bytes from the same addresses (the steady path below).
      repeat: () => {
        if (!r.live || r.lastPacket === undefined) return false;
        r.counters.input++;
        r.deliver(r.lastPacket);
        return true;
      },
    };
    const before = this.byDiscr.get(localDiscr);
    if (before !== undefined) before.live = false;
    this.byDiscr.set(localDiscr, r);
    this.byPeer.set(r.key, r);
    return () => {
      r.live = false;
      if (this.byDiscr.get(localDiscr) === r) this.byDiscr.delete(localDiscr);
      if (this.byPeer.get(r.key) === r) this.byPeer.delete(r.key);
    };
  }

  send(peer: string, packet: BfdControlPacket, local?: string): void {
    this.count(canonicalAddress(peer)).output++;
    this.port.send(encodeControl(packet), peer, local);
  }

  /** `send` bound to one session's peer and local address (counters and route resolved once). */
  sender(peer: string, local?: string): (packet: BfdControlPacket) => void {
    const c = this.count(canonicalAddress(peer));
    const out = this.port.sender?.(peer, local) ?? ((data: Uint8Array) => this.port.send(data, peer, local));
    // A session sends the same (immutable) packet object until its state changes: encode once.
    let last: BfdControlPacket | undefined;
    let bytes: Uint8Array = new Uint8Array(0);
    return (packet) => {
      c.output++;
      if (packet !== last) {
        last = packet;
        bytes = encodeControl(packet);
      }
      out(bytes);
    };
  }

  countersFor(peer: string): BfdPeerCounters {
    return { ...this.count(canonicalAddress(peer)) };
  }

  private count(peer: string): BfdPeerCounters {
    let c = this.counters.get(peer);
    if (!c) {
      c = { input: 0, output: 0, discarded: 0 };
      this.counters.set(peer, c);
    }
    return c;
  }

  /** Returns the session's repeat handler when `d` was accepted by Your Discriminator. */
  private receive(d: BfdDatagram): BfdRepeat | undefined {
    // Steady state: a session's packets keep coming from the address texts its last accepted one
    // came from, so the address checks below already passed for them (no canonical-form lookups;
    // ports that hand out one string per address make the comparisons identity checks).
    if (d.data.length >= 24) {
      const yourDiscr = ((d.data[8]! << 24) | (d.data[9]! << 16) | (d.data[10]! << 8) | d.data[11]!) >>> 0;
      const reg = yourDiscr !== 0 ? this.byDiscr.get(yourDiscr) : undefined;
      if (reg !== undefined && reg.seenFrom === d.address && reg.seenLocal === d.local) {
        // The same bytes decode to the same (immutable) packet: no decode, no allocation.
        if (reg.lastPacket !== undefined && sameBytes(d.data, reg.lastBytes)) {
          reg.counters.input++;
          reg.deliver(reg.lastPacket);
          return reg.repeat;
        }
        const r = decodeControl(d.data);
        if (r.ok) {
          this.accepted(reg, d, r.value);
          return reg.repeat;
        }
      }
    }
    const from = canonicalAddress(d.address);
    // RFC 5881 §5: "received with a TTL or Hop Limit other than 255" → discard (adapters/bfd-udp.ts).
    if (isGtsmMark(d.data)) {
      this.discard('ttl', from);
      return undefined;
    }
    const r = decodeControl(d.data);
    if (!r.ok) {
      this.discard('decode', from, r.error.code);
      return undefined;
    }
    const p = r.value;
    const local = canonicalAddress(d.local);
    const reg = p.yourDiscr !== 0 ? this.byDiscr.get(p.yourDiscr) : (this.byPeer.get(`${local}|${from}`) ?? this.byPeer.get(from));
    // §6.8.6: no session for a nonzero Your Discriminator (or for a zero one, no session with
    // that peer address): discard.
    if (!reg) {
      this.discard('unknownSession', from);
      return undefined;
    }
    // Single hop: a session's packets come from its peer address (to its local address) only.
    if (reg.peer !== from || (reg.local !== undefined && reg.local !== local)) {
      this.discard('sourceMismatch', from);
      return undefined;
    }
    if (p.yourDiscr !== 0) {
      this.accepted(reg, d, p);
      return reg.repeat;
    }
    reg.counters.input++;
    reg.deliver(p);
    return undefined;
  }

  private accepted(reg: Registration, d: BfdDatagram, p: BfdControlPacket): void {
    reg.counters.input++;
    reg.seenFrom = d.address;
    reg.seenLocal = d.local;
    if (reg.lastBytes.length !== d.data.length) reg.lastBytes = new Uint8Array(d.data.length);
    reg.lastBytes.set(d.data);
    reg.lastPacket = p;
    reg.deliver(p);
  }

  private discard(reason: BfdDiscardReason, from: string, detail?: string): void {
    this.count(from).discarded++;
    this.discards[reason]++;
    this.onDiscard(reason, from, detail);
  }

  close(): void {
    this.off();
  }
}
