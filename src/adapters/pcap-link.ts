// The only pcap importer: raw Ethernet capture and injection per interface, plus the Linux host
// facts the L2 announcer needs (/sys/class/net flags, MAC, carrier; `ip maddr` for solicited-node
// groups). Loaded lazily so a node without the native addon fails with one clear error.
import { readFileSync, readdirSync, existsSync, readlinkSync } from 'node:fs';
import { execFile } from 'node:child_process';
import type { L2Host, L2Link } from '../actors/l2-announcer.js';
import type { IfaceFacts } from '../domain/l2-interfaces.js';

import type * as PcapNs from 'pcap';

type PcapModule = typeof PcapNs;

/**
 * Only ARP and NS/NA reach JavaScript: the kernel filter drops everything else, including
 * other ICMPv6 (echo, RA) that would wake us for nothing.
 */
export const L2_FILTER = 'arp or (icmp6 and (ip6[40] == 135 or ip6[40] == 136))';

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
  const session = pcap.createSession(iface, { filter: L2_FILTER, promiscuous: false, buffer_timeout: 0, snap_length: 256 });
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
    onFrame(f) { cb = f; },
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
      try { master = readlinkSync(`${SYS}/${name}/master`).split('/').pop(); } catch { master = '?'; }
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
 * `ip maddr add 33:33:ff:xx:xx:xx dev IF` (asynchronous; failures reported through `log`).
 */
export async function createLinuxL2Host(log: (ev: Record<string, unknown>) => void = () => {}): Promise<L2Host> {
  const pcap = await loadPcap();
  // Commands are queued and run through one `ip -force -batch -` at a time: announcing thousands
  // of IPv6 addresses must not fork thousands of processes.
  const queue: string[] = [];
  let running = false;
  const flush = (): void => {
    if (running || queue.length === 0) return;
    running = true;
    const lines = queue.splice(0);
    const child = execFile('ip', ['-force', '-batch', '-'], (err, _o, stderr) => {
      running = false;
      if (err) log({ event: 'l2.ipCommandFailed', commands: lines.length, err: stderr.trim() || String(err) });
      flush();
    });
    child.stdin?.end(`${lines.join('\n')}\n`);
  };
  const ip = (args: string[]): void => {
    queue.push(args.join(' '));
    flush();
  };
  return {
    interfaces: linuxInterfaces,
    open: (iface) => openPcapLink(pcap, iface),
    joinMulticast: (iface, mac) => ip(['maddr', 'add', mac, 'dev', iface]),
    leaveMulticast: (iface, mac) => ip(['maddr', 'del', mac, 'dev', iface]),
    setAllMulticast: (iface, on) => ip(['link', 'set', 'dev', iface, 'allmulticast', on ? 'on' : 'off']),
    carrier: linuxCarrier,
  };
}
