// Tracing as the actors see it: opaque spans and W3C trace context carried as message headers.
// The OpenTelemetry implementation is src/adapters/tracing.ts (loaded only when an OTLP endpoint is
// configured); when tracing is off the actors are handed no tracer and do nothing at all.

/** Span attributes: flat scalar values (OpenTelemetry attribute types). */
export type TraceAttrs = Readonly<Record<string, string | number | boolean | undefined>>;

/** Message headers carrying a trace context (`traceparent`, `tracestate`). */
export type TraceHeaders = Readonly<Record<string, string>>;

export interface TraceSpan {
  /** Starts a child span of this one. */
  child(name: string, attrs?: TraceAttrs): TraceSpan;
  /** Adds attributes (e.g. an outcome) before the end. */
  set(attrs: TraceAttrs): void;
  /** Ends the span now; `error` marks it failed with that message. */
  end(error?: string): void;
  /** This span's context as message headers (W3C `traceparent`), for a message it causes. */
  headers(): TraceHeaders;
}

export interface StartOptions {
  /** The parent: a span of this process, or a remote context read from message headers. */
  readonly parent?: TraceSpan | TraceHeaders;
  /**
   * With no parent: a key every node derives alike for the same event (a peer's death). The trace
   * id is derived from it, so nodes that reach the same verdict independently put their spans in
   * one trace even when none heard another's context first.
   */
  readonly sharedKey?: string;
  /** The span began this long before now (a silence that ended in a verdict). */
  readonly startedAgoMs?: number;
}

export interface Tracer {
  start(name: string, attrs?: TraceAttrs, opts?: StartOptions): TraceSpan;
}

/** Header naming the peer whose death a message's trace context is about (with `traceparent`). */
export const FAILOVER_HEADER = 'Mooring-Failover';
