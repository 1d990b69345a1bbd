// Telemetry: OpenTelemetry metrics rendered in Prometheus text format on /metrics, with
// MetalLB's metric names where MetalLB has the metric. One MeterProvider per process; the
// composition roots (src/bin) create it and hand meters to actors. No server is started here:
// http.ts serves `render()`.
import { metrics, type Meter } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';

export interface Telemetry {
  readonly meter: Meter;
  /** The current metrics in Prometheus text exposition format. */
  render(): Promise<string>;
  shutdown(): Promise<void>;
}

export function createTelemetry(component: string): Telemetry {
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
  const provider = new MeterProvider({ readers: [exporter] });
  metrics.setGlobalMeterProvider(provider);
  const serializer = new PrometheusSerializer(undefined, false, undefined, true, true);
  return {
    meter: provider.getMeter(`mooring-${component}`),
    async render() {
      const { resourceMetrics, errors } = await exporter.collect();
      const text = serializer.serialize(resourceMetrics);
      return errors.length ? `${text}# collection errors: ${errors.length}\n` : text;
    },
    shutdown: () => provider.shutdown(),
  };
}
