// The speaker's connections, opened with retries: the L2 announcer (pcap, or the log announcer for
// labs without raw sockets), the NATS bus with the node's credentials, and the epoch store
// (JetStream KV). Failures are one-line warnings and a retry, never a stack trace.
import { readFileSync } from 'node:fs';
import type { L2AnnouncerPort } from '../actors/l2-port.js';
import type { EpochStore } from '../actors/coord-ports.js';
import { LogAnnouncer } from '../actors/log-announcer.js';
import { realClock } from '../actors/clock.js';
import type { Coordinator } from '../actors/coordinator.js';
import { StateFeed } from '../actors/state-feed.js';
import type { Logger } from './log.js';
import { NatsBus } from './nats.js';
import type { L2Stats } from './speaker-metrics.js';

/** The L2 announcer: `pcap` (ARP/NDP on the node's interfaces) or `log` (prints what it would do). */
export async function openL2Announcer(kind: string, log: Logger): Promise<{ l2: L2AnnouncerPort; stats: L2Stats }> {
  if (kind === 'log') return { l2: new LogAnnouncer((event, ip) => log.info(event, { event: `l2.${event}`, ip })), stats: () => undefined };
  const { L2Announcer } = await import('../actors/l2-announcer.js');
  const { createLinuxL2Host } = await import('./pcap-link.js');
  const host = await createLinuxL2Host((ev) => log.debug('l2', { ...ev, event: `l2.${String(ev.event ?? 'host')}` }));
  const l2 = new L2Announcer(host, { log: (ev) => log.info('l2', { ...ev, event: `l2.${String(ev.event ?? 'event')}` }) });
  return { l2, stats: () => l2.stats() as unknown as ReturnType<L2Stats> };
}

export interface SpeakerNatsOptions {
  readonly urls: string;
  readonly node: string;
  readonly user?: string | undefined;
  readonly passFile?: string | undefined;
  /** A directory with one password file per node (a mounted Secret): <dir>/<node>; the user is the node name. */
  readonly passDir?: string | undefined;
}

/** Connects to NATS, retrying with backoff (250 ms doubling to 5 s) until it succeeds. */
export async function connectSpeakerNats(o: SpeakerNatsOptions, log: Logger): Promise<NatsBus> {
  const passFile = o.passFile ?? (o.passDir ? `${o.passDir}/${o.node}` : undefined);
  const pass = passFile ? readFileSync(passFile, 'utf8').trim() : process.env.NATS_PASSWORD;
  const user = o.user ?? (o.passDir ? o.node : undefined);
  for (let attempt = 0; ; attempt++) {
    try {
      return await NatsBus.connect({
        servers: o.urls.split(','),
        name: `speaker-${o.node}`,
        ...(user ? { auth: { user, ...(pass ? { pass } : {}) } } : {}),
        log: (rec) => log.info('nats', { ...rec, event: `nats.${String(rec.event ?? 'status')}` }),
      });
    } catch (err) {
      log.warn('cannot connect to NATS, retrying', { event: 'nats.connectFailed', err: err instanceof Error ? err : String(err), attempt });
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt)));
    }
  }
}

/** Opens the epoch bucket (up to 60 s of retries); without it takeovers are fenced by heartbeats and claims only. */
export async function openEpochStore(bus: NatsBus, bucket: string, replicas: number, log: Logger): Promise<EpochStore | undefined> {
  for (let attempt = 1; attempt <= 120; attempt++) {
    try {
      return await bus.epochStore(bucket, replicas);
    } catch (err) {
      if (attempt % 10 === 1) log.warn('epoch bucket not available yet', { event: 'kv.retry', attempt, err: String(err) });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  log.warn('running without the epoch store: takeovers are fenced by heartbeats and claims only', { event: 'kv.unavailable' });
  return undefined;
}

/**
 * The state feed for `mooring viz` (docs/visualizer.md), started: every serviceIp transition of
 * `coord`, record timestamps in wall ms. The caller passes BGP/BFD events to `peerEvent`.
 */
export function startStateFeed(cluster: string, node: string, bus: NatsBus, coord: Pick<Coordinator, 'onTransition'>): StateFeed {
  const feed = new StateFeed({ cluster, node, inc: Date.now(), bus, clock: realClock, stamp: () => Date.now() });
  coord.onTransition((t) => feed.serviceIp(t));
  feed.start();
  return feed;
}
