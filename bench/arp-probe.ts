// ARP prober for bench/failover.bench.ts: runs INSIDE the client namespace, sends one ARP request
// per VIP every PERIOD ms through pcap and records which MACs answered each request.
//   arp-probe.ts <iface> <periodMs> [stream]
// Commands on stdin, one per line:
//   start <ip,ip,…>   start probing these IPs (a new session; the previous one is discarded)
//   stop              stop; after a grace period for late replies, print one JSON line per probe
//                     {"ip","t","macs"} (t = send time, ms since the epoch) then {"done":true}
// Prints {"listening":true} once the capture is open, and {"answering":ip} the first time an IP
// of a session is answered. With `stream` (the chaos lab, test/lib/chaos-lab.ts), each probe's line
// is printed as soon as its grace period has passed, while probing goes on, and dropped from memory.
//
// Replies carry no request id, so each request uses its own sender protocol address, taken
// round-robin from 198.51.100.192–251 (outside the lab's /26, documentation range): a reply goes
// back to the sender address it answers, which names the probe (60 slots × 10 ms = 600 ms before
// a slot is reused, far beyond any reply delay). A probe answered by two MACs is a dual answer.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createSession } from 'pcap';
import { decodeEthernet, encodeEthernet, EtherType, BROADCAST_MAC, ZERO_MAC } from '../src/codecs/ethernet.js';
import { decodeArp, encodeArp, ArpOp } from '../src/codecs/arp.js';

const [iface = 'eth0', periodArg = '10', streamArg] = process.argv.slice(2);
const PERIOD = Number(periodArg);
const STREAM = streamArg === 'stream';
const SLOTS = 60;
const GRACE_MS = 300;
const mac = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim();
const senderIp = (slot: number): string => `198.51.100.${192 + slot}`;

interface Probe {
  ip: string;
  t: number;
  macs: string[];
}
let probes: Probe[] = [];
/** `${vip}|${senderIp}` → the probe last sent with that pair. */
const bySlot = new Map<string, Probe>();
let timer: NodeJS.Timeout | undefined;
/** IPs of this session that have been answered at least once (reported once each). */
const answering = new Set<string>();

const s = createSession(iface, { filter: 'arp', promiscuous: false, buffer_timeout: 0, snap_length: 128 });
s.on('packet', (p: { buf: Buffer; header: Buffer }) => {
  const e = decodeEthernet(Uint8Array.prototype.slice.call(p.buf, 0, p.header.readUInt32LE(8)));
  if (!e.ok || e.value.etherType !== EtherType.arp) return;
  const a = decodeArp(e.value.payload);
  if (!a.ok || a.value.op !== ArpOp.reply || a.value.targetMac !== mac) return;
  const probe = bySlot.get(`${a.value.senderIp}|${a.value.targetIp}`);
  if (!probe || probe.macs.includes(a.value.senderMac)) return;
  probe.macs.push(a.value.senderMac);
  if (!answering.has(probe.ip)) {
    answering.add(probe.ip);
    process.stdout.write(`${JSON.stringify({ answering: probe.ip })}\n`);
  }
});

function frame(ip: string, slot: number): Buffer {
  const b = Buffer.from(
    encodeEthernet({
      dst: BROADCAST_MAC,
      src: mac,
      etherType: EtherType.arp,
      payload: encodeArp({ op: ArpOp.request, senderMac: mac, senderIp: senderIp(slot), targetMac: ZERO_MAC, targetIp: ip }),
    }),
  );
  const o = Buffer.alloc(Math.max(60, b.length));
  b.copy(o);
  return o;
}

function start(ips: string[]): void {
  stop();
  probes = [];
  bySlot.clear();
  answering.clear();
  const frames = ips.map((ip) => Array.from({ length: SLOTS }, (_, k) => frame(ip, k)));
  const t0 = Date.now();
  let k = 0;
  // Self-correcting schedule: probe k goes out at t0 + k·PERIOD (a late timer does not shift the rest).
  const tick = (): void => {
    // After the poll phase (setImmediate): replies already waiting in the capture are matched
    // first, so a prober that was itself descheduled does not count them as missing.
    if (STREAM) {
      const until = Date.now() - GRACE_MS;
      setImmediate(() => flush(until));
    }
    const slot = k % SLOTS;
    for (let i = 0; i < ips.length; i++) {
      const probe: Probe = { ip: ips[i] as string, t: Date.now(), macs: [] };
      probes.push(probe);
      bySlot.set(`${probe.ip}|${senderIp(slot)}`, probe);
      s.inject((frames[i] as Buffer[])[slot] as Buffer);
    }
    k++;
    timer = setTimeout(tick, Math.max(0, t0 + k * PERIOD - Date.now()));
  };
  tick();
}

/** Stream mode: prints and forgets the probes sent before `until`. */
function flush(until: number): void {
  let n = 0;
  while (n < probes.length && (probes[n] as Probe).t < until) n++;
  if (n === 0) return;
  process.stdout.write(
    `${probes
      .splice(0, n)
      .map((p) => JSON.stringify(p))
      .join('\n')}\n`,
  );
}

function stop(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
}

process.stdout.write(`${JSON.stringify({ listening: true })}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'start' && arg) start(arg.split(','));
  else if (cmd === 'stop') {
    stop();
    setTimeout(() => {
      for (const p of probes) process.stdout.write(`${JSON.stringify(p)}\n`);
      process.stdout.write(`${JSON.stringify({ done: true })}\n`);
      probes = [];
    }, GRACE_MS);
  } else if (cmd === 'quit') {
    stop();
    s.close();
    process.exit(0);
  }
});
