import { Global, Inject, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { Readiness } from '@nunchi/telemetry/nest';
import { connectCassandra, type CqlClient } from '../client.js';

export const CQL_CLIENT = Symbol('CqlClient');

@Global()
@Module({
  providers: [
    {
      provide: CQL_CLIENT,
      inject: [CONFIG],
      useFactory: (config: NunchiConfig) =>
        connectCassandra(config.cassandra, { applicationName: `nunchi-${config.service}` }),
    },
  ],
  exports: [CQL_CLIENT],
})
export class CassandraModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(CQL_CLIENT) private readonly client: CqlClient,
    private readonly readiness: Readiness,
  ) {}

  onModuleInit(): void {
    // Unreachable after start-up is an outage the driver reconnects from and consumers wait out: degraded,
    // not down (a 503 from every replica at once would only add restarts to the outage).
    this.readiness.register('cassandra', async () => {
      const hosts = this.client.getState().getConnectedHosts().length;
      try {
        if (!hosts) throw new Error('no connected host');
        await this.client.execute('SELECT release_version FROM system.local', [], {
          prepare: true,
          readTimeout: 1_500,
        });
      } catch (error) {
        return {
          ok: true,
          degraded: true,
          detail: `unavailable (${(error as Error).message}); waiting for it`,
        };
      }
      return { ok: true, detail: `${hosts} host(s)` };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.shutdown();
  }
}
