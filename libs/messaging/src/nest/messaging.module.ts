import {
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { Readiness, type IndicatorResult } from '@nunchi/telemetry';
import { connectNats } from '../connection.js';
import { ConsumerRunner } from '../consumer-runner.js';
import { Publisher } from '../publisher.js';
import { LagReporter } from '../lag-reporter.js';
import { ensureStreams } from '../streams.js';

export const NATS_CONNECTION = Symbol('NatsConnection');

@Global()
@Module({
  providers: [
    {
      provide: NATS_CONNECTION,
      inject: [CONFIG],
      useFactory: async (config: NunchiConfig) => {
        const nc = await connectNats(config.nats, `nunchi-${config.service}`);
        await ensureStreams(nc, config.nats);
        return nc;
      },
    },
    { provide: Publisher, inject: [NATS_CONNECTION], useFactory: (nc: NatsConnection) => new Publisher(nc) },
    {
      provide: ConsumerRunner,
      inject: [NATS_CONNECTION, Publisher],
      useFactory: (nc: NatsConnection, publisher: Publisher) =>
        new ConsumerRunner(nc, publisher, new Logger('consumer')),
    },
  ],
  exports: [NATS_CONNECTION, Publisher, ConsumerRunner],
})
export class MessagingModule implements OnModuleInit, OnApplicationShutdown {
  private readonly lagReporter: LagReporter;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly runner: ConsumerRunner,
    private readonly readiness: Readiness,
    @Inject(CONFIG) private readonly config: NunchiConfig,
    publisher: Publisher,
  ) {
    this.lagReporter = new LagReporter(runner, publisher);
  }

  onModuleInit(): void {
    this.lagReporter.start();
    this.readiness.register('nats', async () => {
      if (this.nc.isClosed()) return { ok: false, detail: 'connection closed' };
      const rtt = await this.nc.rtt();
      return { ok: true, detail: `rtt ${rtt.toFixed(2)} ms` };
    });
    // Behind is not down: a replica with a backlog keeps consuming (and says so) rather than leave the service.
    this.readiness.register('consumers', () => {
      const lags = this.runner.lag();
      const behind = lags.filter((l) => l.oldestAgeS * 1000 > this.config.domain.slaMs);
      const pending = lags.reduce((n, l) => n + l.pending, 0);
      const result: IndicatorResult = behind.length
        ? {
            ok: true,
            degraded: true,
            detail: `${behind.length} of ${lags.length} consumers behind their ${this.config.domain.slaMs} ms deadline (oldest ${Math.max(...behind.map((l) => l.oldestAgeS)).toFixed(1)} s); ${pending} messages pending`,
          }
        : { ok: true, detail: `${lags.length} consumers, ${pending} messages pending` };
      return Promise.resolve(result);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.lagReporter.stop();
    await this.runner.stop();
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}
