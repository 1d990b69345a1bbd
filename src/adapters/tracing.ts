// OpenTelemetry through `@opentelemetry/sdk-node` (NodeSDK): traces exported over OTLP, configured
// by the standard OTEL_* variables, and the process's metrics on the same SDK. Loaded only by a
// dynamic import from telemetry.ts when an OTLP endpoint is set (`tracingWanted`), so a process
// with tracing off never loads the SDK, its exporters or gRPC/protobuf code (docs/observability.md).
//
// The actors see tracing through src/actors/trace-port.ts; this file implements that port on the
// OpenTelemetry API. Trace context crosses processes as W3C `traceparent` headers (NATS headers).
import { createHash } from 'node:crypto';
import { ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { RandomIdGenerator, type IdGenerator } from '@opentelemetry/sdk-trace';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import type { StartOptions, TraceAttrs, TraceHeaders, TraceSpan, Tracer } from '../actors/trace-port.js';

export interface NodeTelemetry {
  readonly tracer: Tracer;
  shutdown(): Promise<void>;
}

/**
 * Starts the NodeSDK for `component` (service.name `mooring-<component>` unless OTEL_SERVICE_NAME
 * says otherwise): the span exporter from OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_* (OTLP by
 * default), the metric readers given (the Prometheus /metrics reader) plus an OTLP metric push when
 * OTEL_METRICS_EXPORTER lists `otlp`. No instrumentations: the spans are ours.
 */
export async function startNodeTelemetry(component: string, readers: MetricReader[]): Promise<NodeTelemetry> {
  const ids = new SharedIdGenerator();
  const metricReaders = [...readers];
  if ((process.env.OTEL_METRICS_EXPORTER ?? '').split(',').some((e) => e.trim() === 'otlp')) {
    const [{ PeriodicExportingMetricReader }, { OTLPMetricExporter }] = await Promise.all([
      import('@opentelemetry/sdk-metrics'),
      import('@opentelemetry/exporter-metrics-otlp-http'),
    ]);
    metricReaders.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter() }));
  }
  const sdk = new NodeSDK({
    ...(process.env.OTEL_SERVICE_NAME ? {} : { serviceName: `mooring-${component}` }),
    idGenerator: ids,
    metricReaders,
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  const otel = trace.getTracer(`mooring-${component}`);
  const propagator = new W3CTraceContextPropagator();
  /** Every span handed out, so any of them can be named as a parent. */
  const spans = new WeakMap<TraceSpan, Span>();
  const wrap = (span: Span): TraceSpan => {
    const w: TraceSpan = {
      child: (name, attrs) => wrap(otel.startSpan(name, { attributes: clean(attrs) }, trace.setSpan(ROOT_CONTEXT, span))),
      set: (attrs) => span.setAttributes(clean(attrs)),
      end: (error) => {
        if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
        span.end();
      },
      headers: () => {
        const carrier: Record<string, string> = {};
        propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, { set: (c, k, v) => ((c as Record<string, string>)[k] = v) });
        return carrier;
      },
    };
    spans.set(w, span);
    return w;
  };
  const parentContext = (p: TraceSpan | TraceHeaders): Context => {
    const local = spans.get(p as TraceSpan);
    if (local) return trace.setSpan(ROOT_CONTEXT, local);
    return propagator.extract(ROOT_CONTEXT, p, {
      get: (c, k) => findHeader(c as TraceHeaders, k),
      keys: (c) => Object.keys(c as object),
    });
  };
  const tracer: Tracer = {
    start(name: string, attrs?: TraceAttrs, o: StartOptions = {}): TraceSpan {
      const parent = o.parent !== undefined ? parentContext(o.parent) : ROOT_CONTEXT;
      const startTime = o.startedAgoMs !== undefined ? Date.now() - o.startedAgoMs : undefined;
      // A root span for a shared event: its trace id is derived from the key (SharedIdGenerator).
      if (!trace.getSpanContext(parent) && o.sharedKey !== undefined) ids.next = sharedTraceId(o.sharedKey);
      try {
        return wrap(otel.startSpan(name, { attributes: clean(attrs), ...(startTime !== undefined ? { startTime } : {}) }, parent));
      } finally {
        ids.next = undefined;
      }
    },
  };
  return { tracer, shutdown: () => sdk.shutdown() };
}

/**
 * Random ids, except the trace id of a root span started for a shared event: derived from its
 * key, so every node that starts a root span for the same event (a peer's death judged by several
 * survivors at once) lands in the same trace.
 */
class SharedIdGenerator implements IdGenerator {
  next: string | undefined;
  private readonly random = new RandomIdGenerator();
  generateTraceId(): string {
    return this.next ?? this.random.generateTraceId();
  }
  generateSpanId(): string {
    return this.random.generateSpanId();
  }
}

/** 32 hex digits from a key (never all zeros, which is an invalid trace id). */
export function sharedTraceId(key: string): string {
  const h = createHash('sha256').update(`mooring-trace\0${key}`).digest('hex').slice(0, 32);
  return /^0+$/.test(h) ? '1'.padStart(32, '0') : h;
}

/** Header lookup regardless of case (NATS keeps the sender's case; W3C names are lower-case). */
function findHeader(h: TraceHeaders, k: string): string | undefined {
  const lk = k.toLowerCase();
  for (const [name, v] of Object.entries(h)) if (name.toLowerCase() === lk) return v;
  return undefined;
}

function clean(attrs: TraceAttrs | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out[k] = v;
  return out;
}
