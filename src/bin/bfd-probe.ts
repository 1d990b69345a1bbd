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
import { performance } from 'node:perf_hooks';
import { openBfdPort } from '../adapters/bfd-port.js';
import { BfdMmsgPort } from '../adapters/bfd-mmsg.js';
import { BfdHub } from '../actors/bfd-transport.actor.js';
import { bfdSessionSettings, type BfdProfileSettings } from '../domain/bfd-profile.js';
import { ioPollPeriodMs } from '../domain/bfd-timers.js';
import { createBfdSession, type BfdSession } from '../actors/bfd-session-runner.js';
import { BfdProbeStats } from '../actors/bfd-probe-stats.js';
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
  const probe = new BfdProbeStats(hub, timers);
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
      probe.sessionHub,
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
      case 'stats':
        out({ event: 'stats', at: at(), mono: mono(), ...probe.stats(sessions, port.gtsm, mmsg) });
        break;
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
