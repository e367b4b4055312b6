import { connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, type NunchiConfig } from '@nunchi/config';
import type { MessagingSession } from '@nunchi/messaging';

/** Connections a command needs, opened on first use and closed once at the end. */
export class Resources {
  readonly config: NunchiConfig;
  private nats?: Promise<MessagingSession>;
  private cql?: Promise<CqlClient>;

  constructor(
    /** the environment the configuration came from (worker processes get the same) */
    readonly env: Record<string, string | undefined> = process.env,
  ) {
    this.config = loadConfig('cli', { OTEL_TRACES_EXPORTER: 'none', ...env });
  }

  /** NATS: the typed client, stream reads and subscriptions. */
  messaging(): Promise<MessagingSession> {
    // loaded here, not above: commands that never reach NATS do not load it (nor Nest, which its client uses)
    this.nats ??= import('@nunchi/messaging').then(({ MessagingSession }) =>
      MessagingSession.open(this.config.nats, 'nunchi-cli'),
    );
    return this.nats;
  }

  cassandra(): Promise<CqlClient> {
    this.cql ??= connectCassandra(this.config.cassandra, { applicationName: 'nunchi-cli' });
    return this.cql;
  }

  async close(): Promise<void> {
    const [nc, cql] = await Promise.allSettled([this.nats, this.cql]);
    if (nc.status === 'fulfilled' && nc.value) await nc.value.close();
    if (cql.status === 'fulfilled' && cql.value) await cql.value.shutdown();
  }
}
