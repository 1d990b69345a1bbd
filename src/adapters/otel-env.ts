// Whether OpenTelemetry tracing is configured, from the standard OTEL_* variables. Its own module so
// a process can ask without loading any OpenTelemetry code (src/bin/coord-node.ts).

/**
 * Tracing is on when an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT, or the traces-only
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), unless OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
 */
export function tracingWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  const endpoint = (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim() || (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '').trim();
  return (
    endpoint !== '' && (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() !== 'true' && (env.OTEL_TRACES_EXPORTER ?? '').trim() !== 'none'
  );
}
