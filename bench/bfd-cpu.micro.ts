// Micro-benchmark (no network): N bfdSessions at 50 ms × 3 in one process, brought Up by a
// simulated peer that sends every session a steady Up packet every 37.5–50 ms; encode+decode in
// the path as on the wire. Prints CPU % of one core over the window (the peer simulation
// included). Env: N (100), SECONDS (5), MODE (runner: the product's BfdSessionRunner on one
// TimerQueue; actor: one XState actor per session, as before).
// `node --import tsx bench/bfd-cpu.micro.ts`
import { createActor, fromCallback } from 'xstate';
import { decodeControl, encodeControl, BfdState, type BfdControlPacket } from '../src/codecs/bfd/control-packet.js';
import {
  bfdSessionMachine,
  sessionStateOf,
  type BfdTransportCommand,
  type BfdTransportInput,
} from '../src/machines/bfd-session.machine.js';
import { BfdSessionRunner, type BfdSessionRef } from '../src/actors/bfd-session-runner.js';
import { TimerQueue } from '../src/actors/timer-queue.js';

const N = Number(process.env.N ?? 100);
const SECONDS = Number(process.env.SECONDS ?? 5);
let sent = 0;
// The simulated peer answers a Poll with a Final (RFC 5880 §6.8.6), as FRR does.
function transmitted(p: BfdControlPacket): void {
  sent++;
  encodeControl(p);
  if (p.poll) setImmediate(() => deliver(p.myDiscr - 1, pkt(p.myDiscr - 1, BfdState.up, p.myDiscr, true)));
}
const machine = bfdSessionMachine.provide({
  actors: {
    bfdTransport: fromCallback<BfdTransportCommand, BfdTransportInput>(({ receive }) => {
      receive((cmd) => {
        transmitted(cmd.packet);
      });
    }),
  },
});
const MODE = process.env.MODE ?? 'runner';
const timers = new TimerQueue();
const actors: Array<BfdSessionRef & { start(): unknown; stop(): void }> = Array.from({ length: N }, (_, i) => {
  const input = { localDiscr: i + 1, desiredMinTxUs: 50_000, requiredMinRxUs: 50_000, detectMult: 3, seed: i };
  return MODE === 'actor' ? createActor(machine, { input }) : new BfdSessionRunner({ input, timers, send: transmitted });
});
for (const a of actors) a.start();
const pkt = (i: number, state: number, yourDiscr: number, final = false): BfdControlPacket => ({
  version: 1,
  diag: 0,
  state: state as 3,
  poll: false,
  final,
  cpi: false,
  demand: false,
  multipoint: false,
  detectMult: 3,
  myDiscr: 1000 + i,
  yourDiscr,
  desiredMinTxUs: 50_000,
  requiredMinRxUs: 50_000,
  requiredMinEchoRxUs: 0,
});
const deliver = (i: number, p: BfdControlPacket) => {
  const r = decodeControl(encodeControl(p));
  if (r.ok) actors[i]!.send({ type: 'bfd.packet.received', packet: r.value });
};
actors.forEach((_, i) => {
  deliver(i, pkt(i, BfdState.down, 0));
  deliver(i, pkt(i, BfdState.up, i + 1, true));
});
const up = () => actors.filter((a) => sessionStateOf(a.getSnapshot().value) === 'up').length;
console.error(`up ${up()}/${N}`);
const next = actors.map(() => performance.now() + Math.random() * 50);
let rx = 0;
const pump = setInterval(() => {
  const now = performance.now();
  for (let i = 0; i < N; i++) {
    if (next[i]! <= now) {
      deliver(i, pkt(i, BfdState.up, i + 1));
      rx++;
      next[i] = now + 37.5 + Math.random() * 12.5;
    }
  }
}, 5);
await new Promise((r) => setTimeout(r, 1000));
const c0 = process.cpuUsage();
const t0 = performance.now();
const s0 = sent;
const r0 = rx;
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const c1 = process.cpuUsage(c0);
const wall = performance.now() - t0;
clearInterval(pump);
const counts =
  MODE === 'runner'
    ? (actors as unknown as BfdSessionRunner[]).reduce(
        (a, r) => ({ machine: a.machine + r.counts.machine, fastRx: a.fastRx + r.counts.fastRx, fastTx: a.fastTx + r.counts.fastTx }),
        { machine: 0, fastRx: 0, fastTx: 0 },
      )
    : undefined;
console.log(
  JSON.stringify({
    mode: MODE,
    sessions: N,
    up: up(),
    ...(counts ? { counts } : {}),
    cpuPct: Math.round(((c1.user + c1.system) / 1000 / wall) * 1000) / 10,
    txPerS: Math.round(((sent - s0) / wall) * 1000),
    rxPerS: Math.round(((rx - r0) / wall) * 1000),
  }),
);
for (const a of actors) a.stop();
