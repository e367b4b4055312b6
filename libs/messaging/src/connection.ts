import { connect, nkeyAuthenticator, nkeys, type NatsConnection } from '@nats-io/transport-node';
import type { NatsAuth, NatsConfig } from '@nunchi/config';

export class NatsUnavailableError extends Error {
  override readonly name = 'NatsUnavailableError';
}

/** The client's options for an identity: an nkey signs the server's nonce (the seed never leaves the process). */
function credentials(auth: NatsAuth | undefined) {
  if (!auth) return {};
  if ('password' in auth) return { user: auth.user, pass: auth.password };
  try {
    // fromSeed checks the checksum and the kind (a user seed), which config's format check cannot
    const kp = nkeys.fromSeed(new TextEncoder().encode(auth.seed));
    if (!kp.getPublicKey().startsWith('U')) throw new Error('not a user seed');
  } catch (error) {
    throw new NatsUnavailableError(
      `The NATS nkey seed of ${auth.user} (${auth.from}) is not a valid user seed: ${(error as Error).message}. ` +
        'Give the seed written for this identity by `npm run nats:config` (or infra:up) as <identity>.nk.',
      { cause: error },
    );
  }
  return { authenticator: nkeyAuthenticator(new TextEncoder().encode(auth.seed)) };
}

/** One long-lived connection per process; reconnects forever once established. */
export async function connectNats(config: NatsConfig, name: string): Promise<NatsConnection> {
  const auth = credentials(config.auth);
  try {
    return await connect({
      servers: config.servers,
      name,
      // One identity per service and adapter when the server has accounts (docs/security.md); replies come to
      // this identity's own inbox prefix, the only one its permissions let it read.
      ...auth,
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
        (/authori[sz]ation/i.test((error as Error).message)
          ? config.auth
            ? 'password' in config.auth
              ? "Check NATS_USER and NATS_PASSWORD (or NATS_PASSWORD_FILE) against the server's configuration."
              : `Check NATS_USER and the nkey seed (${config.auth.from}): the server's configuration must list this identity's public key (regenerate it with \`npm run nats:config\` and restart the server after a new seed).`
            : 'The server needs credentials: set NATS_USER with NATS_NKEY_SEED_FILE (locally, .nunchi/nats-auth/<identity>.nk, written by `npm run infra:up`) or NATS_PASSWORD.'
          : /certificate|tls|ssl|self.signed/i.test((error as Error).message)
            ? `Check NATS_TLS_CA_FILE (the CA that signed the server's certificate${config.tlsCaFile ? '' : "; without it, the system's CAs"}) and that the server takes TLS at this address (docs/security.md, "NATS identities and permissions").`
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
