// The controller's metrics, with MetalLB's names and labels: addresses usable and in use, per
// pool and per family, and services allocated (MetalLB internal/allocator/stats.go, from the
// allocator); whether a configuration was loaded and whether it is stale, and the object updates
// processed / failed (internal/k8s/controllers/stats.go).
import type { Telemetry } from '../telemetry.js';
import { registerK8sClientCounters } from '../speaker-metrics.js';
import { k8sClientStats } from './informer.js';

/** What the gauges read; undefined before the first lease term (nothing observed). */
export interface ControllerMetricsView {
  stats(): ReadonlyArray<{
    pool: string;
    services: number;
    ipv4: { assigned: number; total: bigint };
    ipv6: { assigned: number; total: bigint };
  }>;
  configLoaded(): boolean;
  configStale(): boolean;
}

/** MetalLB saturates a pool's size at math.MaxInt64 (an enormous IPv6 range). */
const SAFE = 2n ** 63n - 1n;
const num = (t: bigint) => Number(t > SAFE ? SAFE : t);

type Stat = ReturnType<ControllerMetricsView['stats']>[number];

export function registerControllerMetrics(
  telemetry: Telemetry,
  view: () => ControllerMetricsView | undefined,
  k8sClient: () => { readonly updates: number; readonly updateErrors: number } = k8sClientStats,
): void {
  const m = telemetry.meter;
  const perPool = (name: string, description: string, value: (p: Stat) => number) =>
    m.createObservableGauge(name, { description }).addCallback((r) => {
      for (const p of view()?.stats() ?? []) r.observe(value(p), { pool: p.pool });
    });
  perPool('metallb_allocator_addresses_total', 'Number of usable IP addresses, per pool', (p) => num(p.ipv4.total + p.ipv6.total));
  perPool('metallb_allocator_ipv4_addresses_total', 'Number of usable IPV4 addresses, per pool', (p) => num(p.ipv4.total));
  perPool('metallb_allocator_ipv6_addresses_total', 'Number of usable IPV6 addresses, per pool', (p) => num(p.ipv6.total));
  perPool('metallb_allocator_addresses_in_use_total', 'Number of IP addresses in use, per pool', (p) => p.ipv4.assigned + p.ipv6.assigned);
  perPool('metallb_allocator_ipv4_addresses_in_use_total', 'Number of IPV4 addresses in use, per pool', (p) => p.ipv4.assigned);
  perPool('metallb_allocator_ipv6_addresses_in_use_total', 'Number of IPV6 addresses in use, per pool', (p) => p.ipv6.assigned);
  perPool('metallb_allocator_services_allocated_total', 'Number of services allocated, per pool', (p) => p.services);
  m.createObservableGauge('metallb_k8s_client_config_loaded_bool', {
    description: '1 if the MetalLB configuration was successfully loaded at least once.',
  }).addCallback((r) => r.observe(view()?.configLoaded() ? 1 : 0));
  m.createObservableGauge('metallb_k8s_client_config_stale_bool', {
    description: '1 if running on a stale configuration, because the latest config failed to load.',
  }).addCallback((r) => r.observe(view()?.configStale() ? 1 : 0));
  registerK8sClientCounters(m, k8sClient);
}
