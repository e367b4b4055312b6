import { connectCassandra, migrate, type CqlClient } from '@nunchi/cassandra';
import { asMigrator, loadConfig, projectPath, type NunchiConfig } from '@nunchi/config';

/**
 * Configuration for a benchmark: the environment's, with its own Cassandra keyspace (NUNCHI_BENCH_KEYSPACE,
 * default nunchi_bench) so that measurements neither read nor pollute real or test data.
 */
export function benchConfig(env: Record<string, string | undefined> = process.env): NunchiConfig {
  return loadConfig('cli', {
    ...env,
    OTEL_TRACES_EXPORTER: 'none',
    CASSANDRA_KEYSPACE: env['NUNCHI_BENCH_KEYSPACE'] ?? 'nunchi_bench',
  });
}

/**
 * Creates and migrates the bench keyspace; returns a client on it. On a node with authorization only the
 * migrator creates keyspaces (docs/security.md, Cassandra roles): as `nunchi migrate` does, the migration runs
 * as the migrator when the local node's passwords are at hand.
 */
export async function benchKeyspace(config: NunchiConfig): Promise<CqlClient> {
  await migrate(asMigrator(config.cassandra), projectPath('cql'), undefined, {
    identityKey: config.domain.identityKey,
    previousIdentityKeys: config.domain.previousIdentityKeys,
  });
  return connectCassandra(config.cassandra, { applicationName: 'nunchi-bench' });
}

/** Drops the bench keyspace (refuses any other), as the migrator that created it. */
export async function dropBenchKeyspace(_client: CqlClient, config: NunchiConfig): Promise<void> {
  if (!/bench/.test(config.cassandra.keyspace))
    throw new Error(`refusing to drop ${config.cassandra.keyspace}: not a bench keyspace`);
  const admin = await connectCassandra(asMigrator(config.cassandra), {
    keyspace: false,
    applicationName: 'nunchi-bench',
  });
  try {
    await admin.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`, [], { readTimeout: 60_000 });
  } finally {
    await admin.shutdown();
  }
}

import { prng } from '@nunchi/testing';

export { prng };

/** p-th percentile (0..100) of a sorted array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round = (x: number, digits = 3) => Number(x.toFixed(digits));

export const REGIONS = [
  'Bundang',
  'Seoul',
  'Busan',
  'Incheon',
  'Daegu',
  'Daejeon',
  'Gwangju',
  'Suwon',
  'Ulsan',
  'Jeju',
];
