// The only pcap importer: raw Ethernet capture and injection per interface, plus the Linux host
// facts the L2 announcer needs (/sys/class/net flags, MAC, carrier; IPv6 group membership for solicited-node
// groups). Loaded lazily so a node without the native addon fails with one clear error.
import { readFileSync, readdirSync, existsSync, readlinkSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import type { L2Host, L2Link } from '../actors/l2-announcer.js';
import type { IfaceFacts } from '../domain/l2-interfaces.js';

import type * as PcapNs from 'pcap';

type PcapModule = typeof PcapNs;

/**
 * Only ARP and NS/NA reach JavaScript: the kernel filter drops everything else, including
 * other ICMPv6 (echo, RA) that would wake us for nothing.
 */
export const L2_FILTER = 'arp or (icmp6 and (ip6[40] == 135 or ip6[40] == 136))';

/**
 * The capture ring per interface (packet mmap, counted in the speaker's RSS in full): libpcap's own
 * default, 2 MB, ~5,000 ARP/NS frames of 256 bytes queued while JavaScript is busy (a kernel
 * socket's default receive buffer, what MetalLB's ARP responder reads from, holds a few hundred).
 * node-pcap's default is 10 MB: 10.2 MB of every speaker's ~84 MB at rest (measured in the e2e lab).
 */
export const PCAP_BUFFER_BYTES = 2 * 1024 * 1024;

const SYS = '/sys/class/net';
const MIN_FRAME = 60;

export async function loadPcap(): Promise<PcapModule> {
  try {
    return await import('pcap');
  } catch (e) {
    throw new Error(`the pcap native addon is not available (npm run native; apt-get install libpcap-dev): ${String(e)}`, { cause: e });
  }
}

function readSys(iface: string, file: string): string | undefined {
  try {
    return readFileSync(`${SYS}/${iface}/${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function openPcapLink(pcap: PcapModule, iface: string): L2Link {
  const mac = readSys(iface, 'address');
  if (!mac) throw new Error(`interface ${iface}: no MAC address in ${SYS}`);
  // promiscuous false: we only need broadcast, our unicast and joined multicast groups.
  // buffer_timeout 0 puts libpcap in immediate mode: each frame is delivered as it arrives
  // instead of waiting for a buffer to fill (the ARP latency target depends on it).
  const session = pcap.createSession(iface, {
    filter: L2_FILTER,
    promiscuous: false,
    buffer_timeout: 0,
    snap_length: 256,
    buffer_size: PCAP_BUFFER_BYTES,
  });
  let cb: ((f: Uint8Array) => void) | undefined;
  session.on('packet', (p: { buf: Buffer; header: Buffer }) => {
    // libpcap reuses `buf` for the next packet: copy the captured bytes before handing them on.
    const caplen = p.header.readUInt32LE(8);
    cb?.(Uint8Array.prototype.slice.call(p.buf, 0, Math.min(caplen, p.buf.length)));
  });
  return {
    iface,
    mac: mac.toLowerCase(),
    send(frame) {
      // Pad to the Ethernet minimum: virtual NICs do not pad injected frames for us.
      const out = Buffer.alloc(Math.max(MIN_FRAME, frame.length));
      out.set(frame);
      session.inject(out);
    },
    onFrame(f) {
      cb = f;
    },
    close() {
      cb = undefined;
      session.close();
    },
  };
}

export function linuxInterfaces(): IfaceFacts[] {
  let names: string[];
  try {
    names = readdirSync(SYS);
  } catch {
    return [];
  }
  const out: IfaceFacts[] = [];
  for (const name of names) {
    const flags = parseInt(readSys(name, 'flags') ?? '0', 16);
    let master: string | undefined;
    if (existsSync(`${SYS}/${name}/master`)) {
      try {
        master = readlinkSync(`${SYS}/${name}/master`).split('/').pop();
      } catch {
        master = '?';
      }
    }
    out.push(master === undefined ? { name, flags } : { name, flags, master });
  }
  return out;
}

export function linuxCarrier(iface: string): boolean | undefined {
  if (!existsSync(`${SYS}/${iface}`)) return undefined;
  // Reading `carrier` of an administratively down interface fails with EINVAL: that is "down".
  return readSys(iface, 'carrier') === '1';
}

/**
 * The production L2Host. Solicited-node groups are added to the NIC's multicast filter with
 * an IPv6 socket's group membership (failures reported through `log`).
 */
export async function createLinuxL2Host(log: (ev: Record<string, unknown>) => void = () => {}): Promise<L2Host> {
  const pcap = await loadPcap();
  // Solicited-node groups are joined through an IPv6 UDP socket's group membership (one socket
  // per interface, IPV6_JOIN_GROUP): the kernel then puts 33:33:ff:xx:xx:xx in the NIC's filter.
  // (`ip maddr add` was used before: in `ip -batch` only its first command takes effect, and a
  // process per change cost 9 % of a churning speaker's CPU.)
  const sockets = new Map<string, Socket>();
  const socketFor = (iface: string): Socket => {
    let s = sockets.get(iface);
    if (!s) {
      s = createSocket({ type: 'udp6', reuseAddr: true });
      s.on('error', (err) => log({ event: 'l2.multicastFailed', iface, err: String(err) }));
      s.bind(0, '::');
      s.unref();
      sockets.set(iface, s);
    }
    return s;
  };
  const group = (mac: string): string => {
    const b = mac.split(':').slice(3);
    return `ff02::1:ff${b[0] ?? '00'}:${b[1] ?? '00'}${b[2] ?? '00'}`;
  };
  const membership = (iface: string, mac: string, join: boolean): void => {
    const s = socketFor(iface);
    const run = () => {
      try {
        if (join) s.addMembership(group(mac), `::%${iface}`);
        else s.dropMembership(group(mac), `::%${iface}`);
      } catch (err) {
        log({ event: 'l2.multicastFailed', iface, mac, join, err: String(err) });
      }
    };
    // addMembership needs a bound socket: before 'listening', wait for it.
    try {
      s.address();
      run();
    } catch {
      s.once('listening', run);
    }
  };
  const ip = (args: string[]): void => {
    execFile('ip', args, (err, _o, stderr) => {
      if (err) log({ event: 'l2.ipCommandFailed', command: args.join(' '), err: stderr.trim() || String(err) });
    });
  };
  return {
    interfaces: linuxInterfaces,
    open: (iface) => openPcapLink(pcap, iface),
    joinMulticast: (iface, mac) => membership(iface, mac, true),
    leaveMulticast: (iface, mac) => membership(iface, mac, false),
    setAllMulticast: (iface, on) => ip(['link', 'set', 'dev', iface, 'allmulticast', on ? 'on' : 'off']),
    carrier: linuxCarrier,
  };
}
