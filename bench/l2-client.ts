// Client half of l2.bench.ts: runs INSIDE the client namespace, speaks raw ARP through pcap on
// eth0 and prints one JSON object of measurements on stdout.
//   l2-client.ts arp <iface> <senderIp> <ipsCsv> <samples> <blastMs>
//     sequential request→reply latency (µs) and replies/s with a window of outstanding requests
//   l2-client.ts ndp <iface> <srcIp6> <ipsCsv> <samples>
//     sequential NS→NA latency (µs)
//   l2-client.ts burst <iface> <frames> <timeoutMs>
//     counts gratuitous ARP / unsolicited NA frames and the span from the first to the last
import { readFileSync } from 'node:fs';
import { createSession } from 'pcap';
import { decodeEthernet, encodeEthernet, EtherType, BROADCAST_MAC, ZERO_MAC } from '../src/codecs/ethernet.js';
import { decodeArp, encodeArp, ArpOp } from '../src/codecs/arp.js';
import { decodeIpv6, decodeNdp, encodeNdp, multicastMac, parseIpv6, solicitedNodeBytes, ipv6At } from '../src/codecs/ndp.js';

const [mode, iface = 'eth0', ...rest] = process.argv.slice(2);
const mac = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim();
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

function session(filter: string) {
  return createSession(iface, { filter, promiscuous: false, buffer_timeout: 0, snap_length: 128 });
}

function copy(p: { buf: Buffer; header: Buffer }): Uint8Array {
  return Uint8Array.prototype.slice.call(p.buf, 0, p.header.readUInt32LE(8));
}

async function arp(senderIp: string, ips: string[], samples: number, blastMs: number): Promise<void> {
  const s = session('arp');
  let waiting: { ip: string; t0: number; done: (us: number | undefined) => void } | undefined;
  let blastReplies = 0;
  let blasting = false;
  let inflight = 0;
  s.on('packet', (p: { buf: Buffer; header: Buffer }) => {
    const t = nowUs();
    const e = decodeEthernet(copy(p));
    if (!e.ok || e.value.etherType !== EtherType.arp) return;
    const a = decodeArp(e.value.payload);
    if (!a.ok || a.value.op !== ArpOp.reply || a.value.targetMac !== mac) return;
    if (blasting) {
      blastReplies++;
      inflight--;
      return;
    }
    if (waiting && a.value.senderIp === waiting.ip) {
      const w = waiting;
      waiting = undefined;
      w.done(t - w.t0);
    }
  });
  const frame = (ip: string) =>
    Buffer.from(
      encodeEthernet({
        dst: BROADCAST_MAC,
        src: mac,
        etherType: EtherType.arp,
        payload: encodeArp({ op: ArpOp.request, senderMac: mac, senderIp, targetMac: ZERO_MAC, targetIp: ip }),
      }),
    );
  const frames = ips.map(frame);
  const pad = (b: Buffer) => {
    const o = Buffer.alloc(Math.max(60, b.length));
    b.copy(o);
    return o;
  };
  const padded = frames.map(pad);
  const lat: number[] = [];
  let lost = 0;
  for (let i = 0; i < samples; i++) {
    const k = i % ips.length;
    const us = await new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => {
        waiting = undefined;
        resolve(undefined);
      }, 200);
      waiting = {
        ip: ips[k]!,
        t0: nowUs(),
        done: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
      };
      s.inject(padded[k]!);
    });
    if (us === undefined) lost++;
    else lat.push(us);
  }
  // Throughput: keep up to `window` requests outstanding for blastMs.
  blasting = true;
  const window = 32;
  let sent = 0;
  const t0 = nowUs();
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      const el = nowUs() - t0;
      if (el >= blastMs * 1000) {
        resolve();
        return;
      }
      // A lost reply must not stall the window forever.
      if (inflight >= window) inflight = Math.max(0, inflight - 1);
      while (inflight < window) {
        s.inject(padded[sent % padded.length]!);
        sent++;
        inflight++;
      }
      setImmediate(pump);
    };
    pump();
  });
  const secs = (nowUs() - t0) / 1e6;
  await new Promise((r) => setTimeout(r, 200));
  s.close();
  lat.sort((a, b) => a - b);
  const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! : null);
  process.stdout.write(
    `${JSON.stringify({ samples: lat.length, lost, p50Us: q(0.5), p99Us: q(0.99), maxUs: lat.at(-1) ?? null, blastSent: sent, blastReplies, repliesPerSec: Math.round(blastReplies / secs) })}\n`,
  );
}

function quantiles(lat: number[]): { p50Us: number | null; p99Us: number | null; maxUs: number | null } {
  lat.sort((a, b) => a - b);
  const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! : null);
  return { p50Us: q(0.5), p99Us: q(0.99), maxUs: lat.at(-1) ?? null };
}

async function ndp(src: string, ips: string[], samples: number): Promise<void> {
  const s = session('icmp6 and ip6[40] == 136');
  let waiting: { ip: string; t0: number; done: (us: number) => void } | undefined;
  s.on('packet', (p: { buf: Buffer; header: Buffer }) => {
    const t = nowUs();
    const e = decodeEthernet(copy(p));
    if (!e.ok) return;
    const ip = decodeIpv6(e.value.payload);
    if (!ip.ok) return;
    const m = decodeNdp(ip.value);
    if (m.ok && m.value.kind === 'na' && waiting && m.value.target === waiting.ip) {
      const w = waiting;
      waiting = undefined;
      w.done(t - w.t0);
    }
  });
  const frames = ips.map((ip) => {
    const sn = solicitedNodeBytes(parseIpv6(ip)!);
    return Buffer.from(
      encodeEthernet({
        dst: multicastMac(sn),
        src: mac,
        etherType: EtherType.ipv6,
        payload: encodeNdp(src, ipv6At(sn, 0), { kind: 'ns', target: ip, sourceLinkAddr: mac }),
      }),
    );
  });
  const lat: number[] = [];
  let lost = 0;
  for (let i = 0; i < samples; i++) {
    const k = i % ips.length;
    const us = await new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => {
        waiting = undefined;
        resolve(undefined);
      }, 200);
      waiting = {
        ip: ips[k]!,
        t0: nowUs(),
        done: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
      };
      s.inject(frames[k]!);
    });
    if (us === undefined) lost++;
    else lat.push(us);
  }
  s.close();
  process.stdout.write(`${JSON.stringify({ samples: lat.length, lost, ...quantiles(lat) })}\n`);
}

async function burst(frames: number, timeoutMs: number): Promise<void> {
  const s = session('arp or (icmp6 and ip6[40] == 136)');
  let n = 0;
  let first = 0;
  let last = 0;
  process.stdout.write(`${JSON.stringify({ listening: true })}\n`);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    s.on('packet', () => {
      const t = nowUs();
      if (n === 0) first = t;
      last = t;
      if (++n >= frames) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  s.close();
  process.stdout.write(`${JSON.stringify({ frames: n, spanMs: n ? (last - first) / 1000 : null })}\n`);
}

if (mode === 'arp') await arp(rest[0]!, rest[1]!.split(','), Number(rest[2]), Number(rest[3]));
else if (mode === 'ndp') await ndp(rest[0]!, rest[1]!.split(','), Number(rest[2]));
else if (mode === 'burst') await burst(Number(rest[0]), Number(rest[1]));
else throw new Error(`usage: l2-client.ts arp|burst ...`);
