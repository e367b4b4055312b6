import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CASSANDRA_MIGRATOR_ROLE, CASSANDRA_SERVICE_ROLES, type ServiceName } from '@nunchi/config';
import type { CqlClient } from './client.js';
import { MigrationError, splitStatements } from './migrations.js';

/**
 * The Cassandra roles (docs/security.md, "Cassandra roles"). The migrator alone may create, alter and drop
 * keyspaces, tables and roles; it creates the others and grants them, table by table, what their code
 * reads (SELECT) and writes (MODIFY): cql/roles/grants.cql. scripts/infra.mjs (CASSANDRA_ROLE_NAMES) makes
 * the local node's passwords for the same list.
 */
export const CASSANDRA_ROLES = Object.freeze({
  migrator: CASSANDRA_MIGRATOR_ROLE,
  ingestion: CASSANDRA_SERVICE_ROLES.ingestion,
  context: CASSANDRA_SERVICE_ROLES.context,
  decision: CASSANDRA_SERVICE_ROLES.decision,
  analytics: CASSANDRA_SERVICE_ROLES.analytics,
  operator: CASSANDRA_SERVICE_ROLES.cli,
});

/** The role each process logs in as; the CLI is the operator's (libs/config CASSANDRA_SERVICE_ROLES). */
export const SERVICE_ROLES: Readonly<Record<ServiceName, string>> = CASSANDRA_SERVICE_ROLES;

/** The roles the migration creates and grants (all but the migrator, which an administrator makes once). */
export const GRANTED_ROLES: readonly string[] = Object.values(SERVICE_ROLES);

/** The grants file, relative to the migrations' directory. */
export const GRANTS_FILE = join('roles', 'grants.cql');

const PASSWORD = /^[\x21-\x7e]{16,256}$/;

export interface RolesReport {
  /** roles whose password was set from CASSANDRA_ROLE_PASSWORDS_DIR */
  passwords: string[];
  /** roles that exist without a password file: they keep the password they have (none: no login yet) */
  unchanged: string[];
  grants: number;
}

/**
 * Creates the service roles, sets their passwords from `passwordsDir` (a file per role, named after it: a
 * mounted secret; a new password there is a rotation), and applies cql/roles/grants.cql to the keyspace the
 * client is connected to. Idempotent; run by `migrate` when it logs in with credentials.
 */
export async function applyRoles(
  client: CqlClient,
  migrationsDir: string,
  passwordsDir: string | undefined,
): Promise<RolesReport> {
  const report: RolesReport = { passwords: [], unchanged: [], grants: 0 };
  for (const role of GRANTED_ROLES) {
    await client.execute(`CREATE ROLE IF NOT EXISTS ${role} WITH LOGIN = true`);
    const password = passwordsDir ? await readPassword(join(passwordsDir, role)) : undefined;
    if (password === undefined) {
      report.unchanged.push(role);
      continue;
    }
    if (!PASSWORD.test(password))
      throw new MigrationError(
        `The password of role ${role} (${join(passwordsDir ?? '', role)}) must be 16-256 printable ASCII characters without spaces.`,
      );
    // Roles take no bind markers; the password is a CQL string literal, quotes doubled.
    await client.execute(`ALTER ROLE ${role} WITH PASSWORD = '${password.replaceAll("'", "''")}'`);
    report.passwords.push(role);
  }
  const grants = splitStatements(await readFile(join(migrationsDir, GRANTS_FILE), 'utf8'));
  for (const grant of grants) {
    if (!/^GRANT (SELECT|MODIFY) ON TABLE [a-z_]+ TO nunchi_[a-z]+$/.test(grant))
      throw new MigrationError(
        `${GRANTS_FILE} may hold only table-level SELECT and MODIFY grants: "${grant}"`,
      );
    await client.execute(grant);
  }
  report.grants = grants.length;
  return report;
}

async function readPassword(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
