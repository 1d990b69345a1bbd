// TCP connections for BGP sessions (the only BGP module touching node:net). Plain connects go
// through node:net. When TCP-MD5 (RFC 2385), a TTL (single-hop eBGP 1 / multihop 255) or GTSM
// (RFC 5082 minimum TTL) is wanted, the socket is made with libc through koffi so the options
// are set before the SYN leaves: socket(), setsockopt(), bind(), non-blocking connect(), then
// poll() for completion on a koffi worker thread, and the connected fd is wrapped in a
// net.Socket. Linux only (TCP_MD5SIG = 14, struct tcp_md5sig from include/uapi/linux/tcp.h).
import net from 'node:net';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { BgpConnection, BgpSocketPort, BgpConnectOptions } from '../actors/bgp-transport.actor.js';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const IPPROTO_IP = 0;
const IP_TTL = 2;
const IP_MINTTL = 21;
const IPPROTO_IPV6 = 41;
const IPV6_UNICAST_HOPS = 16;
const IPV6_MINHOPCOUNT = 73;
const IPPROTO_TCP = 6;
const TCP_MD5SIG = 14;
const TCP_MD5SIG_MAXKEYLEN = 80;
const EINPROGRESS = 115;
const POLLOUT = 4;

interface Libc {
  socket(domain: number, type: number, proto: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Buffer, len: Buffer): number;
  bind(fd: number, addr: Buffer, len: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  close(fd: number): number;
  poll: { async(fds: Buffer, n: number, timeout: number, cb: (err: unknown, res: number) => void): void };
  errno(): number;
}

let libc: Libc | undefined | null;
function loadLibc(): Libc | undefined {
  if (libc !== undefined) return libc ?? undefined;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as {
      load(name: string): { func(sig: string): ((...a: unknown[]) => number) & { async(...a: unknown[]): void } };
      errno(): number;
    };
    const lib = koffi.load('libc.so.6');
    const f = (sig: string) => lib.func(sig);
    const pollFn = f('int poll(void *fds, unsigned long nfds, int timeout)');
    libc = {
      socket: f('int socket(int, int, int)') as Libc['socket'],
      setsockopt: f('int setsockopt(int, int, int, void *, uint32_t)') as Libc['setsockopt'],
      getsockopt: f('int getsockopt(int, int, int, void *, void *)') as Libc['getsockopt'],
      bind: f('int bind(int, void *, uint32_t)') as Libc['bind'],
      connect: f('int connect(int, void *, uint32_t)') as Libc['connect'],
      close: f('int close(int)') as Libc['close'],
      poll: {
        async: (fds, n, timeout, cb) => {
          pollFn.async(fds, n, timeout, cb);
        },
      },
      errno: () => koffi.errno(),
    };
  } catch {
    libc = null;
  }
  return libc ?? undefined;
}

/**
 * struct sockaddr_in / sockaddr_in6 (family in host order, port network order); an IPv6 zone
 * (`fe80::1%eth0`, or a numeric index) becomes sin6_scope_id, the interface index.
 */
export function sockaddr(ip: string, port: number, ifindex: (iface: string) => number = interfaceIndex): Buffer {
  if (net.isIPv6(ip)) {
    const [addr, zone] = ip.split('%') as [string, string | undefined];
    const b = Buffer.alloc(28);
    b.writeUInt16LE(AF_INET6, 0);
    b.writeUInt16BE(port, 2);
    ipv6Bytes(addr).copy(b, 8);
    if (zone) b.writeUInt32LE(/^\d+$/.test(zone) ? Number(zone) : ifindex(zone), 24);
    return b;
  }
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  Buffer.from(ip.split('.').map(Number)).copy(b, 4);
  return b;
}

/** The kernel's index of an interface (0, "any", when it does not exist: connect then fails). */
function interfaceIndex(iface: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${iface}/ifindex`, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').filter(Boolean) : []);
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** struct tcp_md5sig: sockaddr_storage (128), flags, prefixlen, keylen (u16), ifindex (u32), key[80]. */
export function tcpMd5sig(peer: string, key: string): Buffer {
  const k = Buffer.from(key, 'utf8');
  if (k.length > TCP_MD5SIG_MAXKEYLEN) throw new Error(`TCP-MD5 key longer than ${TCP_MD5SIG_MAXKEYLEN} bytes`);
  const b = Buffer.alloc(216);
  sockaddr(peer, 0).copy(b, 0);
  b.writeUInt16LE(k.length, 130);
  k.copy(b, 136);
  return b;
}

function intOpt(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b;
}

/** The first IPv4 address on the interface holding `local` (MetalLB's router-ID fallback). */
export function ipv4OnSameInterface(local: string): string | undefined {
  for (const addrs of Object.values(os.networkInterfaces())) {
    if (!addrs?.some((a) => a.address === local || a.address === local.replace(/^::ffff:/, ''))) continue;
    return addrs.find((a) => a.family === 'IPv4')?.address;
  }
  return undefined;
}

function wrap(socket: net.Socket): BgpConnection {
  socket.setNoDelay(true);
  const local = socket.localAddress ?? '';
  return {
    localAddress: local,
    localIpv4OnInterface: ipv4OnSameInterface(local),
    write: (data) => {
      if (!socket.destroyed) socket.write(data);
    },
    onData: (cb) => {
      socket.on('data', (d: Buffer) => cb(new Uint8Array(d.buffer, d.byteOffset, d.length)));
    },
    onClose: (cb) => {
      let err: Error | undefined;
      socket.on('error', (e) => {
        err = e;
      });
      socket.on('close', () => cb(err?.message));
    },
    close: () => {
      if (socket.destroyed) return;
      // Flush what is queued (a NOTIFICATION), then FIN; force after a second.
      socket.end();
      const t = setTimeout(() => socket.destroy(), 1000);
      t.unref();
      socket.once('close', () => clearTimeout(t));
    },
  };
}

function plainConnect(o: BgpConnectOptions): Promise<BgpConnection> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: o.peerAddress, port: o.peerPort, ...(o.sourceAddress ? { localAddress: o.sourceAddress } : {}) });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect timeout after ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(wrap(s));
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    });
  });
}

function nativeConnect(o: BgpConnectOptions, c: Libc, signal: { aborted: boolean }): Promise<BgpConnection> {
  const v6 = net.isIPv6(o.peerAddress);
  const fd = c.socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Promise.reject(new Error(`socket() failed: errno ${c.errno()}`));
  const fail = (what: string): Promise<never> => {
    const e = c.errno();
    c.close(fd);
    return Promise.reject(new Error(`${what} failed: errno ${e}`));
  };
  if (o.password) {
    const sig = tcpMd5sig(o.peerAddress, o.password);
    if (c.setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, sig, sig.length) !== 0) return fail('setsockopt(TCP_MD5SIG)');
  }
  if (o.ttl !== undefined) {
    if (c.setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, intOpt(o.ttl), 4) !== 0)
      return fail('setsockopt(TTL)');
  }
  if (o.minTtl !== undefined) {
    if (c.setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MINHOPCOUNT : IP_MINTTL, intOpt(o.minTtl), 4) !== 0)
      return fail('setsockopt(MINTTL)');
  }
  if (o.sourceAddress) {
    const sa = sockaddr(o.sourceAddress, 0);
    if (c.bind(fd, sa, sa.length) !== 0) return fail(`bind(${o.sourceAddress})`);
  }
  const ra = sockaddr(o.peerAddress, o.peerPort);
  if (c.connect(fd, ra, ra.length) !== 0 && c.errno() !== EINPROGRESS) return fail('connect()');
  return new Promise((resolve, reject) => {
    const pfd = Buffer.alloc(8);
    pfd.writeInt32LE(fd, 0);
    pfd.writeInt16LE(POLLOUT, 4);
    c.poll.async(pfd, 1, o.timeoutMs, (err, n) => {
      if (err || n < 0) {
        c.close(fd);
        reject(new Error(`poll() failed: ${String(err ?? n)}`));
        return;
      }
      if (n === 0) {
        c.close(fd);
        reject(new Error(`connect timeout after ${o.timeoutMs} ms`));
        return;
      }
      const val = Buffer.alloc(4);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(4, 0);
      c.getsockopt(fd, SOL_SOCKET, SO_ERROR, val, len);
      const soErr = val.readInt32LE(0);
      if (soErr !== 0) {
        c.close(fd);
        reject(new Error(`connect failed: errno ${soErr}${soErr === 111 ? ' (ECONNREFUSED)' : soErr === 110 ? ' (ETIMEDOUT)' : ''}`));
        return;
      }
      if (signal.aborted) {
        c.close(fd);
        reject(new Error('aborted'));
        return;
      }
      resolve(wrap(new net.Socket({ fd, readable: true, writable: true })));
    });
  });
}

/** The real BGP socket port. */
export const bgpSocketPort: BgpSocketPort = {
  connect(o, signal) {
    const needsNative = o.password !== undefined || o.ttl !== undefined || o.minTtl !== undefined;
    if (!needsNative) return plainConnect(o);
    const c = loadLibc();
    if (!c) return Promise.reject(new Error('TCP-MD5/TTL need koffi (optional dependency) on Linux: not available'));
    return nativeConnect(o, c, signal);
  },
};
