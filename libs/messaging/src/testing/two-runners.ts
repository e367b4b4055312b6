import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '@nunchi/config';
import { connectNats } from '../connection.js';
import { ConsumerRunner } from '../consumer-runner.js';
import { Publisher } from '../publisher.js';
import { applyStreams } from '../streams.js';

/** Two processes' consumer runners on one nats-server, each on a connection of its own (medium tests). */
export interface TwoRunners {
  nc: NatsConnection;
  runner: ConsumerRunner;
  /** another process's runner */
  elsewhere: ConsumerRunner;
  /** what both runners logged as warnings, in order */
  warnings: string[];
  /** stops both runners and closes both connections */
  close(): Promise<void>;
}

/** Connects twice to the server at `url` (named after `name`), with the streams applied. */
export async function twoRunners(url: string, name: string): Promise<TwoRunners> {
  const config = loadConfig('cli', { NATS_URL: url, OTEL_TRACES_EXPORTER: 'none' });
  const nc = await connectNats(config.nats, name);
  const ncElsewhere = await connectNats(config.nats, `${name}-elsewhere`);
  await applyStreams(nc, config.nats);
  const warnings: string[] = [];
  const logger = { log: () => undefined, warn: (m: string) => warnings.push(m), error: () => undefined };
  const runner = new ConsumerRunner(nc, new Publisher(nc), logger);
  const elsewhere = new ConsumerRunner(ncElsewhere, new Publisher(ncElsewhere), logger);
  return {
    nc,
    runner,
    elsewhere,
    warnings,
    close: async () => {
      await runner.stop();
      await elsewhere.stop();
      await nc.close();
      await ncElsewhere.close();
    },
  };
}
