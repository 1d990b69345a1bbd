// The speaker's and the controller's exported metrics, serialised through telemetry.ts's
// Prometheus exporter, against MetalLB v0.16.2's names, types and label sets, literally
// (src/api/metallb-metrics.ts; the e2e BGP test compares a real speaker's and controller's scrape too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTelemetry } from './telemetry.js';
import { registerSpeakerMetrics } from './speaker-metrics.js';
import { registerControllerMetrics } from './kube/controller-metrics.js';
import { createLogger } from './log.js';
import type { SpeakerCoordinator, SpeakerNode } from '../actors/speaker-node.js';
import type { BgpPeers } from '../actors/bgp-peers.js';
import type { PeerMetrics } from '../actors/bgp-speaker.js';
import {
  METALLB_CONTROLLER_METRICS,
  METALLB_SPEAKER_METRICS,
  metallbRows,
  parsePrometheusText,
  type MetricRow,
  type ScrapedMetric,
} from '../api/metallb-metrics.js';

type Row = MetricRow;
const METALLB_SPEAKER = METALLB_SPEAKER_METRICS;
const METALLB_CONTROLLER = METALLB_CONTROLLER_METRICS;

function parse(text: string): Map<string, ScrapedMetric> {
  const r = parsePrometheusText(text);
  assert.deepEqual(r.orphans, [], 'samples without TYPE');
  return r.metrics;
}
const metallbOnly = metallbRows;
const sorted = (rows: readonly Row[]) => [...rows].sort((a, b) => a[0].localeCompare(b[0]));

test('speaker: every metallb_* metric has MetalLB v0.16.2 name, type and labels, and none is missing', async () => {
  const t = createTelemetry('speaker-test');
  const peerMetrics: PeerMetrics = {
    metallb_bgp_session_up: 1,
    metallb_bgp_updates_total: 4,
    metallb_bgp_announced_prefixes_total: 2,
    metallb_bgp_pending_prefixes_total: 3,
    mooring_bgp_session_state: 'established',
    mooring_bgp_nlri_total: 2,
    mooring_bgp_encode_errors_total: 0,
  };
  const speaker = {
    plan: () => ({
      services: [{ key: 'default/a', ips: ['198.51.100.7'] }],
      l2: { services: [] },
      bgp: { services: [{ key: 'default/b', ips: ['203.0.113.9'] }] },
    }),
    isStale: () => false,
    loaded: () => true,
    onTakeover: () => {},
  } as unknown as SpeakerNode;
  const coordinator = { owned: () => ['198.51.100.7'], stateOf: () => ({ state: 'active' }) } as unknown as SpeakerCoordinator;
  const peers = {
    states: () => new Map([['tor', 'established']]),
    metrics: () => [{ peer: 'tor', address: '198.51.100.1', port: 179, metrics: peerMetrics }],
  } as unknown as BgpPeers;
  registerSpeakerMetrics(t.meter, {
    node: 'n1',
    speaker,
    coordinator,
    peers,
    l2Stats: () => ({ byIp: new Map([['198.51.100.7', { requestsReceived: 5, responsesSent: 4, gratuitousSent: 3 }]]) }),
    log: createLogger({ component: 'test' }, { write: () => {}, now: () => new Date(0), level: 'error' }),
    k8sClient: () => ({ updates: 12, updateErrors: 1 }),
  });
  const text = await t.render();
  const m = parse(text);
  assert.deepEqual(metallbOnly(m), sorted(METALLB_SPEAKER));
  assert.doesNotMatch(text, /metallb_layer2_\w+_total/, 'no suffix on the layer2 counters');
  assert.equal(m.get('metallb_layer2_requests_received')?.samples.get('ip="198.51.100.7"'), 5);
  assert.equal(m.get('metallb_layer2_responses_sent')?.samples.get('ip="198.51.100.7"'), 4);
  assert.equal(m.get('metallb_layer2_gratuitous_sent')?.samples.get('ip="198.51.100.7"'), 3);
  assert.equal(m.get('metallb_bgp_pending_prefixes_total')?.samples.get('peer="198.51.100.1:179"'), 3);
  assert.equal(m.get('metallb_bgp_updates_total')?.samples.get('peer="198.51.100.1:179"'), 4);
  assert.equal(m.get('metallb_k8s_client_updates_total')?.samples.get(''), 12);
  assert.equal(m.get('metallb_k8s_client_update_errors_total')?.samples.get(''), 1);
  assert.match(
    text,
    /^# HELP metallb_layer2_gratuitous_sent Number of gratuitous layer2 packets sent for owned IPs as a result of failovers$/m,
  );
  await t.shutdown();
});

test('controller: every metallb_* metric has MetalLB v0.16.2 name, type and labels, and none is missing', async () => {
  const t = createTelemetry('controller-test');
  registerControllerMetrics(
    t,
    () => ({
      stats: () => [{ pool: 'p', services: 2, ipv4: { assigned: 2, total: 256n }, ipv6: { assigned: 1, total: 2n ** 64n } }],
      configLoaded: () => true,
      configStale: () => false,
    }),
    () => ({ updates: 7, updateErrors: 0 }),
  );
  const m = parse(await t.render());
  assert.deepEqual(metallbOnly(m), sorted(METALLB_CONTROLLER));
  const v = (n: string) => m.get(n)?.samples.get('pool="p"');
  assert.equal(v('metallb_allocator_ipv4_addresses_total'), 256);
  assert.equal(v('metallb_allocator_ipv6_addresses_total'), Number(2n ** 63n - 1n), 'saturates at math.MaxInt64 as MetalLB');
  assert.equal(v('metallb_allocator_addresses_in_use_total'), 3);
  assert.equal(v('metallb_allocator_ipv6_addresses_in_use_total'), 1);
  assert.equal(v('metallb_allocator_services_allocated_total'), 2);
  assert.equal(m.get('metallb_k8s_client_updates_total')?.samples.get(''), 7);
  await t.shutdown();
});
