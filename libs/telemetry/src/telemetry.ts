import {
  context,
  metrics,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { TelemetryConfig } from '@nunchi/config';

export interface Telemetry {
  /** Prometheus text exposition for GET /metrics. */
  metricsExporter: PrometheusExporter;
  shutdown(): Promise<void>;
}

let active: Telemetry | undefined;
/** NUNCHI_TRACE_DETAIL of this process; 'events' until startTelemetry says otherwise */
let detail: TelemetryConfig['detail'] = 'events';

/**
 * Are spans of single statements (Cassandra) wanted? Only with NUNCHI_TRACE_DETAIL=statements: by default a
 * trace holds about six spans per event (receive, context apply, decide, offer publish, analytics), and a
 * statement span per round trip would multiply the tracing cost of the hot path.
 */
export const statementSpans = (): boolean => detail === 'statements';

export const activeTelemetry = (): Telemetry | undefined => active;

/**
 * Records the telemetry startTelemetry (./sdk.ts) made, and its statement detail. Internal to this lib: here,
 * so that what reads it (the API below, /metrics, Cassandra's statement spans) does not load the SDK.
 */
export function activateTelemetry(
  telemetry: Telemetry | undefined,
  statementDetail: TelemetryConfig['detail'],
): void {
  active = telemetry;
  detail = statementDetail;
}

export const tracer = () => trace.getTracer('nunchi');
export const meter = () => metrics.getMeter('nunchi');

/**
 * Runs fn inside a new active span; records an exception and error status if it throws.
 * The span ends when fn settles.
 */
export async function withSpan<T>(
  name: string,
  options: { attributes?: Attributes; kind?: SpanKind; parent?: Context },
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(
    name,
    { attributes: options.attributes, kind: options.kind ?? SpanKind.INTERNAL },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
    throw error;
  } finally {
    span.end();
  }
}

/** Writes W3C trace context of the given (or active) context into a string map. */
export function injectTraceContext(
  carrier: Record<string, string>,
  ctx: Context = context.active(),
): Record<string, string> {
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Reads W3C trace context from a header getter into a new context. */
export function extractTraceContext(get: (key: string) => string | undefined): Context {
  return propagation.extract(context.active(), undefined, {
    get: (_carrier, key) => get(key),
    keys: () => ['traceparent', 'tracestate'],
  });
}

export function currentTraceId(ctx: Context = context.active()): string {
  return trace.getSpanContext(ctx)?.traceId ?? '';
}

export { SpanKind, SpanStatusCode, context, trace };
export type { Span, Context, Attributes };
