import type { NatsConnection } from '@nats-io/transport-node';
import { connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, type NunchiConfig } from '@nunchi/config';
import { connectNats, ensureStreams } from '@nunchi/messaging';

/** Connections a command needs, opened on first use and closed once at the end. */
export class Resources {
  readonly config: NunchiConfig;
  private nats?: Promise<NatsConnection>;
  private cql?: Promise<CqlClient>;

  constructor(env: Record<string, string | undefined> = process.env) {
    this.config = loadConfig('cli', { OTEL_TRACES_EXPORTER: 'none', ...env });
  }

  nc(): Promise<NatsConnection> {
    this.nats ??= connectNats(this.config.nats, 'nunchi-cli').then(async (nc) => {
      await ensureStreams(nc, this.config.nats);
      return nc;
    });
    return this.nats;
  }

  cassandra(): Promise<CqlClient> {
    this.cql ??= connectCassandra(this.config.cassandra, { applicationName: 'nunchi-cli' });
    return this.cql;
  }

  async close(): Promise<void> {
    const [nc, cql] = await Promise.allSettled([this.nats, this.cql]);
    if (nc.status === 'fulfilled' && nc.value && !nc.value.isClosed()) await nc.value.drain();
    if (cql.status === 'fulfilled' && cql.value) await cql.value.shutdown();
  }
}
