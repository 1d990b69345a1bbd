// bfd-probe: runs N BFD sessions from a JSON config as one process (integration tests, the
// benchmark, and a field tool). Prints one JSON object per line on stdout:
//   {"event":"ready","sourcePort":51234,"sessions":2}
//   {"event":"state","peer":"198.51.100.65","from":"init","to":"up","diag":0,"reason":null,"at":1764151234567.123}
//   {"event":"stats",...}                     (answer to the `stats` command)
// `at` is epoch milliseconds (performance.timeOrigin + now()); `mono` is CLOCK_MONOTONIC in ms
// (process.hrtime), shared by every process on the host: the benchmark compares it with its own.
// Commands, one JSON object per line on stdin:
//   {"cmd":"adminDown","peer":"…"}  {"cmd":"adminUp","peer":"…"}  (peer omitted: all sessions)
//   {"cmd":"stats"}
//   {"cmd":"setMinTtl","minTtl":254}  → {"event":"minTtl","minTtl":254,"ok":true}  (the port's received-TTL floor, as the speaker sets it)
// SIGTERM/SIGINT: every session goes AdminDown (so the peer does not see a failure, RFC 5882
// §3.2), one AdminDown packet is flushed, sockets close, exit 0.
//
// Config (argv[2], a file path):
//   { "listen": ["198.51.100.66"], "port": 3784,
//     "sessions": [ { "peer": "198.51.100.65", "local": "198.51.100.66" (optional),
//                     "profile": { "receiveIntervalMs": 100, "transmitIntervalMs": 100,
//                                  "detectMultiplier": 3, "passiveMode": false },
//                     "adminDown": false } ] }
// Multi-hop (RFC 5883): "port": 4784 and "minTtl": the received TTL/Hop Limit floor (default 255,
// single hop; MetalLB's minimumTtl default is 254).
import { readFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { createInterface } from 'node:readline';
import { createHistogram, performance } from 'node:perf_hooks';
import { openBfdPort } from '../adapters/bfd-port.js';
import { BfdMmsgPort } from '../adapters/bfd-mmsg.js';
import { BfdHub } from '../actors/bfd-transport.actor.js';
import { bfdSessionSettings, type BfdProfileSettings } from '../domain/bfd-profile.js';
import { ioPollPeriodMs } from '../domain/bfd-timers.js';
import { createBfdSession, type BfdSession, type BfdSessionHub } from '../actors/bfd-session-runner.js';
import { TimerQueue } from '../actors/timer-queue.js';
import { packetFor, sessionStateOf } from '../machines/bfd-session.machine.js';

interface ProbeConfig {
  listen: string[];
  port?: number;
  minTtl?: number;
  sessions: Array<{ peer: string; local?: string; profile?: BfdProfileSettings; adminDown?: boolean }>;
}

const out = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};
const at = (): number => performance.timeOrigin + performance.now();
const mono = (): number => Number(process.hrtime.bigint()) / 1e6;

function fail(message: string): never {
  out({ event: 'error', message });
  process.exit(2);
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) fail('usage: bfd-probe CONFIG.json');
  let cfg: ProbeConfig;
  try {
    cfg = JSON.parse(readFileSync(path, 'utf8')) as ProbeConfig;
  } catch (e) {
    fail(`cannot read config ${path}: ${(e as Error).message}`);
  }
  if (!Array.isArray(cfg.listen) || !Array.isArray(cfg.sessions)) fail('config needs "listen" and "sessions" arrays');

  // One timer queue for every session's transmit and detection timers (actors/timer-queue.ts).
  const timers = new TimerQueue();
  // The time of the timer queue's current pass (periodic sends happen in passes; the gap
  // statistics need no clock read per packet).
  let passNow = timers.now();
  // How late the timer queue's passes run (tells a starved process from a BFD fault), recorded in
  // its own poller: no timer of its own (a loop-delay monitor is one more wake-up source).
  const passLate = createHistogram();
  timers.addPoller(() => {
    passNow = timers.now();
    const late = passNow - timers.passDueAt;
    if (late >= 0) passLate.record(Math.max(1, Math.round(late * 1e6)));
  });
  // The speaker's port (adapters/bfd-port.ts): batched socket I/O (sendmmsg/recvmmsg through
  // koffi, adapters/bfd-mmsg.ts) unless BFD_IO=dgram (or MOORING_BFD_IO=dgram) or unavailable;
  // periodic transmissions then fall on the port's poll grid. BFD_IO_MODE=tick: the batched port
  // polls on its grid even when idle (no readiness mode; as before 2026-12-07).
  const portOpts = { localAddresses: cfg.listen, ...(cfg.port ? { port: cfg.port } : {}), ...(cfg.minTtl ? { minTtl: cfg.minTtl } : {}) };
  // Receive poll period and transmit slot: from the sessions' shortest interval (env BFD_POLL_MS).
  const shortest = Math.min(...cfg.sessions.flatMap((s) => [s.profile?.receiveIntervalMs ?? 300, s.profile?.transmitIntervalMs ?? 300]));
  const POLL_MS = process.env.BFD_POLL_MS ? Number(process.env.BFD_POLL_MS) : ioPollPeriodMs(shortest);
  const io = process.env.BFD_IO === 'dgram' || process.env.MOORING_BFD_IO === 'dgram' ? 'dgram' : 'mmsg';
  const port = await openBfdPort({ ...portOpts, timers, io, pollMs: POLL_MS, readiness: process.env.BFD_IO_MODE !== 'tick' }).catch(
    (e: Error) => fail(`cannot open BFD sockets: ${e.message}`),
  );
  const mmsg = port instanceof BfdMmsgPort ? port : undefined;
  const txSlotMs = port.txSlotMs;
  const hub = new BfdHub(port);
  // The hub as the sessions see it, plus the longest gap between two of a session's packets
  // (reported by `stats`): whether our transmissions were timely when a peer declares us down.
  const txGap = new Map<string, { last: number; max: number }>();
  const gapOf = (peer: string, local: string | undefined): { last: number; max: number } => {
    const key = `${local ?? ''}|${peer}`;
    let g = txGap.get(key);
    if (!g) {
      g = { last: NaN, max: 0 };
      txGap.set(key, g);
    }
    return g;
  };
  const sessionHub: BfdSessionHub = {
    register: (d, peer, deliver, local) => hub.register(d, peer, deliver, local),
    send: (peer, packet, local) => {
      const g = gapOf(peer, local);
      const now = timers.now();
      if (now - g.last > g.max) g.max = now - g.last;
      g.last = now;
      hub.send(peer, packet, local);
    },
    // Per session: the gap record and the hub's bound sender resolved once.
    sender: (peer, local) => {
      const g = gapOf(peer, local);
      const send = hub.sender(peer, local);
      return (packet) => {
        const now = passNow;
        if (now - g.last > g.max) g.max = now - g.last;
        g.last = now;
        send(packet);
      };
    },
  };
  const sessions: Array<{ peer: string; local: string | undefined; actor: BfdSession }> = [];
  const used = new Set<number>();

  for (const s of cfg.sessions) {
    const settings = bfdSessionSettings(s.profile);
    if (!settings.ok) fail(`session ${s.peer}: ${settings.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
    for (const w of settings.warnings) out({ event: 'warning', peer: s.peer, field: w.field, message: w.message });
    let localDiscr = 0;
    while (localDiscr === 0 || used.has(localDiscr)) localDiscr = randomInt(1, 0xffffffff);
    used.add(localDiscr);
    const actor = createBfdSession(
      sessionHub,
      timers,
      {
        peer: s.peer,
        ...(s.local ? { local: s.local } : {}),
        localDiscr,
        seed: randomInt(0, 0xffffffff),
        adminDown: s.adminDown ?? false,
        ...settings.value,
      },
      undefined,
      { txSlotMs },
    );
    let prev = 'down';
    actor.subscribe((snap) => {
      const to = sessionStateOf(snap.value);
      if (to === prev) return;
      out({
        event: 'state',
        peer: s.peer,
        ...(s.local ? { local: s.local } : {}),
        localDiscr,
        from: prev,
        to,
        diag: snap.context.localDiag,
        reason: snap.context.downReason,
        at: at(),
        mono: mono(),
      });
      prev = to;
    });
    sessions.push({ peer: s.peer, local: s.local, actor });
  }
  for (const { actor } of sessions) actor.start();
  out({
    event: 'ready',
    sourcePort: port.sourcePort,
    sessions: sessions.length,
    gtsm: port.gtsm,
    dscp: port.dscp,
    io: port.io,
    ...(mmsg ? { mode: mmsg.mode } : {}),
  });

  const targets = (peer: unknown): BfdSession[] => sessions.filter((x) => typeof peer !== 'string' || x.peer === peer).map((x) => x.actor);
  createInterface({ input: process.stdin }).on('line', (line) => {
    let cmd: { cmd?: string; peer?: unknown; minTtl?: unknown };
    try {
      cmd = JSON.parse(line) as typeof cmd;
    } catch {
      out({ event: 'error', message: `bad command: ${line}` });
      return;
    }
    switch (cmd.cmd) {
      case 'adminDown':
        for (const a of targets(cmd.peer)) a.send({ type: 'bfd.admin.down' });
        break;
      case 'adminUp':
        for (const a of targets(cmd.peer)) a.send({ type: 'bfd.admin.up' });
        break;
      case 'stats': {
        const cpu = process.cpuUsage();
        out({
          event: 'stats',
          at: at(),
          mono: mono(),
          cpuUserUs: cpu.user,
          cpuSystemUs: cpu.system,
          passes: timers.passes,
          // Since the previous stats (ms): p50/p99/max of how late the timer queue's passes ran.
          loopDelayMs: { p50: passLate.percentile(50) / 1e6, p99: passLate.percentile(99) / 1e6, max: passLate.max / 1e6 },
          discards: hub.discards,
          gtsm: port.gtsm,
          ...(mmsg ? { io: mmsg.stats, mode: mmsg.mode } : {}),
          sessions: sessions.map(({ peer, local, actor }) => ({
            peer,
            local,
            state: sessionStateOf(actor.getSnapshot().value),
            ...hub.countersFor(peer),
            maxTxGapMs: Math.round((txGap.get(`${local ?? ''}|${peer}`)?.max ?? 0) * 10) / 10,
          })),
        });
        passLate.reset();
        for (const g of txGap.values()) g.max = 0;
        break;
      }
      case 'setMinTtl': {
        const minTtl = Number(cmd.minTtl);
        if (!Number.isInteger(minTtl) || minTtl < 1 || minTtl > 255) {
          out({ event: 'error', message: `bad minTtl: ${line}` });
          break;
        }
        out({ event: 'minTtl', minTtl, ok: port.setMinTtl(minTtl) });
        break;
      }
      default:
        out({ event: 'error', message: `unknown command: ${line}` });
    }
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    for (const { actor } of sessions) actor.send({ type: 'bfd.admin.down' });
    // One AdminDown packet per session now, so the peer learns it was administrative.
    for (const { actor } of sessions) {
      const c = actor.getSnapshot().context;
      if (c.remoteDiscr !== 0 || !c.passive) hub.send(c.peer, packetFor(c, { poll: false, final: false }), c.local);
    }
    setTimeout(() => {
      for (const { actor } of sessions) actor.close();
      hub.close();
      void port.close().then(() => process.exit(0));
    }, 50);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
