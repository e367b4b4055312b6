import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NatsConfig } from '@nunchi/config';

export class NatsUnavailableError extends Error {
  override readonly name = 'NatsUnavailableError';
}

/** One long-lived connection per process; reconnects forever once established. */
export async function connectNats(config: NatsConfig, name: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: config.servers,
      name,
      // The client README: "greatly improves performance of request/reply and JetStream publishers".
      noAsyncTraces: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (error) {
    throw new NatsUnavailableError(
      `Cannot reach NATS at ${config.url}: ${(error as Error).message}. Start it with "npm run infra:up" or set NATS_URL.`,
      { cause: error },
    );
  }
}
