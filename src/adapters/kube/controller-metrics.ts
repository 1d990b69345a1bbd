// The controller's metrics, with MetalLB's names: addresses in use and usable per pool (from the
// allocator), and whether a configuration was loaded and whether it is stale.
import type { Telemetry } from '../telemetry.js';

/** What the gauges read; undefined before the first lease term (nothing observed). */
export interface ControllerMetricsView {
  stats(): ReadonlyArray<{ pool: string; ipv4: { assigned: number; total: bigint }; ipv6: { assigned: number; total: bigint } }>;
  configLoaded(): boolean;
  configStale(): boolean;
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function registerControllerMetrics(telemetry: Telemetry, view: () => ControllerMetricsView | undefined): void {
  const m = telemetry.meter;
  m.createObservableGauge('metallb_allocator_addresses_in_use_total', {
    description: 'Number of IP addresses in use, per pool',
  }).addCallback((r) => {
    for (const p of view()?.stats() ?? []) r.observe(p.ipv4.assigned + p.ipv6.assigned, { pool: p.pool });
  });
  m.createObservableGauge('metallb_allocator_addresses_total', {
    description: 'Number of usable IP addresses, per pool (saturates at 2^53 for IPv6)',
  }).addCallback((r) => {
    for (const p of view()?.stats() ?? []) {
      const t = p.ipv4.total + p.ipv6.total;
      r.observe(Number(t > SAFE ? SAFE : t), { pool: p.pool });
    }
  });
  m.createObservableGauge('metallb_k8s_client_config_loaded_bool', {
    description: '1 if the MetalLB configuration was successfully loaded at least once.',
  }).addCallback((r) => r.observe(view()?.configLoaded() ? 1 : 0));
  m.createObservableGauge('metallb_k8s_client_config_stale_bool', {
    description: '1 if running on a stale configuration, because the latest config failed to load.',
  }).addCallback((r) => r.observe(view()?.configStale() ? 1 : 0));
}
