// The OpenTelemetry SDK: providers, exporters and the Prometheus reader. Only processes that export telemetry
// load it (the services' main.ts, through '@nunchi/telemetry/sdk'); everything else records through
// @opentelemetry/api (./telemetry.ts), a no-op until this has run, so the CLI and tools start without it.
import { metrics } from '@opentelemetry/api';
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
import { activateTelemetry, activeTelemetry, type Telemetry } from './telemetry.js';

/**
 * Starts tracing and metrics for this process. Call first in main.ts, before Nest and the drivers load,
 * so that every span has a provider. Idempotent.
 */
export function startTelemetry(config: TelemetryConfig): Telemetry {
  const running = activeTelemetry();
  if (running) return running;
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

  const telemetry: Telemetry = {
    metricsExporter,
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
      activateTelemetry(undefined, 'events');
    },
  };
  activateTelemetry(telemetry, config.detail);
  return telemetry;
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
