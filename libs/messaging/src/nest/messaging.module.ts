import { Global, Inject, Logger, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { Readiness } from '@nunchi/telemetry';
import { connectNats } from '../connection.js';
import { ConsumerRunner } from '../consumer-runner.js';
import { Publisher } from '../publisher.js';
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
      useFactory: (nc: NatsConnection, publisher: Publisher) => new ConsumerRunner(nc, publisher, new Logger('consumer')),
    },
  ],
  exports: [NATS_CONNECTION, Publisher, ConsumerRunner],
})
export class MessagingModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly runner: ConsumerRunner,
    private readonly readiness: Readiness,
  ) {}

  onModuleInit(): void {
    this.readiness.register('nats', async () => {
      if (this.nc.isClosed()) return { ok: false, detail: 'connection closed' };
      const rtt = await this.nc.rtt();
      return { ok: true, detail: `rtt ${rtt.toFixed(2)} ms` };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}
