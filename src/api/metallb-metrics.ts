// MetalLB v0.16.2's Prometheus metrics (go.universe.tf/metallb@v0.16.2, native BGP mode), literally:
// name, type and label keys, for the tests that compare what Mooring serves on /metrics with them
// (a `_total` appended to a counter, a metric missing or a label renamed breaks MetalLB's
// dashboards and alerts). mooring_* metrics are Mooring's own and not listed.

export type MetricRow = readonly [name: string, type: 'counter' | 'gauge', labels: string];

export const METALLB_SPEAKER_METRICS: readonly MetricRow[] = [
  ['metallb_speaker_announced', 'gauge', 'ip,node,protocol,service'], // speaker/main.go
  ['metallb_layer2_requests_received', 'counter', 'ip'], // internal/layer2/stats.go
  ['metallb_layer2_responses_sent', 'counter', 'ip'], // internal/layer2/stats.go
  ['metallb_layer2_gratuitous_sent', 'counter', 'ip'], // internal/layer2/stats.go
  ['metallb_bgp_session_up', 'gauge', 'peer'], // internal/bgp/native/stats.go, internal/bgp/metrics/metrics.go
  ['metallb_bgp_updates_total', 'counter', 'peer'], // internal/bgp/native/stats.go, internal/bgp/metrics/metrics.go
  ['metallb_bgp_announced_prefixes_total', 'gauge', 'peer'], // internal/bgp/native/stats.go, internal/bgp/metrics/metrics.go
  ['metallb_bgp_pending_prefixes_total', 'gauge', 'peer'], // internal/bgp/native/stats.go
  ['metallb_k8s_client_updates_total', 'counter', ''], // internal/k8s/controllers/stats.go
  ['metallb_k8s_client_update_errors_total', 'counter', ''], // internal/k8s/controllers/stats.go
  ['metallb_k8s_client_config_loaded_bool', 'gauge', ''], // internal/k8s/controllers/stats.go
  ['metallb_k8s_client_config_stale_bool', 'gauge', ''], // internal/k8s/controllers/stats.go
];

/**
 * BFD: MetalLB has it only in FRR mode (frr-tools/metrics/collector/bfd.go); Mooring's native BFD
 * serves those names, types and labels. A speaker serves them once a peer has a BFD profile.
 */
export const METALLB_BFD_METRICS: readonly MetricRow[] = [
  ['metallb_bfd_session_up', 'gauge', 'peer,vrf'],
  ['metallb_bfd_control_packet_input', 'counter', 'peer,vrf'],
  ['metallb_bfd_control_packet_output', 'counter', 'peer,vrf'],
  ['metallb_bfd_echo_packet_input', 'counter', 'peer,vrf'],
  ['metallb_bfd_echo_packet_output', 'counter', 'peer,vrf'],
  ['metallb_bfd_session_up_events', 'counter', 'peer,vrf'],
  ['metallb_bfd_session_down_events', 'counter', 'peer,vrf'],
  ['metallb_bfd_zebra_notifications', 'counter', 'peer,vrf'],
];

export const METALLB_CONTROLLER_METRICS: readonly MetricRow[] = [
  ['metallb_allocator_addresses_total', 'gauge', 'pool'], // internal/allocator/stats.go
  ['metallb_allocator_ipv4_addresses_total', 'gauge', 'pool'], // internal/allocator/stats.go
  ['metallb_allocator_ipv6_addresses_total', 'gauge', 'pool'], // internal/allocator/stats.go
  ['metallb_allocator_addresses_in_use_total', 'gauge', 'pool'], // internal/allocator/stats.go
  ['metallb_allocator_ipv4_addresses_in_use_total', 'gauge', 'pool'], // internal/allocator/stats.go
  ['metallb_allocator_ipv6_addresses_in_use_total', 'gauge', 'pool'], // internal/allocator/stats.go
  ['metallb_allocator_services_allocated_total', 'gauge', 'pool'], // internal/allocator/stats.go
  ['metallb_k8s_client_updates_total', 'counter', ''], // internal/k8s/controllers/stats.go
  ['metallb_k8s_client_update_errors_total', 'counter', ''], // internal/k8s/controllers/stats.go
  ['metallb_k8s_client_config_loaded_bool', 'gauge', ''], // internal/k8s/controllers/stats.go
  ['metallb_k8s_client_config_stale_bool', 'gauge', ''], // internal/k8s/controllers/stats.go
];

export interface ScrapedMetric {
  type: string;
  /** The label-key sets seen on its samples ("ip,node,protocol,service"). */
  labels: Set<string>;
  /** Sample value by its label text (`ip="198.51.100.7"`; '' without labels). */
  samples: Map<string, number>;
}

/** Prometheus text → name → type, label-key sets and samples. A sample without a TYPE line is reported in `orphans`. */
export function parsePrometheusText(text: string): { metrics: Map<string, ScrapedMetric>; orphans: string[] } {
  const metrics = new Map<string, ScrapedMetric>();
  const orphans: string[] = [];
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) metrics.set(t[1] ?? '', { type: t[2] ?? '', labels: new Set(), samples: new Map() });
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!s) continue;
    const m = metrics.get(s[1] ?? '');
    if (!m) {
      orphans.push(line);
      continue;
    }
    const keys = [...(s[2] ?? '').matchAll(/([a-zA-Z_]+)="/g)].map((k) => k[1] ?? '').sort();
    m.labels.add(keys.join(','));
    m.samples.set(s[2] ?? '', Number(s[3]));
  }
  return { metrics, orphans };
}

/** The metallb_* rows of a scrape, sorted by name (labels: every label-key set seen, joined by '|'). */
export function metallbRows(metrics: ReadonlyMap<string, ScrapedMetric>): MetricRow[] {
  return [...metrics]
    .filter(([n]) => n.startsWith('metallb_'))
    .map(([n, v]) => [n, v.type as MetricRow[1], [...v.labels].join('|')] as const)
    .sort((a, b) => a[0].localeCompare(b[0]));
}
