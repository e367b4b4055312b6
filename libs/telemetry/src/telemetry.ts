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
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
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
 * Starts tracing and metrics for this process. Call first in main.ts, before Nest and the drivers load,
 * so that every span has a provider. Idempotent.
 */
export function startTelemetry(config: TelemetryConfig): Telemetry {
  if (active) return active;
  detail = config.detail;
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName });
  const exporter = spanExporter(config);
  // No `sampler` here on purpose: the SDK then builds it from the standard OTEL_TRACES_SAMPLER and
  // OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on; e.g. parentbased_traceidratio with 0.01 keeps one
  // trace in a hundred, decided once at ingestion and followed by every service through the traceparent).
  const tracerProvider = new NodeTracerProvider({
    resource,
    spanProcessors: exporter
      ? [
          new BatchSpanProcessor(exporter, {
            maxQueueSize: config.maxQueueSize,
            maxExportBatchSize: 1024,
            scheduledDelayMillis: 500,
          }),
        ]
      : [],
  });
  tracerProvider.register({ propagator: new W3CTraceContextPropagator() });

  const metricsExporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ resource, readers: [metricsExporter] });
  metrics.setGlobalMeterProvider(meterProvider);

  active = {
    metricsExporter,
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
      active = undefined;
    },
  };
  return active;
}

function spanExporter(config: TelemetryConfig): SpanExporter | undefined {
  switch (config.exporter) {
    case 'zipkin':
      return new ZipkinExporter({ url: config.zipkinEndpoint, serviceName: config.serviceName });
    case 'otlp':
      return new OTLPTraceExporter({ url: `${config.otlpEndpoint.replace(/\/$/, '')}/v1/traces` });
    case 'console':
      return new ConsoleSpanExporter();
    case 'none':
      return undefined;
  }
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
