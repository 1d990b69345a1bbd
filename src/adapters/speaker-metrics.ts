// The speaker's metrics (MetalLB's names and labels, plus mooring_*): observable instruments read
// the speaker actor, the coordinator, the peer supervisor and the L2 announcer at scrape time;
// the take-over histogram is fed by the speaker actor. Also the event-loop delay gauge (a stall
// near the detection time makes peers take this node's IPs), with a log line per stalled second.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Meter } from '@opentelemetry/api';
import type { BgpPeers } from '../actors/bgp-peers.js';
import type { SpeakerCoordinator, SpeakerNode } from '../actors/speaker-node.js';
import type { Logger } from './log.js';

/** Per-IP packet counters of the L2 announcer (undefined: the log announcer). */
export type L2Stats = () =>
  { byIp: ReadonlyMap<string, { requestsReceived: number; responsesSent: number; gratuitousSent: number }> } | undefined;

export function registerSpeakerMetrics(
  meter: Meter,
  o: {
    node: string;
    speaker: SpeakerNode;
    coordinator: SpeakerCoordinator;
    peers: BgpPeers;
    l2Stats: L2Stats;
    log: Logger;
  },
): void {
  const { node, speaker, coordinator: coord, peers } = o;
  meter
    .createObservableGauge('metallb_speaker_announced', {
      description:
        'Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.',
    })
    .addCallback((r) => {
      const plan = speaker.plan();
      const serviceOf = new Map((plan?.services ?? []).flatMap((s) => s.ips.map((ip) => [ip, s.key] as const)));
      for (const ip of coord.owned()) r.observe(1, { ip, node, protocol: 'layer2', service: serviceOf.get(ip) ?? '' });
      for (const s of plan?.bgp.services ?? []) for (const ip of s.ips) r.observe(1, { ip, node, protocol: 'bgp', service: s.key });
    });
  meter
    .createObservableGauge('metallb_k8s_client_config_stale_bool', {
      description: '1 if running on a stale configuration, because the latest config failed to load.',
    })
    .addCallback((r) => r.observe(speaker.isStale() ? 1 : 0));
  meter
    .createObservableGauge('metallb_k8s_client_config_loaded_bool', {
      description: '1 if the MetalLB configuration was successfully loaded at least once.',
    })
    .addCallback((r) => r.observe(speaker.loaded() ? 1 : 0));
  meter
    .createObservableGauge('mooring_machines', { description: 'serviceIp and bgpSession machines on this node, by kind and state.' })
    .addCallback((r) => {
      const counts = new Map<string, number>();
      const add = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
      for (const s of speaker.plan()?.l2.services ?? []) for (const ip of s.ips) add(`serviceIp/${coord.stateOf(ip).state}`);
      for (const st of peers.states().values()) add(`bgpSession/${st}`);
      for (const [k, v] of counts) {
        const [kind, state] = k.split('/');
        r.observe(v, { kind: kind ?? '', state: state ?? '' });
      }
    });
  const failoverHist = meter.createHistogram('mooring_l2_takeover_seconds', {
    description: 'Time from leaving standby to announcing an IP (claim and burst start), per takeover.',
    unit: 's',
  });
  speaker.onTakeover((ip, seconds) => failoverHist.record(seconds, { ip }));

  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let loopMaxMs = 0;
  setInterval(() => {
    const max = loopDelay.max / 1e6;
    loopDelay.reset();
    loopMaxMs = Math.max(loopMaxMs, max);
    if (max > 150) o.log.warn('event loop stalled', { event: 'loop.stall', maxMs: Math.round(max) });
  }, 1000).unref();
  meter
    .createObservableGauge('mooring_event_loop_delay_max_seconds', {
      description: 'Longest event-loop delay since the last scrape (heartbeats and ARP/NDP answers wait that long).',
      unit: 's',
    })
    .addCallback((r) => {
      r.observe(loopMaxMs / 1000);
      loopMaxMs = 0;
    });

  for (const [name, cb] of [
    ['layer2_requests_received', 'requestsReceived'],
    ['layer2_responses_sent', 'responsesSent'],
    ['layer2_gratuitous_sent', 'gratuitousSent'],
  ] as const) {
    meter
      .createObservableCounter(`metallb_${name}`, { description: `Number of layer2 ${name.replace('layer2_', '').replace('_', ' ')}` })
      .addCallback((r) => {
        for (const [ip, c] of o.l2Stats()?.byIp ?? []) r.observe(c[cb], { ip });
      });
  }

  const perPeer =
    (key: 'metallb_bgp_session_up' | 'metallb_bgp_updates_total' | 'metallb_bgp_announced_prefixes_total') =>
    (r: { observe(v: number, a: Record<string, string>): void }) => {
      for (const p of peers.metrics()) r.observe(p.metrics?.[key] ?? 0, { peer: `${p.address}:${p.port}` });
    };
  meter
    .createObservableGauge('metallb_bgp_session_up', { description: 'BGP session state (1 is up, 0 is down)' })
    .addCallback(perPeer('metallb_bgp_session_up'));
  meter
    .createObservableCounter('metallb_bgp_updates_total', { description: 'Number of BGP UPDATE messages sent' })
    .addCallback(perPeer('metallb_bgp_updates_total'));
  meter
    .createObservableGauge('metallb_bgp_announced_prefixes_total', {
      description: 'Number of prefixes currently being advertised on the BGP session',
    })
    .addCallback(perPeer('metallb_bgp_announced_prefixes_total'));
}
