// `npx tsx bench/bfd-idle.bench.ts`: the CPU of a BFD speaker process (bfd-probe) with little to do, for
// each datagram port: node:dgram (`dgram`), the batched port always polling on its tick (`tick`,
// as before 2026-12-07) and the batched port as shipped (`mmsg`: readiness while packets are few,
// tick when many; domain/bfd-io-mode.ts). Runs as root in namespaces it creates:
//   router r (FRR bfdd): 198.51.100.65/26        bridge b: br0        node n (bfd-probe): 198.51.100.66/26
// Cases: `none` (0 sessions: the open port alone), `noPeer` (one session at 300 ms to an address
// nobody holds, 198.51.100.67: Down, sending at the slow 1 s rate), `up` (one session at 300 ms × 3
// Up with FRR bfdd: the idle speaker with one BFD peer). Each case runs each port in turn, ROUNDS
// times in alternating order; a run measures `cpuUserUs + cpuSystemUs` over `mono` between two
// `stats` SECONDS apart, after 3 s (Up: after Up and the Poll) to settle, and the process's
// wake-ups: timer-queue passes and readiness (SIGIO) wake-ups per second.
// Never asserts. Env: BFD_IDLE_SECONDS (20), BFD_IDLE_ROUNDS (2), BFD_IDLE_CASES (none,noPeer,up),
// BFD_IDLE_IOS (dgram,tick,mmsg).
import { Lab, waitFor, type Netns } from '../test/lib/netns.js';
import { requireRoot, requireTools } from '../test/lib/prereq.js';
import { Bfdd, Probe } from '../test/lib/bfd.js';
import { loadavg } from 'node:os';

const SECONDS = Number(process.env.BFD_IDLE_SECONDS ?? 20);
const ROUNDS = Number(process.env.BFD_IDLE_ROUNDS ?? 2);
const CASES = (process.env.BFD_IDLE_CASES ?? 'none,noPeer,up').split(',') as Array<'none' | 'noPeer' | 'up'>;
const IOS = (process.env.BFD_IDLE_IOS ?? 'dgram,tick,mmsg').split(',') as Array<'dgram' | 'tick' | 'mmsg'>;
const R4 = '198.51.100.65';
const N4 = '198.51.100.66';
const NOBODY = '198.51.100.67';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;
const profile = { receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3 };
const env = (io: 'dgram' | 'tick' | 'mmsg'): Record<string, string> =>
  io === 'dgram' ? { BFD_IO: 'dgram' } : io === 'tick' ? { BFD_IO: 'mmsg', BFD_IO_MODE: 'tick' } : { BFD_IO: 'mmsg' };

interface Run {
  cpuPct: number;
  passesPerSec: number;
  readinessPerSec: number;
  mode: string;
  load1: number;
}

async function measure(lab: Lab, r: Netns, n: Netns, kind: 'none' | 'noPeer' | 'up', io: 'dgram' | 'tick' | 'mmsg'): Promise<Run> {
  const frr = kind === 'up' ? Bfdd.start(lab, r, [{ peer: N4, receiveMs: 300, transmitMs: 300, multiplier: 3 }]) : undefined;
  if (frr) await waitFor('bfdd vty', () => frr.peers()?.length === 1, 15_000);
  const sessions = kind === 'none' ? [] : [{ peer: kind === 'up' ? R4 : NOBODY, profile }];
  const probe = Probe.start(lab, n, { listen: [N4], sessions }, env(io));
  try {
    await waitFor('probe ready', () => probe.events.some((e) => e.event === 'ready'), 20_000);
    if (frr) {
      await waitFor(
        `Up at 300 ms\n${probe.tail()}`,
        () =>
          probe.state(R4)?.to === 'up' &&
          frr.peer(N4)?.status === 'up' &&
          frr.peer(N4)?.['remote-transmit-interval'] === 300 &&
          frr.peer(N4)?.['transmit-interval'] === 300,
        30_000,
        50,
      );
    }
    await sleep(3000);
    const a = await probe.stats();
    await sleep(SECONDS * 1000);
    const b = await probe.stats();
    const ms = (b.mono ?? 0) - (a.mono ?? 0);
    const us = Number(b.cpuUserUs) + Number(b.cpuSystemUs) - (Number(a.cpuUserUs) + Number(a.cpuSystemUs));
    const ioA = (a.io ?? {}) as { readinessWakeups?: number };
    const ioB = (b.io ?? {}) as { readinessWakeups?: number };
    return {
      cpuPct: (us / 1000 / ms) * 100,
      passesPerSec: ((Number(b.passes) - Number(a.passes)) / ms) * 1000,
      readinessPerSec: (((ioB.readinessWakeups ?? 0) - (ioA.readinessWakeups ?? 0)) / ms) * 1000,
      mode: String(b.mode ?? '-'),
      load1: loadavg()[0]!,
    };
  } finally {
    await probe.stop();
    await frr?.stop();
  }
}

async function main(): Promise<void> {
  requireRoot();
  requireTools('ip', 'vtysh');
  const load0 = loadavg().map(r1);
  const lab = new Lab('bi');
  const runs = new Map<string, Run[]>();
  try {
    const r = lab.netns('r');
    const n = lab.netns('n');
    const b = lab.netns('b');
    lab.bridge(b, 'br0');
    lab.link(r, 'eth0', b, 'br0', [`${R4}/26`]);
    lab.link(n, 'eth0', b, 'br0', [`${N4}/26`]);
    for (const kind of CASES) {
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? IOS : [...IOS].reverse();
        for (const io of order) {
          const run = await measure(lab, r, n, kind, io);
          const key = `${kind}/${io}`;
          runs.set(key, [...(runs.get(key) ?? []), run]);
          process.stderr.write(
            `${key}: ${r2(run.cpuPct)} % (${r1(run.passesPerSec)} passes/s, ${r1(run.readinessPerSec)} readiness/s, mode ${run.mode}, load ${r1(run.load1)})\n`,
          );
        }
      }
    }
  } finally {
    await lab.cleanup();
  }
  const rows = [['case', 'port', 'CPU % of a core (each run)', 'mean', 'passes/s', 'readiness/s', 'mode']];
  const result: Record<string, unknown> = {};
  for (const [key, rs] of runs) {
    const mean = rs.reduce((s, x) => s + x.cpuPct, 0) / rs.length;
    const [kind, io] = key.split('/') as [string, string];
    rows.push([
      kind,
      io,
      rs.map((x) => r2(x.cpuPct)).join(', '),
      String(r2(mean)),
      String(r1(rs.reduce((s, x) => s + x.passesPerSec, 0) / rs.length)),
      String(r1(rs.reduce((s, x) => s + x.readinessPerSec, 0) / rs.length)),
      rs.map((x) => x.mode).join(','),
    ]);
    result[key] = {
      cpuPct: rs.map((x) => r2(x.cpuPct)),
      meanPct: r2(mean),
      passesPerSec: r1(rs.reduce((s, x) => s + x.passesPerSec, 0) / rs.length),
      readinessPerSec: r1(rs.reduce((s, x) => s + x.readinessPerSec, 0) / rs.length),
      mode: rs.map((x) => x.mode),
    };
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  console.log(JSON.stringify({ seconds: SECONDS, rounds: ROUNDS, ...result, loadAvg: { start: load0, end: loadavg().map(r1) } }));
}

main().catch((e: unknown) => {
  process.stderr.write(`bfd-idle bench failed: ${String(e)}\n`);
  process.exitCode = 1;
});
