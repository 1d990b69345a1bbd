// `bgp-speaker`: runs one node's BGP sessions from a config file (JSON or YAML), so integration
// tests and benchmarks run the real codec, machine, transport and advertisement code as a
// process inside a network namespace.
//
//   tsx src/bin/bgp-speaker.ts --config speaker.yaml
//
// Config: { node: {name, labels?}, peers: SpeakerPeerConfig[], advertisements?: AdvSpec[]
//           (default: one advertisement for every peer), services?: AdvService[],
//           prefixes?: string[] (announced as-is to every peer, for benchmarks) }
// SIGHUP re-reads the file: a changed peer restarts, a removed one stops, and the route
// differences are sent. Peers run under the node's peer supervisor (actors/bgp-peers.ts, the
// speaker's). SIGTERM/SIGINT stop every session (CEASE,
// or a silent close for graceful-restart peers so the router keeps the routes) and exit.
// Logs: one JSON object per line on stdout (`event`, `peer`, `reason`, ...).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { uniformRoutes, type SpeakerPeerConfig } from '../actors/bgp-speaker.js';
import { BgpPeers } from '../actors/bgp-peers.js';
import { createBgpTransport, type TransportStats } from '../actors/bgp-transport.actor.js';
import { bgpSocketPort } from '../adapters/bgp-socket.js';
import { linuxUnnumberedPort } from '../adapters/unnumbered-link.js';
import { desiredRoutes, type AdvService, type AdvSpec, type RouteAttrs } from '../domain/bgp-advertisements.js';
import type { Labels } from '../domain/label-selector.js';

interface SpeakerFile {
  node: { name: string; labels?: Labels };
  peers: SpeakerPeerConfig[];
  advertisements?: AdvSpec[];
  services?: AdvService[];
  prefixes?: string[];
  /** Attributes for `prefixes`. */
  prefixAttrs?: { localPref?: number; communities?: number[] };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const path = arg('--config');
if (!path) {
  process.stderr.write('usage: bgp-speaker --config <file.yaml|file.json>\n');
  process.exit(2);
}

function load(): SpeakerFile {
  const text = readFileSync(path as string, 'utf8');
  const cfg = (path as string).endsWith('.json') ? (JSON.parse(text) as SpeakerFile) : (parseYaml(text) as SpeakerFile);
  if (!cfg?.node?.name || !Array.isArray(cfg.peers)) throw new Error(`${path}: needs node.name and peers[]`);
  return cfg;
}

const out = (o: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify({ ts: new Date().toISOString(), component: 'bgp-speaker', ...o }) + '\n');
};

function routesOf(cfg: SpeakerFile): Map<string, Map<string, RouteAttrs>> {
  const peers = cfg.peers.map((p) => ({ name: p.name, myAsn: p.myAsn, peerAsn: p.peerAsn }));
  const routes = desiredRoutes({
    node: cfg.node,
    peers,
    advertisements: cfg.advertisements ?? [{ name: 'default' }],
    services: cfg.services ?? [],
  });
  if (cfg.prefixes && cfg.prefixes.length > 0) {
    const extra = uniformRoutes(
      peers.map((p) => p.name),
      cfg.prefixes,
      {
        ...(cfg.prefixAttrs?.localPref !== undefined ? { localPref: cfg.prefixAttrs.localPref } : {}),
        communities: cfg.prefixAttrs?.communities ?? [],
        largeCommunities: [],
      },
    );
    for (const [peer, m] of extra) {
      const r = routes.get(peer) ?? new Map<string, RouteAttrs>();
      for (const [p, a] of m) r.set(p, a);
      routes.set(peer, r);
    }
  }
  return routes;
}

let cfg: SpeakerFile;
try {
  cfg = load();
} catch (e) {
  out({ level: 'error', event: 'configError', err: (e as Error).message });
  process.exit(2);
}

const stats: TransportStats = { bytesOut: 0, bytesIn: 0, messagesOut: 0 };
const logAt = (level: string) => (msg: string, f?: Record<string, unknown>) => out({ level, msg, ...f });
const peers = new BgpPeers({
  nodeName: cfg.node.name,
  transport: () => createBgpTransport(bgpSocketPort, { stats }),
  bfdPort: () => Promise.reject(new Error('bgp-speaker runs no BFD')),
  log: { info: logAt('info'), warn: logAt('warn'), error: logAt('error') },
  onEvent: (e) => out({ ...e }),
  unnumbered: linuxUnnumberedPort({
    onInvalid: (iface, reason, count) => out({ level: 'warn', event: 'bgp.raInvalid', interface: iface, reason, count }),
  }),
});
const apply = (c: SpeakerFile): void => {
  peers.setRoutes(routesOf(c));
  peers.reconcile(c.peers.map((bgp) => ({ bgp })));
};
apply(cfg);
out({ event: 'started', node: cfg.node.name, peers: cfg.peers.map((p) => p.name) });
const metrics = () => Object.fromEntries(peers.metrics().map((p) => [p.peer, p.metrics]));

process.on('SIGHUP', () => {
  try {
    cfg = load();
    apply(cfg);
    out({ event: 'reloaded' });
  } catch (e) {
    out({ level: 'error', event: 'configError', err: (e as Error).message });
  }
});

let stopping = false;
const shutdown = (sig: string): void => {
  if (stopping) return;
  stopping = true;
  out({ event: 'stopping', signal: sig, metrics: metrics(), stats });
  void peers.stop(true);
  // Give the sockets a moment to flush the NOTIFICATION / FIN.
  setTimeout(() => process.exit(0), 300).unref();
  setTimeout(() => process.exit(0), 1500);
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGUSR1', () => out({ event: 'metrics', metrics: metrics(), stats }));
