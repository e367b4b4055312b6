import { readFileSync } from 'node:fs';
import cassandra from 'cassandra-driver';
import type { CassandraConfig } from '@nunchi/config';
import { StatementMetrics } from './statement-metrics.js';

export type CqlClient = cassandra.Client;
export const { types: cqlTypes } = cassandra;

export class CassandraUnavailableError extends Error {
  override readonly name: string = 'CassandraUnavailableError';
}

/** The node refused this process's credentials (or asked for some and there were none). */
export class CassandraAuthError extends CassandraUnavailableError {
  override readonly name = 'CassandraAuthError';
}

/** The driver's TLS options from the configuration: the files are read here, once, at connection. */
export function cassandraSslOptions(config: CassandraConfig): cassandra.ClientOptions['sslOptions'] {
  const tls = config.tls;
  if (!tls) return undefined;
  return {
    ...(tls.caFile ? { ca: [readFileSync(tls.caFile)] } : {}),
    ...(tls.certFile && tls.keyFile
      ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }
      : {}),
    rejectUnauthorized: true,
    ...(tls.verifyHostname ? {} : { checkServerIdentity: () => undefined }),
  };
}

/**
 * The per-host errors a connection error carries (the driver's NoHostAvailableError.innerErrors), then the
 * error itself: the most specific first.
 */
function causesOf(error: unknown): Error[] {
  const inner = (error as { innerErrors?: Record<string, unknown> }).innerErrors;
  return [...Object.values(inner ?? {}), error].filter((e): e is Error => e instanceof Error);
}

/** The authentication failure inside a connection error, if that is what it is. */
const authFailure = (error: unknown): Error | undefined =>
  causesOf(error).find((e) => e instanceof cassandra.errors.AuthenticationError);

/** A TLS handshake's failure inside a connection error (a certificate not trusted, a name not matched, no TLS). */
const tlsFailure = (error: unknown): Error | undefined =>
  causesOf(error).find(
    (e) =>
      /CERT|SIGNED|VERIFY|ALTNAME|SSL|TLS|EPROTO/.test(`${(e as { code?: string }).code ?? ''}`) ||
      /certificate|ssl|tls/i.test(e.message),
  );

/** One long-lived client per process. keyspace=false connects without one (for migrations). */
export async function connectCassandra(
  config: CassandraConfig,
  options: { keyspace?: boolean; applicationName?: string } = {},
): Promise<CqlClient> {
  const client = new cassandra.Client({
    contactPoints: config.contactPoints,
    localDataCenter: config.localDataCenter,
    keyspace: options.keyspace === false ? undefined : config.keyspace,
    applicationName: options.applicationName,
    credentials: config.username ? { username: config.username, password: config.password ?? '' } : undefined,
    sslOptions: cassandraSslOptions(config),
    queryOptions: { prepare: true, consistency: cassandra.types.consistencies.localQuorum },
    socketOptions: { connectTimeout: 5_000, readTimeout: 12_000 },
    // Heartbeats every 5 s (default 30 s): a node cut off by a partition is marked down, and left, that soon.
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: 2 }, heartBeatInterval: 5_000 },
    requestTracker: new StatementMetrics(),
    // The driver's default waits up to 10 minutes between attempts to reach a node that went down; consumers
    // wait an outage out (libs/messaging OutageGate), so a node back up must be found again within seconds.
    policies: {
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(500, 5_000, false),
    },
  });
  try {
    await client.connect();
  } catch (error) {
    await client.shutdown().catch(() => undefined);
    const refused = authFailure(error);
    if (refused) {
      const fix = config.username
        ? `Cassandra refused the credentials of role ${config.username} (${refused.message}). Check CASSANDRA_USERNAME and CASSANDRA_PASSWORD (or CASSANDRA_PASSWORD_FILE) against the role's password; after a rotation, run the migration with the new passwords first (docs/security.md, "Cassandra roles").`
        : `Cassandra at ${config.contactPoints.join(',')} asks for credentials and none are configured (${refused.message}). Set CASSANDRA_USERNAME and CASSANDRA_PASSWORD (or CASSANDRA_PASSWORD_FILE) to this service's role (docs/security.md, "Cassandra roles"); on the local node (npm run infra:up), NUNCHI_DEV_MODE=1 or CASSANDRA_AUTH_DIR=.nunchi/cassandra-auth takes them from there.`;
      throw new CassandraAuthError(fix, { cause: error });
    }
    const handshake = config.tls ? tlsFailure(error) : undefined;
    if (handshake)
      throw new CassandraUnavailableError(
        `Cannot use Cassandra at ${config.contactPoints.join(',')} over TLS: ${handshake.message}. Check CASSANDRA_TLS_CA_FILE (the CA that signed the nodes' certificates; the system's CAs without it), CASSANDRA_TLS_VERIFY_HOSTNAME (a node's certificate must name the address it is reached by) and that the nodes take TLS on this port (docs/security.md, "Cassandra roles").`,
        { cause: error },
      );
    const hint = /keyspace/i.test((error as Error).message)
      ? ' Run "npm run migrate" first.'
      : ' Start it with "npm run infra:up" or set CASSANDRA_CONTACT_POINTS.';
    throw new CassandraUnavailableError(
      `Cannot use Cassandra at ${config.contactPoints.join(',')}: ${(error as Error).message}.${hint}`,
      { cause: error },
    );
  }
  return client;
}
