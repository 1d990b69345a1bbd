// bfd-bgp-node: one node's BGP speaker with BFD-coupled peers, as one process (integration tests
// of the BFD → BGP coupling and the BFD benchmark), run by the node's peer supervisor
// (actors/bgp-peers.ts, the same as the speaker's). Config (JSON):
//   { node: {name}, peers: SpeakerPeerConfig[] (set bfdRequired on BFD peers), advertisements?,
//     services?, bfd: { listen: string[], sessions: [{ bgpPeer, peer, local?, profile? }] } }
// A BFD session going down for a path failure sends `bfd.down` to its BGP peer's session at
// once (reason bfdDown); entering Up sends `bfd.up` (domain/bfd-coupling.ts). Output: JSON lines,
// the speaker's events plus `{"event":"bfdState",...}` and `{"event":"bfdCoupling",...}`.
// BFD socket I/O is batched (adapters/bfd-mmsg.ts) when koffi loads, else node:dgram
// (BFD_IO=dgram forces it).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { SpeakerPeerConfig } from '../actors/bgp-speaker.js';
import { BgpPeers, type BfdPortFactory, type PeerSpec } from '../actors/bgp-peers.js';
import { createBgpTransport, type TransportStats } from '../actors/bgp-transport.actor.js';
import { bgpSocketPort } from '../adapters/bgp-socket.js';
import { openBfdPort } from '../adapters/bfd-port.js';
import { desiredRoutes, type AdvService, type AdvSpec } from '../domain/bgp-advertisements.js';
import { bfdSessionSettings, type BfdProfileSettings } from '../domain/bfd-profile.js';
import { ioPollPeriodMs } from '../domain/bfd-timers.js';

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

function main(): void {
  const path = process.argv[2];
  if (!path) {
    out({ event: 'error', message: 'usage: bfd-bgp-node CONFIG.json' });
    process.exit(2);
  }
  const cfg = JSON.parse(readFileSync(path, 'utf8')) as NodeFile;
  for (const s of cfg.bfd.sessions) {
    const settings = bfdSessionSettings(s.profile);
    if (!settings.ok) {
      out({ event: 'error', message: JSON.stringify(settings.errors) });
      process.exit(2);
    }
  }
  const specs: PeerSpec[] = cfg.peers.map((bgp) => {
    const s = cfg.bfd.sessions.find((x) => x.bgpPeer === bgp.name);
    return s
      ? { bgp, bfd: { address: s.peer, ...(s.local ? { local: s.local } : {}), multihop: false, profile: s.profile ?? {} } }
      : { bgp };
  });

  // Batched I/O polls on the sessions' timer queue, at a period from the shortest interval.
  const shortest = Math.min(
    ...cfg.bfd.sessions.flatMap((s) => [s.profile?.receiveIntervalMs ?? 300, s.profile?.transmitIntervalMs ?? 300]),
  );
  const pollMs = ioPollPeriodMs(shortest);
  // The speaker's port (adapters/bfd-port.ts); BFD_IO=dgram (or MOORING_BFD_IO=dgram) for node:dgram.
  const bfdPort: BfdPortFactory = async ({ timers }) => {
    const port = await openBfdPort({
      localAddresses: cfg.bfd.listen,
      timers,
      pollMs,
      ...(process.env.BFD_IO === 'dgram' ? { io: 'dgram' as const } : {}),
    });
    return { port, txSlotMs: port.txSlotMs };
  };
  const stats: TransportStats = { bytesOut: 0, bytesIn: 0, messagesOut: 0 };
  const logAt = (level: string) => (msg: string, f?: Record<string, unknown>) => out({ level, msg, ...f });
  const peers = new BgpPeers({
    nodeName: cfg.node.name,
    transport: () => createBgpTransport(bgpSocketPort, { stats }),
    bfdPort,
    log: { info: logAt('info'), warn: logAt('warn'), error: logAt('error') },
    onEvent: (e) => out({ ...e }),
  });
  peers.setRoutes(
    desiredRoutes({
      node: cfg.node,
      peers: cfg.peers.map((p) => ({ name: p.name, myAsn: p.myAsn, peerAsn: p.peerAsn })),
      advertisements: cfg.advertisements ?? [{ name: 'default' }],
      services: cfg.services ?? [],
    }),
  );
  peers.reconcile(specs);
  out({ event: 'started', node: cfg.node.name });

  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    void peers.stop(false).then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main();
