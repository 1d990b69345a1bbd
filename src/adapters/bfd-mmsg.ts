// BFD single-hop datagrams (RFC 5881) with batched socket I/O: sendmmsg(2) and recvmmsg(2)
// through koffi on the fds of node:dgram sockets, one syscall per batch instead of Node's
// per-datagram work (a 64 KiB receive buffer, a wake-up and a second read to EAGAIN per
// received packet; a SendWrap and a callback chain per sent packet).
//
// - One receive and one send socket per address family. With one local address of a family
//   they are bound to it; with several (or a wildcard) to the wildcard, and IP_PKTINFO /
//   IPV6_PKTINFO tell the local address of each received datagram (datagrams to addresses we do
//   not listen on are dropped) and choose the source of each sent one. Source port: one in
//   49152–65535 for all sessions (§4); TTL/Hop Limit 255 (§5); the GTSM filter and DSCP CS6 as in
//   bfd-udp.ts.
// - Receiving: Node does not read these sockets (recvStop on the handle); the port reads
//   everything pending with recvmmsg(MSG_DONTWAIT) from a TimerQueue poller, i.e. at the start
//   of every pass of the shared timer queue (before any detection timer can fire, so a packet
//   that arrived before a deadline is always seen before it), and besides in one of two modes
//   (domain/bfd-io-mode.ts decides, from wake-ups and datagrams per window):
//   - readiness (idle and light load): the receive sockets are O_ASYNC, owned by this process;
//     the kernel raises SIGIO when a datagram arrives, libuv turns it into an event-loop event
//     (its signal pipe), and the port reads at once. Nothing but packets and the sessions' own
//     timers wakes the process.
//   - tick (many packets): O_ASYNC off, a queue entry on a `pollMs` grid guarantees a pass at
//     least that often; with `txSlotMs` equal to it, transmissions fall on the same grid and a
//     100-session process wakes once per slot. A packet waits at most `pollMs` to be read.
//   Without fcntl (koffi refusing it) the port stays in tick mode.
// - Sending: `send` copies the packet into the next slot of a native batch; the batch leaves
//   with one sendmmsg when the current task ends (a microtask), or when it is full.
// Linux, 64-bit little-endian only; `BfdMmsgPort.open` returns undefined when koffi or the
// platform is missing (use BfdUdpPort then).
import { createSocket, type Socket } from 'node:dgram';
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import {
  findPktinfoAddr,
  formatAddress,
  CMSG_HEADER,
  IPV6_PKTINFO,
  parseAddress,
  readU32,
  sockaddrAddrOffset,
  sockaddrFamily,
  sockaddrPort,
  writePktinfo,
  writeSockaddr,
  IP_PKTINFO,
  IPV6_RECVPKTINFO,
  SOL_IP,
  SOL_IPV6,
} from '../codecs/bfd/socket-layout.js';
import type { BfdDatagram, BfdPort, BfdRepeat } from '../actors/bfd-transport.actor.js';
import { TimerEntry, type TimerQueue } from '../actors/timer-queue.js';
import { ioModeAfterPoll, ioModeStart, type BfdIoMode, type BfdIoModeState } from '../domain/bfd-io-mode.js';
import { attachGtsm, bind, bindSourcePort, closeSockets, markNetworkControl, socketFd, BFD_CONTROL_PORT, BFD_TTL } from './bfd-udp.js';

export interface BfdMmsgOptions {
  readonly localAddresses: readonly string[];
  readonly port?: number;
  readonly sourcePort?: number;
  readonly random?: () => number;
  /** The process's shared timer queue: the receive poll runs on it. */
  readonly timers: TimerQueue;
  /** Longest wait of a received packet before it is read in tick mode, and the transmit slot (ms); default 2. */
  readonly pollMs?: number;
  /** Read on readiness (SIGIO) while packets are few (default true; main thread only); false: always on the `pollMs` tick. */
  readonly readiness?: boolean;
  /** Received TTL/Hop Limit floor, as in BfdUdpOptions (255: single hop). */
  readonly minTtl?: number;
}

interface Libc {
  sendmmsg(fd: number, vec: bigint, n: number, flags: number): number;
  recvmmsg(fd: number, vec: bigint, n: number, flags: number, timeout: null): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  /** fcntl with no argument or one int argument; undefined when koffi could not declare it. */
  fcntl: ((fd: number, cmd: number, arg?: number) => number) | undefined;
  alloc(bytes: number): { ptr: bigint; view: ArrayBuffer };
  free(ptr: bigint): void;
}
let libc: Libc | null | undefined;
function loadLibc(): Libc | undefined {
  if (libc !== undefined) return libc ?? undefined;
  libc = null;
  if (process.platform !== 'linux' || endianness() !== 'LE' || !['x64', 'arm64'].includes(process.arch)) return undefined;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as {
      load(name: string): { func(sig: string): (...a: unknown[]) => number };
      alloc(type: string, n: number): bigint;
      view(ptr: bigint, n: number): ArrayBuffer;
      free(ptr: bigint): void;
    };
    const lib = koffi.load('libc.so.6');
    const sendmmsg = lib.func('int sendmmsg(int, void *, uint32_t, int)');
    const recvmmsg = lib.func('int recvmmsg(int, void *, uint32_t, int, void *)');
    const setsockopt = lib.func('int setsockopt(int, int, int, void *, uint32_t)');
    let fcntl: ((...a: unknown[]) => number) | undefined;
    try {
      fcntl = lib.func('int fcntl(int, int, ...)');
    } catch {
      fcntl = undefined;
    }
    libc = {
      fcntl: fcntl && ((fd, cmd, arg) => (arg === undefined ? fcntl(fd, cmd) : fcntl(fd, cmd, 'int', arg))),
      sendmmsg: (fd, vec, n, flags) => sendmmsg(fd, vec, n, flags),
      recvmmsg: (fd, vec, n, flags, timeout) => recvmmsg(fd, vec, n, flags, timeout),
      setsockopt: (fd, level, name, val, len) => setsockopt(fd, level, name, val, len),
      alloc: (bytes) => {
        const ptr = koffi.alloc('uint8_t', bytes);
        return { ptr, view: koffi.view(ptr, bytes) };
      },
      free: (ptr) => koffi.free(ptr),
    };
  } catch {
    libc = null;
  }
  return libc ?? undefined;
}

const MSG_DONTWAIT = 0x40;
const F_GETFL = 3;
const F_SETFL = 4;
const F_SETOWN = 8;
/** O_ASYNC (FASYNC) on x86-64 and arm64 (asm-generic). */
const O_ASYNC = 0o20000;

/**
 * Ports in readiness mode, read on every SIGIO. One listener for the process, added on first use
 * and never removed: SIGIO's default action ends the process, so a listener must exist for as long
 * as any socket may still be O_ASYNC (Node's signal handles do not keep the loop alive).
 */
const readinessPorts = new Set<BfdMmsgPort>();
let sigioListening = false;
function listenSigio(): void {
  if (sigioListening) return;
  sigioListening = true;
  process.on('SIGIO', () => {
    for (const p of readinessPorts) p.readable();
  });
}
/** Messages per batch (one recvmmsg/sendmmsg call handles up to this many). */
const BATCH = 64;
// struct mmsghdr (64 bytes): msghdr { name@0, namelen@8, iov@16, iovlen@24, control@32,
// controllen@40, flags@48 }, msg_len@56. struct iovec (16): base@0, len@8.
const HDR = 64;
const IOV = 16;
const NAME = 32;
const DATA = 256;
const CTRL = 64;
const SLOT = HDR + IOV + NAME + DATA + CTRL;

/** A native array of BATCH mmsghdrs with their iovecs, addresses, payloads and control bytes. */
class Batch {
  readonly u8: Uint8Array;
  /** The same memory as 32-bit words (little-endian platforms only, see loadLibc). */
  readonly i32: Int32Array;
  readonly ptr: bigint;
  /** Pointer to the mmsghdr of slot i (for a call that starts past a failed message). */
  readonly at: bigint[] = [];
  /** The first 24 payload bytes of slot i. */
  readonly view24: Uint8Array[] = [];
  constructor(lib: Libc) {
    const { ptr, view } = lib.alloc(BATCH * SLOT);
    this.ptr = ptr;
    this.u8 = new Uint8Array(view);
    this.i32 = new Int32Array(view);
    this.u8.fill(0);
    const dv = new DataView(view);
    for (let i = 0; i < BATCH; i++) {
      const hdr = this.hdr(i);
      dv.setBigUint64(hdr, ptr + BigInt(this.name(i)), true);
      dv.setBigUint64(hdr + 16, ptr + BigInt(this.iov(i)), true);
      dv.setBigUint64(hdr + 24, 1n, true);
      dv.setBigUint64(hdr + 32, ptr + BigInt(this.ctrl(i)), true);
      dv.setBigUint64(this.iov(i), ptr + BigInt(this.data(i)), true);
      // Receive buffer sizes (the kernel rewrites namelen and controllen of the slots it fills).
      dv.setUint32(hdr + 8, NAME, true);
      dv.setBigUint64(hdr + 40, BigInt(CTRL), true);
      dv.setBigUint64(this.iov(i) + 8, BigInt(DATA), true);
      this.at.push(ptr + BigInt(hdr));
      this.view24.push(this.u8.subarray(this.data(i), this.data(i) + 24));
    }
  }
  hdr(i: number): number {
    return i * HDR;
  }
  iov(i: number): number {
    return BATCH * HDR + i * IOV;
  }
  name(i: number): number {
    return BATCH * (HDR + IOV) + i * NAME;
  }
  data(i: number): number {
    return BATCH * (HDR + IOV + NAME) + i * DATA;
  }
  ctrl(i: number): number {
    return BATCH * (HDR + IOV + NAME + DATA) + i * CTRL;
  }
}

interface Family {
  family: 4 | 6;
  rx: Socket;
  tx: Socket;
  rxFd: number;
  txFd: number;
  /** Bound address (canonical text); a wildcard when `pktinfo`. */
  bound: string;
  /** Several local addresses (or a wildcard): packet info chooses/tells the local address. */
  pktinfo: boolean;
  /** Addresses we listen on (canonical); undefined: any. */
  accept: Set<string> | undefined;
  rxBatch: Batch;
  txBatch: Batch;
  pending: number;
  /** Datagrams the handler accepted, by Your Discriminator (payload word 2 as read): see `receiveSlot`. */
  repeats: Repeats;
}

/**
 * Datagrams the handler accepted and may be told again (`BfdRepeat`), one row each, keyed by
 * Your Discriminator. A row holds, as 32-bit words: the 24 payload bytes, the source sockaddr,
 * the local address (packet info), the sockaddr length and the local address's word count. The
 * rows of all sessions share one typed array (a steady packet touches its row and its repeat
 * function, not a handful of objects of its own).
 */
interface Repeats {
  row: Map<number, number>;
  words: Int32Array;
  rep: Array<BfdRepeat | undefined>;
  free: number[];
}
const ROW = 6 + NAME / 4 + 4 + 2;
const R_NAME = 6;
const R_LOCAL = 6 + NAME / 4;
const R_NAMELEN = ROW - 2;
const R_LOCALWORDS = ROW - 1;
/** Bounded: one row per session that receives. */
const MAX_REPEATS = 10_000;
const newRepeats = (): Repeats => ({ row: new Map(), words: new Int32Array(16 * ROW), rep: [], free: [] });

/** Destination sockaddr bytes and, when the source is chosen per packet, the control bytes (also as words). */
interface Route {
  f: Family;
  name: Uint8Array;
  nameLen: number;
  ctrl: Uint8Array | undefined;
  nameW: Int32Array;
  ctrlW: Int32Array | undefined;
}

const isWildcard = (a: string): boolean => a === '0.0.0.0' || a === '::';

function stopReading(sock: Socket): void {
  const sym = Object.getOwnPropertySymbols(sock).find((s) => s.description === 'state symbol');
  const handle = sym ? (sock as unknown as Record<symbol, { handle?: { recvStop?: () => number } }>)[sym]?.handle : undefined;
  if (typeof handle?.recvStop !== 'function') throw new Error('dgram handle has no recvStop');
  handle.recvStop();
}

export class BfdMmsgPort implements BfdPort {
  private readonly handlers = new Set<(d: BfdDatagram) => BfdRepeat | void>();
  private readonly route = new Map<string, Route | null>();
  private readonly removePoller: () => void;
  private readonly removeAfterPass: () => void;
  private readonly tick: TimerEntry;
  private flushQueued = false;
  private closed = false;
  /** Which way the sockets are read (domain/bfd-io-mode.ts). */
  private modeState: BfdIoModeState;
  /**
   * Datagrams read and syscalls made (recvmmsg, sendmmsg); readiness wake-ups (SIGIO events that
   * made a poll) and mode changes: for the benchmark and diagnostics.
   */
  readonly stats = { rx: 0, tx: 0, recvCalls: 0, sendCalls: 0, sendErrors: 0, rxRepeats: 0, readinessWakeups: 0, modeChanges: 0 };
  readonly io = 'mmsg' as const;

  private constructor(
    private readonly lib: Libc,
    private readonly families: Family[],
    readonly sourcePort: number,
    private readonly destPort: number,
    readonly gtsm: boolean,
    readonly dscp: boolean,
    private readonly timers: TimerQueue,
    private pollMs: number,
    private readonly readinessAllowed: boolean,
  ) {
    this.removePoller = timers.addPoller(() => this.poll(false));
    this.removeAfterPass = timers.addAfterPass(() => {
      if (this.flushQueued) this.flush();
    });
    this.tick = new TimerEntry(() => this.armTick());
    this.modeState = ioModeStart('tick', timers.now());
    if (!readinessAllowed || !this.enterReadiness()) this.armTick();
  }

  /** The current read mode. */
  get mode(): BfdIoMode {
    return this.modeState.mode;
  }

  /** The transmit slot sessions should use (`txSlotMs` of createBfdSession): the tick period. */
  get txSlotMs(): number {
    return this.pollMs;
  }

  /** Changes the tick period and transmit slot (sessions created afterwards take the new slot). */
  setPollMs(ms: number): void {
    if (!(ms > 0) || ms === this.pollMs) return;
    this.pollMs = ms;
    if (this.modeState.mode === 'tick') this.armTick();
  }

  /** Replaces the received-TTL floor of every receive socket (multi-hop: the profiles' lowest minimumTtl). */
  setMinTtl(minTtl: number): boolean {
    let ok = true;
    for (const f of this.families) if (!attachGtsm(f.rx, f.family, minTtl)) ok = false;
    return ok;
  }

  /** O_ASYNC on or off on every receive socket; false (and off everywhere) when fcntl fails. */
  private setAsync(on: boolean): boolean {
    const fcntl = this.lib.fcntl;
    if (fcntl === undefined) return false;
    let ok = true;
    for (const f of this.families) {
      const fl = fcntl(f.rxFd, F_GETFL);
      if (fl < 0 || (on && fcntl(f.rxFd, F_SETOWN, process.pid) < 0) || fcntl(f.rxFd, F_SETFL, on ? fl | O_ASYNC : fl & ~O_ASYNC) < 0)
        ok = false;
    }
    if (on && !ok) this.setAsync(false);
    return ok;
  }

  /** Readiness mode: SIGIO on arrival, no tick. False when the sockets cannot be made O_ASYNC. */
  private enterReadiness(): boolean {
    listenSigio();
    if (!this.setAsync(true)) return false;
    readinessPorts.add(this);
    this.timers.disarm(this.tick);
    this.modeState = ioModeStart('readiness', this.timers.now());
    // What arrived before O_ASYNC raised no signal.
    this.read();
    return true;
  }

  private enterTick(): void {
    readinessPorts.delete(this);
    this.setAsync(false);
    this.modeState = ioModeStart('tick', this.timers.now());
    this.armTick();
  }

  /** SIGIO: a receive socket (of this port or another) has datagrams. */
  readable(): void {
    if (this.closed || this.modeState.mode !== 'readiness') return;
    this.poll(true);
  }

  /** Opens the sockets; undefined when batched I/O is not available here (no koffi, platform). */
  static async open(opts: BfdMmsgOptions): Promise<BfdMmsgPort | undefined> {
    const lib = loadLibc();
    if (!lib) return undefined;
    const random = opts.random ?? Math.random;
    const families: Family[] = [];
    const sockets: Socket[] = [];
    let sourcePort = opts.sourcePort ?? 0;
    let gtsm = true;
    let dscp = true;
    try {
      for (const family of [4, 6] as const) {
        const addrs = opts.localAddresses.filter((a) => (family === 6) === a.includes(':'));
        if (addrs.length === 0) continue;
        const canon = addrs.map((a) => {
          const b = parseAddress(a);
          if (!b) throw new Error(`not an IP address: ${a}`);
          return formatAddress(b, 0, family);
        });
        const pktinfo = addrs.length > 1 || isWildcard(addrs[0]!);
        const bound = pktinfo ? (family === 4 ? '0.0.0.0' : '::') : addrs[0]!;
        const type = family === 6 ? 'udp6' : 'udp4';
        const rx = createSocket({ type, reuseAddr: false, ipv6Only: family === 6 });
        const tx = createSocket({ type, ipv6Only: family === 6 });
        sockets.push(rx, tx);
        rx.on('error', () => undefined);
        tx.on('error', () => undefined);
        await bind(rx, opts.port ?? BFD_CONTROL_PORT, bound);
        if (!attachGtsm(rx, family, opts.minTtl)) gtsm = false;
        sourcePort = await bindSourcePort(tx, bound, sourcePort, opts.sourcePort, random);
        tx.setTTL(BFD_TTL);
        if (!markNetworkControl(tx, family)) dscp = false;
        const rxFd = socketFd(rx);
        const txFd = socketFd(tx);
        if (rxFd === undefined || txFd === undefined) throw new Error('no fd under the dgram socket');
        if (pktinfo) {
          const one = Buffer.alloc(4);
          one.writeInt32LE(1);
          const ok =
            family === 4 ? lib.setsockopt(rxFd, SOL_IP, IP_PKTINFO, one, 4) : lib.setsockopt(rxFd, SOL_IPV6, IPV6_RECVPKTINFO, one, 4);
          if (ok !== 0) throw new Error('setsockopt(PKTINFO) failed');
        }
        stopReading(rx);
        stopReading(tx);
        const accept = canon.some(isWildcard) || canon.some((c) => c === '0:0:0:0:0:0:0:0') ? undefined : new Set(canon);
        families.push({
          family,
          rx,
          tx,
          rxFd,
          txFd,
          bound,
          pktinfo,
          accept,
          rxBatch: new Batch(lib),
          txBatch: new Batch(lib),
          pending: 0,
          repeats: newRepeats(),
        });
      }
    } catch (e) {
      for (const s of sockets) {
        try {
          s.close();
        } catch {
          /* closed */
        }
      }
      throw e;
    }
    // Signals reach only the main thread's listeners: elsewhere an O_ASYNC socket's SIGIO would
    // find none and end the process.
    const readiness = (opts.readiness ?? true) && isMainThread;
    return new BfdMmsgPort(lib, families, sourcePort, opts.port ?? BFD_CONTROL_PORT, gtsm, dscp, opts.timers, opts.pollMs ?? 2, readiness);
  }

  /** Re-arms the poll entry on the next `pollMs` boundary (the poll itself runs as the queue's poller). */
  private armTick(): void {
    if (this.closed || this.modeState.mode !== 'tick') return;
    const now = this.timers.now();
    this.timers.armAt(this.tick, (Math.floor(now / this.pollMs) + 1) * this.pollMs);
  }

  /**
   * Reads every pending datagram of every receive socket and delivers it; `readiness`: woken by
   * SIGIO (not a timer pass). Then changes the read mode when domain/bfd-io-mode.ts says so.
   */
  poll(readiness = false): void {
    if (this.closed) return;
    const n = this.read();
    // A SIGIO that finds nothing (a pass read the datagram in between, or it was another port's)
    // is a wake-up all the same.
    if (readiness) this.stats.readinessWakeups++;
    if (!this.readinessAllowed) return;
    const s = ioModeAfterPoll(this.modeState, this.timers.now(), this.pollMs, { readiness, datagrams: n });
    if (s.mode === this.modeState.mode) {
      this.modeState = s;
      return;
    }
    this.stats.modeChanges++;
    if (s.mode === 'tick') this.enterTick();
    else if (!this.enterReadiness()) this.modeState = ioModeStart('tick', this.timers.now());
  }

  /** Reads and delivers every pending datagram; returns how many. */
  private read(): number {
    let total = 0;
    for (const f of this.families) {
      const b = f.rxBatch;
      const i32 = b.i32;
      for (;;) {
        const n = this.lib.recvmmsg(f.rxFd, b.ptr, BATCH, MSG_DONTWAIT, null);
        this.stats.recvCalls++;
        if (n <= 0) break;
        this.stats.rx += n;
        total += n;
        for (let i = 0; i < n; i++) {
          this.receiveSlot(f, i);
          // Buffer sizes back for the next call (the kernel wrote namelen and controllen).
          const hw = b.hdr(i) >> 2;
          i32[hw + 2] = NAME;
          i32[hw + 10] = CTRL;
          i32[hw + 11] = 0;
        }
        if (n < BATCH) break;
      }
    }
    return total;
  }

  private receiveSlot(f: Family, i: number): void {
    const b = f.rxBatch;
    const u8 = b.u8;
    const i32 = b.i32;
    const h = b.hdr(i);
    const len = i32[(h >> 2) + 14]!;
    const nameOff = b.name(i);
    const localAt = f.pktinfo ? this.pktinfoAt(f, b, i) : -1;
    if (f.pktinfo && localAt < 0) return;
    // Steady state: a peer repeats its last datagram, byte for byte, from the same address and
    // port to the same local address. Such a repeat of a datagram the handler accepted goes to
    // the handler's repeat function (BfdDatagramPort.onDatagram): no address texts, no decode.
    const key = len === 24 ? i32[(b.data(i) >> 2) + 2]! : 0;
    if (key !== 0) {
      const row = f.repeats.row.get(key);
      if (
        row !== undefined &&
        this.isRepeat(f.repeats.words, row * ROW, i32, b.data(i) >> 2, nameOff, i32[(h >> 2) + 2]!, localAt) &&
        f.repeats.rep[row]!()
      ) {
        this.stats.rxRepeats++;
        return;
      }
    }
    const fam = sockaddrFamily(u8, nameOff);
    if (fam === undefined) return;
    let local = f.bound;
    if (f.pktinfo) {
      local = this.addressAt(u8, localAt, f.family);
      if (f.accept !== undefined && !f.accept.has(local)) return;
    }
    const d = this.datagram;
    const n = Math.min(len, DATA);
    // A Control packet without authentication is 24 bytes: one view per slot, made once.
    d.data = n === 24 ? b.view24[i]! : u8.subarray(b.data(i), b.data(i) + n);
    d.address = this.addressAt(u8, nameOff + sockaddrAddrOffset(fam), fam);
    d.port = sockaddrPort(u8, nameOff);
    d.local = local;
    const hs = this.handlerList;
    let rep: BfdRepeat | void = undefined;
    for (let k = 0; k < hs.length; k++) rep = hs[k]!(d);
    if (key === 0) return;
    // What may be repeated is the last datagram of this discriminator (of either family), if its
    // (only) handler says so.
    for (const g of this.families) if (g !== f) this.forget(g.repeats, key);
    if (rep === undefined || hs.length !== 1) {
      this.forget(f.repeats, key);
      return;
    }
    this.remember(f, key, rep, i32, b.data(i) >> 2, nameOff, i32[(h >> 2) + 2]!, localAt);
  }

  private forget(rs: Repeats, key: number): void {
    const row = rs.row.get(key);
    if (row === undefined) return;
    rs.row.delete(key);
    rs.rep[row] = undefined;
    rs.free.push(row);
  }

  /** Offset of the local address in slot i's packet info, -1 when there is none. */
  private pktinfoAt(f: Family, b: Batch, i: number): number {
    const i32 = b.i32;
    const c = b.ctrl(i);
    const cw = c >> 2;
    const len = i32[(b.hdr(i) >> 2) + 10]!;
    // The kernel puts the one control message we asked for first: check it in words.
    if (f.family === 6) {
      if (len >= CMSG_HEADER + 20 && i32[cw]! >= CMSG_HEADER + 20 && i32[cw + 2] === SOL_IPV6 && i32[cw + 3] === IPV6_PKTINFO)
        return c + CMSG_HEADER;
    } else if (len >= CMSG_HEADER + 12 && i32[cw]! >= CMSG_HEADER + 12 && i32[cw + 2] === SOL_IP && i32[cw + 3] === IP_PKTINFO) {
      return c + CMSG_HEADER + 8;
    }
    return findPktinfoAddr(b.u8, c, readU32(b.u8, b.hdr(i) + 40), f.family);
  }

  /** The datagram in the slot is the one in row `o` (word offset): same payload, source sockaddr and local address. */
  private isRepeat(w: Int32Array, o: number, i32: Int32Array, dw: number, nameOff: number, nameLen: number, localAt: number): boolean {
    if (nameLen !== w[o + R_NAMELEN]) return false;
    for (let k = 0; k < 6; k++) if (i32[dw + k] !== w[o + k]) return false;
    const nw = nameOff >> 2;
    const nameWords = nameLen >> 2;
    for (let k = 0; k < nameWords; k++) if (i32[nw + k] !== w[o + R_NAME + k]) return false;
    const localWords = w[o + R_LOCALWORDS]!;
    if (localWords > 0) {
      // The pktinfo address is 4-byte aligned (cmsg data at 8-byte boundaries).
      if ((localAt & 3) !== 0) return false;
      const lw = localAt >> 2;
      for (let k = 0; k < localWords; k++) if (i32[lw + k] !== w[o + R_LOCAL + k]) return false;
    }
    return true;
  }

  private remember(
    f: Family,
    key: number,
    rep: BfdRepeat,
    i32: Int32Array,
    dw: number,
    nameOff: number,
    nameLen: number,
    localAt: number,
  ): void {
    const rs = f.repeats;
    if (nameLen > NAME || (nameLen & 3) !== 0 || (localAt >= 0 && (localAt & 3) !== 0)) {
      this.forget(rs, key);
      return;
    }
    let row = rs.row.get(key);
    if (row === undefined) {
      if (rs.row.size >= MAX_REPEATS) f.repeats = newRepeats();
      const t = f.repeats;
      row = t.free.pop() ?? t.rep.length;
      if ((row + 1) * ROW > t.words.length) {
        const grown = new Int32Array(t.words.length * 2);
        grown.set(t.words);
        t.words = grown;
      }
      t.row.set(key, row);
    }
    const t = f.repeats;
    t.rep[row] = rep;
    const w = t.words;
    const o = row * ROW;
    for (let k = 0; k < 6; k++) w[o + k] = i32[dw + k]!;
    w[o + R_NAMELEN] = nameLen;
    const nw = nameOff >> 2;
    for (let k = 0; k < nameLen >> 2; k++) w[o + R_NAME + k] = i32[nw + k]!;
    const localWords = localAt >= 0 ? (f.family === 4 ? 1 : 4) : 0;
    w[o + R_LOCALWORDS] = localWords;
    const lw = localAt >> 2;
    for (let k = 0; k < localWords; k++) w[o + R_LOCAL + k] = i32[lw + k]!;
  }

  /** Handed to every handler in turn (BfdDatagramPort: valid during the call only). */
  private readonly datagram: { -readonly [K in keyof BfdDatagram]: BfdDatagram[K] } = {
    data: new Uint8Array(0),
    address: '',
    port: 0,
    local: '',
  };

  /**
   * The canonical text of the address at `u8[off..]`, interned: the same few peers and local
   * addresses arrive thousands of times a second, and one string per address (hash computed
   * once) keeps the hub's map lookups and comparisons cheap.
   */
  private addressAt(u8: Uint8Array, off: number, family: 4 | 6): string {
    if (family === 4) {
      const k = readU32(u8, off);
      let s = this.names4.get(k);
      if (s === undefined) {
        if (this.names4.size > 10_000) this.names4.clear();
        s = formatAddress(u8, off, 4);
        this.names4.set(k, s);
      }
      return s;
    }
    const w0 = readU32(u8, off),
      w1 = readU32(u8, off + 4),
      w2 = readU32(u8, off + 8),
      w3 = readU32(u8, off + 12);
    const k = Math.imul(Math.imul(Math.imul(w0, 0x9e3779b1) ^ w1, 0x9e3779b1) ^ w2, 0x9e3779b1) ^ w3;
    const e = this.names6.get(k);
    if (e !== undefined && e.w0 === w0 && e.w1 === w1 && e.w2 === w2 && e.w3 === w3) return e.s;
    if (this.names6.size > 10_000) this.names6.clear();
    const s = formatAddress(u8, off, 6);
    this.names6.set(k, { w0, w1, w2, w3, s });
    return s;
  }

  private readonly names4 = new Map<number, string>();
  private readonly names6 = new Map<number, { w0: number; w1: number; w2: number; w3: number; s: string }>();

  send(data: Uint8Array, address: string, local?: string): void {
    const key = local === undefined ? address : `${local}|${address}`;
    let r = this.route.get(key);
    if (r === undefined) {
      r = this.routeFor(address, local);
      if (this.route.size > 10_000) this.route.clear();
      this.route.set(key, r);
    }
    if (r) this.enqueue(r, data);
  }

  sender(address: string, local?: string): (data: Uint8Array) => void {
    const r = this.routeFor(address, local);
    if (!r) return () => undefined;
    // A session hands over the same bytes until its packet changes: their words are kept.
    let last: Uint8Array | undefined;
    const words = new Int32Array(DATA / 4);
    return (data) => {
      if (data !== last) {
        if (data.length > DATA) return;
        last = data;
        words.fill(0);
        new Uint8Array(words.buffer).set(data);
      }
      this.enqueueWords(r, words, data.length);
    };
  }

  private enqueue(r: Route, data: Uint8Array): void {
    if (this.closed || data.length > DATA) return;
    const f = r.f;
    if (f.pending === BATCH) this.flushFamily(f);
    const b = f.txBatch;
    const i = f.pending++;
    b.u8.set(data, b.data(i));
    this.fillSlot(r, b, i, data.length);
  }

  /** `enqueue` of a payload given as words (`len` bytes of them). */
  private enqueueWords(r: Route, words: Int32Array, len: number): void {
    if (this.closed) return;
    const f = r.f;
    if (f.pending === BATCH) this.flushFamily(f);
    const b = f.txBatch;
    const i = f.pending++;
    const i32 = b.i32;
    const dw = b.data(i) >> 2;
    const n = (len + 3) >> 2;
    for (let k = 0; k < n; k++) i32[dw + k] = words[k]!;
    this.fillSlot(r, b, i, len);
  }

  /** Slot i's payload length, destination and control bytes; the flush queued. */
  private fillSlot(r: Route, b: Batch, i: number, len: number): void {
    const i32 = b.i32;
    const hw = b.hdr(i) >> 2;
    i32[(b.iov(i) >> 2) + 2] = len;
    const nw = b.name(i) >> 2;
    const name = r.nameW;
    for (let k = 0; k < name.length; k++) i32[nw + k] = name[k]!;
    i32[hw + 2] = r.nameLen;
    const ctrl = r.ctrlW;
    if (ctrl !== undefined) {
      const cw = b.ctrl(i) >> 2;
      for (let k = 0; k < ctrl.length; k++) i32[cw + k] = ctrl[k]!;
      i32[hw + 10] = ctrl.length * 4;
    } else {
      i32[hw + 10] = 0;
    }
    i32[hw + 11] = 0;
    if (!this.flushQueued) {
      this.flushQueued = true;
      // Within a timer-queue pass the pass's end sends the batch; otherwise the task's end.
      if (!this.timers.passing) queueMicrotask(this.flushTask);
    }
  }

  private readonly flushTask = (): void => this.flush();

  private routeFor(address: string, local: string | undefined): Route | null {
    const dst = parseAddress(address);
    if (!dst) return null;
    const family = dst.length === 4 ? 4 : 6;
    const f = this.families.find((x) => x.family === family);
    if (!f) return null;
    const name = new Uint8Array(NAME);
    const nameLen = writeSockaddr(name, 0, dst, this.destPort);
    let ctrl: Uint8Array | undefined;
    if (local !== undefined && f.pktinfo && !isWildcard(local)) {
      const src = parseAddress(local);
      if (!src || src.length !== dst.length) return null;
      const buf = new Uint8Array(CTRL);
      ctrl = buf.slice(0, (writePktinfo(buf, 0, src) + 3) & ~3);
    }
    const nameW = new Int32Array(name.buffer.slice(0, (nameLen + 3) & ~3));
    const ctrlW = ctrl ? new Int32Array(ctrl.buffer.slice(ctrl.byteOffset, ctrl.byteOffset + ctrl.length)) : undefined;
    return { f, name, nameLen, ctrl, nameW, ctrlW };
  }

  /** Sends every queued packet (one sendmmsg per family and batch). */
  flush(): void {
    this.flushQueued = false;
    for (const f of this.families) if (f.pending > 0) this.flushFamily(f);
  }

  private flushFamily(f: Family): void {
    const n = f.pending;
    f.pending = 0;
    let i = 0;
    // sendmmsg stops at the first message that fails (no route, unreachable, a full buffer):
    // that one is dropped (the detection timers deal with loss), the rest go on.
    while (i < n) {
      const r = this.lib.sendmmsg(f.txFd, f.txBatch.at[i]!, n - i, MSG_DONTWAIT);
      this.stats.sendCalls++;
      if (r > 0) {
        this.stats.tx += r;
        i += r;
      } else {
        this.stats.sendErrors++;
        i++;
      }
    }
  }

  onDatagram(cb: (d: BfdDatagram) => BfdRepeat | void): () => void {
    this.handlers.add(cb);
    this.handlersChanged();
    return () => {
      this.handlers.delete(cb);
      this.handlersChanged();
    };
  }

  private handlersChanged(): void {
    this.handlerList = [...this.handlers];
    // Repeat functions belong to the handler that returned them.
    for (const f of this.families) f.repeats = newRepeats();
  }

  private handlerList: Array<(d: BfdDatagram) => BfdRepeat | void> = [];

  async close(): Promise<void> {
    if (!this.closed) this.flush();
    this.closed = true;
    readinessPorts.delete(this);
    this.setAsync(false);
    this.handlers.clear();
    this.handlersChanged();
    this.removePoller();
    this.removeAfterPass();
    this.timers.disarm(this.tick);
    await closeSockets(this.families.flatMap((f) => [f.rx, f.tx]));
    for (const f of this.families) {
      this.lib.free(f.rxBatch.ptr);
      this.lib.free(f.txBatch.ptr);
    }
  }
}
