// bfd-bgp-node: one node's BGP speaker with BFD-coupled peers, as one process (integration tests
// of the BFD → BGP coupling; the speaker composition root can copy the wiring). Config (JSON):
//   { node: {name}, peers: SpeakerPeerConfig[] (set bfdRequired on BFD peers), advertisements?,
//     services?, bfd: { listen: string[], sessions: [{ bgpPeer, peer, local?, profile? }] } }
// A BFD session going down for a path failure sends `bfd.down` to its BGP peer's session at
// once (reason bfdDown); entering Up sends `bfd.up` (domain/bfd-coupling.ts). Output: JSON lines,
// the speaker's events plus `{"event":"bfdState",...}`.
import { readFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BgpSpeaker, type SpeakerPeerConfig } from '../actors/bgp-speaker.js';
import { createBgpTransport, type TransportStats } from '../actors/bgp-transport.actor.js';
import { bgpSocketPort } from '../adapters/bgp-socket.js';
import { BfdUdpPort } from '../adapters/bfd-udp.js';
import { BfdMmsgPort } from '../adapters/bfd-mmsg.js';
import { BfdHub } from '../actors/bfd-transport.actor.js';
import { coupleBfdToBgp } from '../actors/bfd-bgp-coupling.js';
import { desiredRoutes, type AdvService, type AdvSpec } from '../domain/bgp-advertisements.js';
import { bfdSessionSettings, type BfdProfileSettings } from '../domain/bfd-profile.js';
import { ioPollPeriodMs } from '../domain/bfd-timers.js';
import { createBfdSession, type BfdSession } from '../actors/bfd-session-runner.js';
import { TimerQueue } from '../actors/timer-queue.js';
import { sessionStateOf } from '../machines/bfd-session.machine.js';

interface NodeFile {
  node: { name: string };
  peers: SpeakerPeerConfig[];
  advertisements?: AdvSpec[];
  services?: AdvService[];
  bfd: { listen: string[]; sessions: Array<{ bgpPeer: string; peer: string; local?: string; profile?: BfdProfileSettings }> };
}

const out = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ at: performance.timeOrigin + performance.now(), component: 'bfd-bgp-node', ...o })}\n`);
};

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) { out({ event: 'error', message: 'usage: bfd-bgp-node CONFIG.json' }); process.exit(2); }
  const cfg = JSON.parse(readFileSync(path, 'utf8')) as NodeFile;

  const stats: TransportStats = { bytesOut: 0, bytesIn: 0, messagesOut: 0 };
  const speaker = new BgpSpeaker({
    nodeName: cfg.node.name, peers: cfg.peers, transport: createBgpTransport(bgpSocketPort, { stats }), onEvent: (e) => out({ ...e }),
  });
  speaker.setRoutes(desiredRoutes({
    node: cfg.node, peers: cfg.peers.map((p) => ({ name: p.name, myAsn: p.myAsn, peerAsn: p.peerAsn })),
    advertisements: cfg.advertisements ?? [{ name: 'default' }], services: cfg.services ?? [],
  }));

  const timers = new TimerQueue();
  // Batched BFD socket I/O when koffi is there (adapters/bfd-mmsg.ts), else node:dgram.
  const shortest = Math.min(...cfg.bfd.sessions.flatMap((s) => [s.profile?.receiveIntervalMs ?? 300, s.profile?.transmitIntervalMs ?? 300]));
  const pollMs = ioPollPeriodMs(shortest);
  const mmsg = process.env.BFD_IO === 'dgram' ? undefined : await BfdMmsgPort.open({ localAddresses: cfg.bfd.listen, timers, pollMs });
  const port = mmsg ?? await BfdUdpPort.open({ localAddresses: cfg.bfd.listen });
  const hub = new BfdHub(port);
  const sessions: BfdSession[] = [];
  for (const s of cfg.bfd.sessions) {
    const settings = bfdSessionSettings(s.profile);
    if (!settings.ok) { out({ event: 'error', message: JSON.stringify(settings.errors) }); process.exit(2); }
    const actor = createBfdSession(hub, timers, {
      peer: s.peer, ...(s.local ? { local: s.local } : {}), localDiscr: randomInt(1, 0xffffffff), seed: randomInt(0, 0xffffffff), ...settings.value,
    }, undefined, { txSlotMs: mmsg ? pollMs : 0 });
    let prev = 'down';
    actor.subscribe((snap) => {
      const to = sessionStateOf(snap.value);
      if (to !== prev) out({ event: 'bfdState', peer: s.bgpPeer, address: s.peer, from: prev, to, diag: snap.context.localDiag, reason: snap.context.downReason });
      prev = to;
    });
    // Subscribed before start so the first Up is never missed.
    coupleBfdToBgp(actor, (ev) => { out({ event: 'bfdCoupling', peer: s.bgpPeer, send: ev.type }); speaker.bfd(s.bgpPeer, ev.type === 'bfd.up'); });
    sessions.push(actor);
  }
  speaker.start();
  for (const a of sessions) a.start();
  out({ event: 'started', node: cfg.node.name });

  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    for (const a of sessions) a.send({ type: 'bfd.admin.down' });
    speaker.stop(false);
    setTimeout(() => {
      for (const a of sessions) a.close();
      hub.close();
      void port.close().then(() => process.exit(0));
    }, 300);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

void main();
