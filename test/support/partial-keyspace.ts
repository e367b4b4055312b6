import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectCassandra,
  migrate,
  splitStatements,
  type CqlClient,
  type MigrateOptions,
  type MigrationReport,
} from '@nunchi/cassandra';
import { projectPath, type CassandraConfig } from '@nunchi/config';

/**
 * A keyspace of its own migrated up to — not including — one migration file, for a test of that file's data
 * step against rows an earlier version wrote: `open` migrates up to it and connects; `statements` runs the
 * file's own statements alone (a replica of the new version writing during a rolling upgrade); `migrate` applies
 * it, with its data step; `close` drops the keyspace.
 */
export function keyspaceBefore(cassandra: CassandraConfig, file: RegExp, tag: string) {
  const keyspace = `${cassandra.keyspace}_${tag}${randomUUID().slice(0, 8)}`.slice(0, 48);
  const config = { ...cassandra, keyspace };
  const dir = mkdtempSync(join(tmpdir(), 'nunchi-cql-'));
  const files = readdirSync(projectPath('cql')).filter((f) => f.endsWith('.cql'));
  const name = files.find((f) => file.test(f));
  if (!name) throw new Error(`no migration file matches ${String(file)}`);
  let client: CqlClient | undefined;
  return {
    config,
    /** the migration file under test */
    name,
    async open(): Promise<CqlClient> {
      for (const f of files.filter((f) => f < name)) copyFileSync(projectPath('cql', f), join(dir, f));
      await migrate(config, dir);
      copyFileSync(projectPath('cql', name), join(dir, name));
      client = await connectCassandra(config, { applicationName: 'nunchi-medium-test' });
      return client;
    },
    async statements(): Promise<void> {
      for (const cql of splitStatements(readFileSync(projectPath('cql', name), 'utf8')))
        await client!.execute(cql);
    },
    migrate(log?: (line: string) => void, options?: MigrateOptions): Promise<MigrationReport> {
      return migrate(config, dir, log, options);
    },
    async close(): Promise<void> {
      await client
        ?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { readTimeout: 60_000 })
        .catch(() => undefined);
      await client?.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
