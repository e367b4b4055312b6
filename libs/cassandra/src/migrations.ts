import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CassandraConfig, IdentityKey } from '@nunchi/config';
import { backfillCustomerDays } from './backfill-customer-days.js';
import { hashClearIdentifiers } from './hash-clear-identifiers.js';
import { sealClearProfiles, type SealProfilesReport } from './seal-clear-profiles.js';
import { pseudonymiseAnalytics, type PseudonymiseReport } from './pseudonymise-analytics.js';
import { connectCassandra, type CqlClient } from './client.js';
import { applyRoles, GRANTS_FILE } from './roles.js';

export interface MigrationFile {
  name: string;
  checksum: string;
  statements: string[];
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

const FILE_PATTERN = /^(\d{4})_[a-z0-9_]+\.cql$/;

/**
 * Data steps: code that runs right after a migration file's statements and before the file is recorded as
 * applied, so a step that fails runs again (with the file's idempotent statements) on the next `migrate`.
 * Keyed by the file's name without its number, so renumbering a file does not lose its step.
 */
const DATA_STEPS = {
  customer_days: async (client, log) => {
    const copied = await backfillCustomerDays(client, log);
    return `copied ${copied.days} days of ${copied.customers} customers (${copied.rows} rows) from customer_daily`;
  },
  keyed_identifiers: async (client, log, options) => {
    const r = await hashClearIdentifiers(client, options.identityKey, log);
    return `hashed ${r.hashed} loyalty cards and device ids stored in clear (of ${r.scanned} identities), ${r.merges} merge records rewritten, ${r.conflicts} conflicts`;
  },
  sealed_profiles: async (client, log, options) =>
    sealedProfilesLine(await sealClearProfiles(client, keksOf(options), log)),
  analytics_pseudonyms: async (client, log, options) =>
    pseudonymisedLine(await pseudonymiseAnalytics(client, keksOf(options), log)),
} satisfies Record<
  string,
  (client: CqlClient, log: (line: string) => void, options: MigrateOptions) => Promise<string>
>;

/** The name of a migration's data step (its file's name without number and extension). */
export type DataStep = keyof typeof DATA_STEPS;

/**
 * Runs a migration's data step again, outside `migrate` (`nunchi customers hash-identifiers`, `seal-profiles`,
 * `pseudonymise-analytics`: after an upgrade during which replicas of the previous version still wrote the old
 * way); returns the line the migration logs for it. Every step is safe to repeat.
 */
export function runDataStep(
  step: DataStep,
  client: CqlClient,
  options: MigrateOptions,
  log: (line: string) => void,
): Promise<string> {
  return DATA_STEPS[step](client, log, options);
}

/** The identity keys of the options, current first. */
const keksOf = (options: MigrateOptions): IdentityKey[] => [
  ...(options.identityKey ? [options.identityKey] : []),
  ...(options.previousIdentityKeys ?? []),
];

/** What moving analytics' rows under pseudonyms did, in one line. */
function pseudonymisedLine(r: PseudonymiseReport): string {
  return (
    `moved ${r.moved} analytics rows from customer ids to pseudonyms (of ${r.scanned} rows; ${r.keysCreated} data keys created, ` +
    `${r.erased} rows of erased customers deleted` +
    (r.unopenable
      ? `; ${r.unopenable} left under customer ids: their data keys are wrapped under an identity key not given`
      : '') +
    ')'
  );
}

/** What sealing clear profiles did, in one line. */
function sealedProfilesLine(r: SealProfilesReport): string {
  return (
    `sealed ${r.sealed} profiles stored in clear (of ${r.scanned} customers; ${r.keysCreated} data keys created, ` +
    `${r.erased} of erased customers left to the erasure` +
    (r.unopenable
      ? `; ${r.unopenable} left in clear: their data keys are wrapped under an identity key not given`
      : '') +
    ')'
  );
}

export interface MigrateOptions {
  /**
   * The identity key (NUNCHI_IDENTITY_SECRET): the data step of 0018 hashes identifiers an earlier version
   * stored in clear with it, that of 0022 seals profiles stored in clear under customers' data keys wrapped
   * under it, and that of 0023 moves analytics' rows under pseudonyms derived from those keys; each fails
   * naming the variable if there is something to do and no key.
   */
  identityKey?: IdentityKey;
  /** keys retired by a rotation (NUNCHI_IDENTITY_PREVIOUS_KEYS): data keys wrapped under them still open */
  previousIdentityKeys?: IdentityKey[];
}

/** The data step of a migration file (see DATA_STEPS), if it has one. */
export function dataStepOf(fileName: string): DataStep | undefined {
  const key = fileName.replace(/^\d{4}_/, '').replace(/\.cql$/, '');
  return Object.hasOwn(DATA_STEPS, key) ? (key as DataStep) : undefined;
}

/** Splits a .cql file into statements: `--` and `//` comments dropped, `;` ends a statement. */
export function splitStatements(text: string): string[] {
  const withoutComments = text
    .split('\n')
    .map((line) => line.replace(/(--|\/\/).*$/, ''))
    .join('\n');
  return withoutComments
    .split(';')
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
}

export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.cql')).sort();
  const bad = names.filter((n) => !FILE_PATTERN.test(n));
  if (bad.length)
    throw new MigrationError(`Migration files must be named NNNN_snake_case.cql: ${bad.join(', ')}`);
  const files: MigrationFile[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8');
    files.push({
      name,
      checksum: createHash('sha256').update(text).digest('hex'),
      statements: splitStatements(text),
    });
  }
  return files;
}

export interface MigrationReport {
  applied: string[];
  skipped: string[];
}

/**
 * Applies cql/NNNN_*.cql in order, once each. Creates the keyspace with the configured replication.
 * Refuses to run when an applied file has changed since: schema history is append-only.
 */
export async function migrate(
  config: CassandraConfig,
  dir: string,
  log: (line: string) => void = () => undefined,
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const files = await readMigrations(dir);
  const admin = await connectCassandra(config, { keyspace: false, applicationName: 'nunchi-migrate' });
  let client: CqlClient | undefined;
  try {
    await admin.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${config.keyspace} WITH replication = ${config.replication}`,
    );
    await admin.execute(
      `CREATE TABLE IF NOT EXISTS ${config.keyspace}.schema_migrations (name text PRIMARY KEY, checksum text, applied_at timestamp)`,
    );
    client = await connectCassandra(config, { applicationName: 'nunchi-migrate' });
    const rows = (await client.execute('SELECT name, checksum FROM schema_migrations')).rows;
    const applied = new Map(rows.map((r) => [r['name'] as string, r['checksum'] as string]));
    const changed = files.filter((f) => applied.has(f.name) && applied.get(f.name) !== f.checksum);
    if (changed.length) {
      throw new MigrationError(
        `Applied migrations were edited since: ${changed.map((f) => f.name).join(', ')}. ` +
          'Restore them and put the change in a new numbered file.',
      );
    }
    const report: MigrationReport = { applied: [], skipped: [] };
    for (const file of files) {
      if (applied.has(file.name)) {
        report.skipped.push(file.name);
        continue;
      }
      for (const cql of file.statements) await client.execute(cql);
      const step = dataStepOf(file.name);
      if (step) log(`${file.name}: ${await DATA_STEPS[step](client, log, options)}`);
      await client.execute(
        'INSERT INTO schema_migrations (name, checksum, applied_at) VALUES (?, ?, ?)',
        [file.name, file.checksum, new Date()],
        { prepare: true },
      );
      report.applied.push(file.name);
      log(`applied ${file.name} (${file.statements.length} statements)`);
    }
    // With credentials the node checks permissions: the service roles and their grants follow the schema
    // (a directory of migrations without the grants file, such as a test's partial copy, has no roles).
    if (config.username && !existsSync(join(dir, GRANTS_FILE)))
      log(`roles: no ${GRANTS_FILE} in ${dir}; service roles and grants left as they are`);
    else if (config.username) {
      const roles = await applyRoles(client, dir, config.rolePasswordsDir);
      log(
        `roles: ${roles.grants} grants to ${roles.passwords.length + roles.unchanged.length} service roles` +
          (roles.passwords.length ? `; passwords set for ${roles.passwords.join(', ')}` : '') +
          (roles.unchanged.length
            ? `; ${roles.unchanged.join(', ')} keep their passwords (none in CASSANDRA_ROLE_PASSWORDS_DIR)`
            : ''),
      );
    }
    return report;
  } finally {
    await Promise.allSettled([admin.shutdown(), client?.shutdown()]);
  }
}
