import { Global, Module, type OnApplicationShutdown } from '@nestjs/common';
import { activeTelemetry } from '../telemetry.js';
import { HealthController } from './health.controller.js';
import { Readiness } from './readiness.js';

@Global()
@Module({ controllers: [HealthController], providers: [Readiness], exports: [Readiness] })
export class HealthModule implements OnApplicationShutdown {
  /** Flushes buffered spans on SIGTERM, so a rollout does not drop the last half second of traces. */
  async onApplicationShutdown(): Promise<void> {
    await activeTelemetry()?.shutdown();
  }
}
