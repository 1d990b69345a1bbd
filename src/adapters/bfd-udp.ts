// BFD single-hop datagrams over UDP (RFC 5881). Two sockets per address family: a receive socket
// bound to port 3784 and a send socket bound to one source port in 49152–65535 (§4: "The source
// port MUST be in the range 49152 through 65535"; one port for all our sessions keeps it constant
// per session). Every packet leaves with TTL/Hop Limit 255 (§5).
//
// §5 also makes the receiver discard packets whose TTL/Hop Limit is not 255 (GTSM). Node's dgram
// does not expose IP_RECVTTL/IPV6_RECVHOPLIMIT ancillary data, so the kernel checks it: a
// classic BPF filter (codecs/bfd/gtsm-filter.ts) attached to each receive socket with
// setsockopt(SO_ATTACH_FILTER) through koffi trims such a datagram to a 1-byte mark, which the
// hub discards and counts (reason `ttl`). Without koffi (optional dependency) the check is off
// and `gtsm` says so.
//
// Sent packets carry DSCP CS6 (network control, RFC 4594: TOS / Traffic Class byte 0xc0), as FRR's
// bfdd sends them, so routers that queue by class do not drop BFD behind bulk traffic: IP_TOS /
// IPV6_TCLASS through koffi on the send socket (Node's dgram has no setter); `dscp` says whether
// it was set.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { encodeBpf, gtsmFilter } from '../codecs/bfd/gtsm-filter.js';
import type { BfdDatagram, BfdPort } from '../actors/bfd-transport.actor.js';

export const BFD_CONTROL_PORT = 3784;
/** RFC 5883 §2: multi-hop Control packets go to UDP 4784. */
export const BFD_MULTIHOP_PORT = 4784;
export const BFD_SOURCE_PORT_MIN = 49152;
export const BFD_SOURCE_PORT_MAX = 65535;
export const BFD_TTL = 255;
/** DSCP CS6 in the TOS / Traffic Class byte. */
export const BFD_TOS = 0xc0;

export interface BfdUdpOptions {
  /** Local addresses to listen on (one per family at most is typical); `0.0.0.0`/`::` for any. */
  readonly localAddresses: readonly string[];
  /** Receive port and peers' destination port; 3784 unless a test needs another. */
  readonly port?: number;
  /** Fixed source port; by default one is picked at random in 49152–65535 (retrying on EADDRINUSE). */
  readonly sourcePort?: number;
  /** Random source for the source-port pick (defaults to Math.random; adapters may use it). */
  readonly random?: () => number;
  /**
   * Received TTL/Hop Limit floor: 255 (default) for single hop (RFC 5881 §5); a multi-hop port
   * (RFC 5883 §5) takes the configured minimum (MetalLB's BFDProfile minimumTtl).
   */
  readonly minTtl?: number;
}

type LookupCb = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;
function literalLookup(host: string, _opts: unknown, cb: LookupCb): void {
  cb(null, host, isIPv6(host) ? 6 : 4);
}

export function bind(sock: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => {
      sock.off('listening', onListening);
      reject(e);
    };
    const onListening = (): void => {
      sock.off('error', onError);
      resolve();
    };
    sock.once('error', onError);
    sock.once('listening', onListening);
    sock.bind({ port, address, exclusive: true });
  });
}

const SOL_SOCKET = 1;
const SO_ATTACH_FILTER = 26;
type AttachFilter = (fd: number, family: 4 | 6, minTtl: number) => boolean;
let attachFilter: AttachFilter | null | undefined;
function loadAttachFilter(): AttachFilter | undefined {
  if (attachFilter !== undefined) return attachFilter ?? undefined;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as {
      load(name: string): { func(sig: string): (...a: unknown[]) => number };
      struct(name: string, def: Record<string, string>): unknown;
      sizeof(t: unknown): number;
    };
    // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
    const fprog = koffi.struct('mooring_sock_fprog', { len: 'uint16', filter: 'void *' });
    const setsockopt = koffi.load('libc.so.6').func('int setsockopt(int, int, int, _In_ mooring_sock_fprog *, uint32_t)');
    const le = endianness() === 'LE';
    attachFilter = (fd, family, minTtl) => {
      const program = Buffer.from(encodeBpf(gtsmFilter(family, minTtl), le));
      return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, { len: program.length / 8, filter: program }, koffi.sizeof(fprog)) === 0;
    };
  } catch {
    attachFilter = null;
  }
  return attachFilter ?? undefined;
}

/**
 * Binds a sending socket to the session source port (RFC 5881 §4: 49152–65535): `fixed` when
 * given, else the port already used for the other family, else a random free one (up to 20
 * retries on EADDRINUSE). Returns the port bound.
 */
export async function bindSourcePort(
  sock: Socket,
  address: string,
  current: number,
  fixed: number | undefined,
  random: () => number,
): Promise<number> {
  let port = current;
  for (let attempt = 0; ; attempt++) {
    const p = fixed ?? (port || BFD_SOURCE_PORT_MIN + Math.floor(random() * (BFD_SOURCE_PORT_MAX - BFD_SOURCE_PORT_MIN + 1)));
    try {
      await bind(sock, p, address);
      return p;
    } catch (e) {
      if (fixed !== undefined || attempt > 20 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      port = 0;
    }
  }
}

/** The file descriptor under a bound dgram socket (Node keeps its handle behind a symbol). */
/** Closes sockets, resolving once each is closed (or was closed already). */
export function closeSockets(sockets: readonly Socket[]): Promise<void> {
  const close = (s: Socket): Promise<void> =>
    new Promise<void>((r) => {
      try {
        s.close(() => r());
      } catch {
        r(); // already closed
      }
    });
  return Promise.all(sockets.map(close)).then(() => undefined);
}

export function socketFd(sock: Socket): number | undefined {
  const sym = Object.getOwnPropertySymbols(sock).find((s) => s.description === 'state symbol');
  const fd = sym ? (sock as unknown as Record<symbol, { handle?: { fd?: number } }>)[sym]?.handle?.fd : undefined;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

const IPPROTO_IP = 0;
const IP_TOS = 1;
const IPPROTO_IPV6 = 41;
const IPV6_TCLASS = 67;
type SetIntOption = (fd: number, level: number, name: number, value: number) => boolean;
let setIntOption: SetIntOption | null | undefined;
function loadSetIntOption(): SetIntOption | undefined {
  if (setIntOption !== undefined) return setIntOption ?? undefined;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as { load(name: string): { func(sig: string): (...a: unknown[]) => number } };
    const setsockopt = koffi.load('libc.so.6').func('int setsockopt(int, int, int, void *, uint32_t)');
    const le = endianness() === 'LE';
    setIntOption = (fd, level, name, value) => {
      const v = Buffer.alloc(4);
      if (le) v.writeInt32LE(value);
      else v.writeInt32BE(value);
      return setsockopt(fd, level, name, v, 4) === 0;
    };
  } catch {
    setIntOption = null;
  }
  return setIntOption ?? undefined;
}

/** DSCP CS6 on a bound send socket (`BFD_TOS`); false when it cannot be set. */
export function markNetworkControl(sock: Socket, family: 4 | 6): boolean {
  const set = loadSetIntOption();
  const fd = socketFd(sock);
  if (set === undefined || fd === undefined) return false;
  return family === 4 ? set(fd, IPPROTO_IP, IP_TOS, BFD_TOS) : set(fd, IPPROTO_IPV6, IPV6_TCLASS, BFD_TOS);
}

/**
 * RFC 5881 §5 on a bound receive socket (TTL/Hop Limit 255), or RFC 5883 §5 with a lower
 * `minTtl`; attaching again replaces the filter. False when it cannot be attached.
 */
export function attachGtsm(sock: Socket, family: 4 | 6, minTtl = BFD_TTL): boolean {
  const attach = loadAttachFilter();
  const fd = socketFd(sock);
  return attach !== undefined && fd !== undefined && attach(fd, family, minTtl);
}

/** One receive and one send socket per local address. */
interface Family {
  rx: Socket;
  tx: Socket;
  address: string;
  family: 4 | 6;
}

export class BfdUdpPort implements BfdPort {
  private readonly handlers = new Set<(d: BfdDatagram) => void>();
  readonly io = 'dgram' as const;
  /** No transmit slots: Node reads each datagram when it arrives. */
  readonly txSlotMs = 0;
  private constructor(
    private readonly families: Family[],
    readonly sourcePort: number,
    private readonly destPort: number,
    /** The received-TTL check (RFC 5881 §5) is made on every receive socket. */
    readonly gtsm: boolean,
    /** Sent packets carry DSCP CS6 (`BFD_TOS`). */
    readonly dscp: boolean,
  ) {}

  static async open(opts: BfdUdpOptions): Promise<BfdUdpPort> {
    const random = opts.random ?? Math.random;
    const families: Family[] = [];
    let sourcePort = opts.sourcePort ?? 0;
    let gtsm = true;
    let dscp = true;
    try {
      for (const address of opts.localAddresses) {
        const type = isIPv6(address) ? 'udp6' : 'udp4';
        const rx = createSocket({ type, reuseAddr: false, ipv6Only: type === 'udp6' });
        // Peers are IP literals: a synchronous lookup skips dns.lookup and its nextTick per send
        // (measured: a fifth of the probe's CPU at 100 sessions × 50 ms).
        const tx = createSocket({ type, ipv6Only: type === 'udp6', lookup: literalLookup });
        families.push({ rx, tx, address, family: type === 'udp6' ? 6 : 4 });
        await bind(rx, opts.port ?? BFD_CONTROL_PORT, address);
        // Before the first packet can be read (the 'message' handler is added below).
        if (!attachGtsm(rx, type === 'udp6' ? 6 : 4, opts.minTtl)) gtsm = false;
        sourcePort = await bindSourcePort(tx, address, sourcePort, opts.sourcePort, random);
        tx.setTTL(BFD_TTL);
        if (!markNetworkControl(tx, type === 'udp6' ? 6 : 4)) dscp = false;
      }
    } catch (e) {
      for (const f of families) {
        f.rx.close();
        f.tx.close();
      }
      throw e;
    }
    const port = new BfdUdpPort(families, sourcePort, opts.port ?? BFD_CONTROL_PORT, gtsm, dscp);
    for (const f of families) {
      f.rx.on('message', (msg, rinfo) => port.deliver({ data: msg, address: rinfo.address, port: rinfo.port, local: f.address }));
      // The send socket also receives nothing useful; errors on either are transient (ICMP
      // unreachable surfaces as an error event on some kernels): keep running.
      f.rx.on('error', () => undefined);
      f.tx.on('error', () => undefined);
    }
    return port;
  }

  /** Replaces the received-TTL floor of every receive socket (multi-hop: the profiles' lowest minimumTtl). */
  setMinTtl(minTtl: number): boolean {
    let ok = true;
    for (const f of this.families) if (!attachGtsm(f.rx, f.family, minTtl)) ok = false;
    return ok;
  }

  /** Nothing to do: this port does not poll. */
  setPollMs(): void {
    /* no period */
  }

  private deliver(d: BfdDatagram): void {
    for (const h of this.handlers) h(d);
  }

  /** Send socket per (local, peer): looked up once (isIPv6 is a regular expression per call). */
  private readonly route = new Map<string, Family | null>();

  send(data: Uint8Array, address: string, local?: string): void {
    const key = local === undefined ? address : `${local}|${address}`;
    let f = this.route.get(key);
    if (f === undefined) {
      const v6 = isIPv6(address);
      f =
        (local !== undefined ? this.families.find((x) => x.address === local) : undefined) ??
        this.families.find((x) => isIPv6(x.address) === v6) ??
        null;
      if (this.route.size > 10_000) this.route.clear();
      this.route.set(key, f);
    }
    if (!f) return;
    // Errors (no route, unreachable) are the detection timer's business, not ours: without a
    // callback they surface as the socket's 'error' event (ignored above), and a send that
    // completes at once costs no process.nextTick for the callback.
    f.tx.send(data, this.destPort, address);
  }

  onDatagram(cb: (d: BfdDatagram) => void): () => void {
    this.handlers.add(cb);
    return () => {
      this.handlers.delete(cb);
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
    await closeSockets(this.families.flatMap((f) => [f.rx, f.tx]));
  }
}
