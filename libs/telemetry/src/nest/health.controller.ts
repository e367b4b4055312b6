import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readiness } from './readiness.js';
import { activeTelemetry } from '../telemetry.js';
import { Public, Requires } from './access.decorators.js';

@ApiExcludeController()
@Controller()
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  /** Liveness: the process answers. */
  @Get('health')
  @Public()
  @HttpCode(200)
  health() {
    return { ok: true };
  }

  /** Readiness: one indicator per dependency; 503 while any is down; 200 with status "degraded" while behind. */
  @Get('ready')
  @Public()
  async ready(@Res() reply: FastifyReply) {
    const result = await this.readiness.check();
    await reply.status(result.ok ? 200 : 503).send(result);
  }

  /** Prometheus exposition of this process's metrics (latency histograms, counters); public unless NUNCHI_METRICS_PUBLIC=false. */
  @Get('metrics')
  @Requires('metrics.read')
  async metrics(@Res() reply: FastifyReply) {
    const exporter = activeTelemetry()?.metricsExporter;
    if (!exporter) return reply.status(404).send('telemetry not started');
    const { resourceMetrics } = await exporter.collect();
    const { PrometheusSerializer } = await import('@opentelemetry/exporter-prometheus');
    await reply
      .header('content-type', 'text/plain; version=0.0.4')
      .send(new PrometheusSerializer().serialize(resourceMetrics));
  }
}
