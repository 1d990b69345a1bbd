// The speaker's L2 announcer: pcap, or the log announcer for labs without raw sockets. (The NATS
// link, opened only when L2 needs it, is speaker-nats.ts.)
import type { L2AnnouncerPort } from '../actors/l2-port.js';
import { LogAnnouncer } from '../actors/log-announcer.js';
import { realClock } from '../actors/clock.js';
import type { Coordinator } from '../actors/coordinator.js';
import type { CoordBus } from '../actors/coord-ports.js';
import { StateFeed, serviceIpSource } from '../actors/state-feed.js';
import type { CurrentMachine } from '../domain/state-feed.js';
import type { LoadedPeers } from '../actors/lazy-peers.js';
import type { BgpPeers } from '../actors/bgp-peers.js';
import type { Meter } from '@opentelemetry/api';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from './log.js';
import type { L2Stats } from './speaker-metrics.js';

type BgpPeersEvent = NonNullable<ConstructorParameters<typeof BgpPeers>[0]['onEvent']>;

/**
 * The BGP runtime's loader for LazyPeers: `native` (our BGP/BFD, src/adapters/speaker-bgp.ts) or
 * `frr` (FRR beside the speaker configured by reloads, src/adapters/frr.ts); each a chunk of its own.
 */
export function bgpRuntime(o: {
  backend: 'native' | 'frr';
  node: string;
  log: Logger;
  meter: Meter;
  frrVtySocket: string;
  frrStateDir?: string;
  onEvent: BgpPeersEvent;
}): () => Promise<LoadedPeers> {
  const { node, log } = o;
  if (o.backend === 'frr')
    return () =>
      import('./frr.js').then(
        (m) =>
          new m.FrrPeers({
            vtySocket: o.frrVtySocket,
            stateDir: o.frrStateDir ?? join(tmpdir(), `mooring-frr-${node}`),
            hostname: node,
            log,
            onEvent: o.onEvent,
          }),
      );
  return () => import('./speaker-bgp.js').then((m) => m.createSpeakerPeers({ node, log, meter: o.meter, onEvent: o.onEvent }));
}

/** The L2 announcer: `pcap` (ARP/NDP on the node's interfaces) or `log` (prints what it would do). */
export async function openL2Announcer(kind: string, log: Logger): Promise<{ l2: L2AnnouncerPort; stats: L2Stats }> {
  if (kind === 'log') return { l2: new LogAnnouncer((event, ip) => log.info(event, { event: `l2.${event}`, ip })), stats: () => undefined };
  const { L2Announcer } = await import('../actors/l2-announcer.js');
  const { createLinuxL2Host } = await import('./pcap-link.js');
  const host = await createLinuxL2Host((ev) => log.debug('l2', { ...ev, event: `l2.${String(ev.event ?? 'host')}` }));
  const l2 = new L2Announcer(host, { log: (ev) => log.info('l2', { ...ev, event: `l2.${String(ev.event ?? 'event')}` }) });
  return { l2, stats: () => l2.stats() as unknown as ReturnType<L2Stats> };
}

/**
 * The state feed for `mooring viz` (docs/visualizer.md), started: every serviceIp transition of
 * `coord`, record timestamps in wall ms; snapshots list `coord`'s and `peers`' machines as they
 * are (`peers` is called only when a snapshot is asked for, or after `feed.changed()`: the caller
 * calls it when the peers change). The caller passes BGP/BFD events to `peerEvent`. It
 * publishes through the speaker's bus, so a node that has no NATS link (BGP only) feeds nothing.
 */
export function startStateFeed(
  cluster: string,
  node: string,
  bus: CoordBus,
  coord: Pick<Coordinator, 'onTransition' | 'machines' | 'onTable'>,
  peers?: { machines(): Iterable<CurrentMachine> },
): StateFeed {
  const feed = new StateFeed({ cluster, node, inc: Date.now(), bus, clock: realClock, stamp: () => Date.now() });
  coord.onTransition((t) => feed.serviceIp(t));
  // Snapshots list every machine as it is now, moved or not.
  feed.addSource(['serviceIp'], serviceIpSource(coord));
  if (peers) feed.addSource(['bgpSession', 'bfdSession'], () => peers.machines());
  coord.onTable(() => feed.changed());
  feed.start();
  return feed;
}
