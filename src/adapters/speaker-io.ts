// The speaker's L2 announcer: pcap, or the log announcer for labs without raw sockets. (The NATS
// link, opened only when L2 needs it, is speaker-nats.ts.)
import type { L2AnnouncerPort } from '../actors/l2-port.js';
import { LogAnnouncer } from '../actors/log-announcer.js';
import type { Logger } from './log.js';
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
