// The speaker's metrics (MetalLB's names and labels, plus mooring_*): observable instruments read
// the speaker actor, the coordinator, the peer supervisor and the L2 announcer at scrape time;
// the take-over histogram is fed by the speaker actor. Also the event-loop delay gauge (a stall
// near the detection time makes peers take this node's IPs), with a log line per stalled second.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Meter } from '@opentelemetry/api';
import type { BgpPeers } from '../actors/bgp-peers.js';
import type { SpeakerCoordinator, SpeakerNode } from '../actors/speaker-node.js';
import type { Logger } from './log.js';
import { k8sClientStats } from './kube/informer.js';

/** Per-IP packet counters of the L2 announcer (undefined: the log announcer). */
export type L2Stats = () =>
  { byIp: ReadonlyMap<string, { requestsReceived: number; responsesSent: number; gratuitousSent: number }> } | undefined;

export function registerSpeakerMetrics(
  meter: Meter,
  o: {
    node: string;
    speaker: SpeakerNode;
    coordinator: SpeakerCoordinator;
    peers: Pick<BgpPeers, 'states' | 'metrics'>;
    l2Stats: L2Stats;
    log: Logger;
    /** Object updates processed / failed by the informers (src/adapters/kube/informer.ts). */
    k8sClient?: () => { readonly updates: number; readonly updateErrors: number };
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

  // MetalLB internal/layer2/stats.go: counters without `_total` (telemetry.ts keeps the name exact).
  for (const [name, cb, help] of [
    ['requests_received', 'requestsReceived', 'Number of layer2 requests received for owned IPs'],
    ['responses_sent', 'responsesSent', 'Number of layer2 responses sent for owned IPs in response to requests'],
    ['gratuitous_sent', 'gratuitousSent', 'Number of gratuitous layer2 packets sent for owned IPs as a result of failovers'],
  ] as const) {
    meter.createObservableCounter(`metallb_layer2_${name}`, { description: help }).addCallback((r) => {
      for (const [ip, c] of o.l2Stats()?.byIp ?? []) r.observe(c[cb], { ip });
    });
  }

  // MetalLB internal/bgp/native/stats.go (names from internal/bgp/metrics/metrics.go), label `peer`.
  const perPeer =
    (
      key:
        | 'metallb_bgp_session_up'
        | 'metallb_bgp_updates_total'
        | 'metallb_bgp_announced_prefixes_total'
        | 'metallb_bgp_pending_prefixes_total',
    ) =>
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
  meter
    .createObservableGauge('metallb_bgp_pending_prefixes_total', {
      description: 'Number of prefixes that should be advertised on the BGP session',
    })
    .addCallback(perPeer('metallb_bgp_pending_prefixes_total'));

  registerK8sClientCounters(meter, o.k8sClient ?? k8sClientStats);
}

/** MetalLB internal/k8s/controllers/stats.go: object updates processed / failed (speaker and controller). */
export function registerK8sClientCounters(meter: Meter, stats: () => { readonly updates: number; readonly updateErrors: number }): void {
  meter
    .createObservableCounter('metallb_k8s_client_updates_total', { description: 'Number of k8s object updates that have been processed.' })
    .addCallback((r) => r.observe(stats().updates));
  meter
    .createObservableCounter('metallb_k8s_client_update_errors_total', {
      description: 'Number of k8s object updates that failed for some reason.',
    })
    .addCallback((r) => r.observe(stats().updateErrors));
}
