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
      // One identity per service and adapter when the server has accounts (docs/security.md); replies come to
      // this identity's own inbox prefix, the only one its permissions let it read.
      ...(config.auth ? { user: config.auth.user, pass: config.auth.password } : {}),
      inboxPrefix: config.inboxPrefix,
      ...(config.tlsCaFile ? { tls: { caFile: config.tlsCaFile } } : {}),
      // The client README: "greatly improves performance of request/reply and JetStream publishers".
      noAsyncTraces: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // A server cut off by a partition closes nothing: only unanswered pings reveal it. The default (two
      // missed pings two minutes apart) would leave the process on it for four minutes; this, about 10 s.
      pingInterval: 5_000,
      maxPingOut: 2,
    });
  } catch (error) {
    throw new NatsUnavailableError(
      `Cannot reach NATS at ${config.url}${config.auth ? ` as ${config.auth.user}` : ''}: ${(error as Error).message}. ` +
        (/authorization/i.test((error as Error).message)
          ? "Check NATS_USER and NATS_PASSWORD (or NATS_PASSWORD_FILE) against the server's configuration."
          : 'Start it with "npm run infra:up" or set NATS_URL.'),
      { cause: error },
    );
  }
}

/**
 * Whether the connection is up, from its status events: a disconnect is an outage to wait out (the client
 * reconnects forever), not a reason to leave service.
 */
export class ConnectionWatch {
  private downSinceMs: number | undefined;

  constructor(private readonly nc: NatsConnection) {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') this.downSinceMs ??= Date.now();
        else if (status.type === 'reconnect') this.downSinceMs = undefined;
      }
    })().catch(() => undefined);
  }

  /** epoch ms since when the connection is down, or undefined while it is up */
  get disconnectedSinceMs(): number | undefined {
    return this.downSinceMs;
  }

  get closed(): boolean {
    return this.nc.isClosed();
  }
}
