import cassandra from 'cassandra-driver';
import type { CassandraConfig } from '@nunchi/config';
import { StatementMetrics } from './statement-metrics.js';

export type CqlClient = cassandra.Client;
export const { types: cqlTypes } = cassandra;

export class CassandraUnavailableError extends Error {
  override readonly name = 'CassandraUnavailableError';
}

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
