// Telemetry: OpenTelemetry metrics rendered in Prometheus text format on /metrics, with
// MetalLB's metric names where MetalLB has the metric. One MeterProvider per process; the
// composition roots (src/bin) create it and hand meters to actors. No server is started here:
// http.ts serves `render()`.
//
// Names are exported exactly as the instrument is named: the OpenTelemetry serializer appends
// `_total` to every counter (monotonic sum), which would turn MetalLB's
// `metallb_layer2_requests_received` into `..._total` and break the dashboards and alerts written
// for it. `render()` takes the suffix off again for counters whose name does not carry it (the
// Prometheus client MetalLB uses does not append it either); the type stays `counter`.
//
// Traces: `openTelemetry()` also starts OpenTelemetry's NodeSDK (src/adapters/tracing.ts, loaded by
// a dynamic import) when an OTLP endpoint is configured; the MeterProvider is then the SDK's, with
// the same Prometheus reader, so /metrics is unchanged. With no endpoint the SDK is never loaded and
// metrics stay on sdk-metrics alone (the speaker's idle memory; docs/observability.md).
import { metrics, type Meter } from '@opentelemetry/api';
import { DataPointType, MeterProvider, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { Tracer } from '../actors/trace-port.js';
import { tracingWanted } from './otel-env.js';

export { tracingWanted };

export interface Telemetry {
  readonly meter: Meter;
  /** Spans (src/actors/trace-port.ts); undefined when tracing is off. */
  readonly tracer?: Tracer;
  /** The current metrics in Prometheus text exposition format. */
  render(): Promise<string>;
  shutdown(): Promise<void>;
}

/** Metrics only, on sdk-metrics (no OpenTelemetry SDK loaded). */
export function createTelemetry(component: string): Telemetry {
  const exporter = prometheusReader();
  const provider = new MeterProvider({ readers: [exporter] });
  metrics.setGlobalMeterProvider(provider);
  return prometheusTelemetry(provider.getMeter(`mooring-${component}`), exporter, () => provider.shutdown());
}

/**
 * Metrics, and traces when `tracingWanted()`: then NodeSDK (loaded now, dynamically) owns the
 * MeterProvider with the same Prometheus reader. Otherwise the same as createTelemetry.
 */
export async function openTelemetry(component: string, env: NodeJS.ProcessEnv = process.env): Promise<Telemetry> {
  if (!tracingWanted(env)) return createTelemetry(component);
  const exporter = prometheusReader();
  const { startNodeTelemetry } = await import('./tracing.js');
  const sdk = await startNodeTelemetry(component, [exporter]);
  return { ...prometheusTelemetry(metrics.getMeter(`mooring-${component}`), exporter, () => sdk.shutdown()), tracer: sdk.tracer };
}

function prometheusReader(): PrometheusExporter {
  return new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
}

function prometheusTelemetry(meter: Meter, exporter: PrometheusExporter, shutdown: () => Promise<void>): Telemetry {
  const serializer = new PrometheusSerializer(undefined, false, undefined, true, true);
  return {
    meter,
    async render() {
      const { resourceMetrics, errors } = await exporter.collect();
      const text = exactCounterNames(serializer.serialize(resourceMetrics), resourceMetrics);
      return errors.length ? `${text}# collection errors: ${errors.length}\n` : text;
    },
    shutdown,
  };
}

/** Renames `<name>_total` back to `<name>` for every counter whose instrument name has no `_total`. */
export function exactCounterNames(text: string, rm: ResourceMetrics): string {
  const names = new Set<string>();
  for (const sm of rm.scopeMetrics)
    for (const m of sm.metrics)
      if (m.dataPointType === DataPointType.SUM && m.isMonotonic && !m.descriptor.name.endsWith('_total')) names.add(m.descriptor.name);
  if (names.size === 0) return text;
  return text
    .split('\n')
    .map((line) => {
      const m = /^(# (?:HELP|TYPE|UNIT) )?([a-zA-Z_:][a-zA-Z0-9_:]*)_total(?=[ {]|$)/.exec(line);
      return m && names.has(m[2] ?? '') ? `${m[1] ?? ''}${m[2] ?? ''}${line.slice(m[0].length)}` : line;
    })
    .join('\n');
}
