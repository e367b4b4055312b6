import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import {
  CASSANDRA_ROLES,
  CassandraAuthError,
  GRANTED_ROLES,
  GRANTS_FILE,
  connectCassandra,
  splitStatements,
  type CqlClient,
} from '@nunchi/cassandra';
import { loadConfig, projectPath, type CassandraConfig } from '@nunchi/config';

const exec = promisify(execFile);

/**
 * Cassandra roles (docs/security.md, "Cassandra roles"), on the suite's node: scripts/infra.mjs runs it with
 * PasswordAuthenticator and CassandraAuthorizer, `nunchi migrate` has created the service roles and applied
 * cql/roles/grants.cql. Each role reads and writes what it is granted and nothing else; no role but the
 * migrator changes the schema or the roles; a wrong password gets a clear error, at a service's start too.
 */
const dir = process.env['CASSANDRA_AUTH_DIR'];
const base = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' }).cassandra;
const keyspace = base.keyspace;
const UNAUTHORIZED = cassandra.types.responseErrorCodes.unauthorized;

/** Why the suite's node cannot run these tests, if it cannot (CASSANDRA_AUTH=off opts out explicitly). */
const skip =
  dir === undefined &&
  ['off', 'false', '0', 'no'].includes((process.env['CASSANDRA_AUTH'] ?? '').toLowerCase())
    ? 'CASSANDRA_AUTH=off: the suite runs on a node without authentication'
    : false;

describe(
  'Cassandra roles: least privilege per service, schema changes by the migrator only',
  { skip },
  () => {
    const clients = new Map<string, CqlClient>();
    const configOf = async (role: string, password?: string): Promise<CassandraConfig> => ({
      ...base,
      username: role,
      password: password ?? (await readFile(join(dir!, role), 'utf8')).trim(),
    });
    const as = async (role: string): Promise<CqlClient> => {
      let client = clients.get(role);
      if (!client) {
        client = await connectCassandra(await configOf(role), { applicationName: `nunchi-test-${role}` });
        clients.set(role, client);
      }
      return client;
    };
    /** The Cassandra error code of the statement run as `role`, or 'ok'. */
    const attempt = async (role: string, cql: string, params: unknown[] = []): Promise<number | 'ok'> => {
      try {
        await (await as(role)).execute(cql, params, { prepare: params.length > 0 });
        return 'ok';
      } catch (error) {
        const code = (error as { code?: number }).code;
        if (code === undefined) throw error;
        return code;
      }
    };
    const refused = async (role: string, cql: string, params: unknown[] = []) =>
      assert.equal(await attempt(role, cql, params), UNAUTHORIZED, `${role} may not: ${cql}`);
    const allowed = async (role: string, cql: string, params: unknown[] = []) =>
      assert.equal(await attempt(role, cql, params), 'ok', `${role} may: ${cql}`);

    /** role → table → permissions, from the shipped grants file */
    const grants = new Map<string, Map<string, Set<string>>>();

    before(async () => {
      assert.ok(
        dir,
        "the suite's Cassandra runs without authentication (scripts/infra.mjs turns it on; set CASSANDRA_AUTH=off to run the suite without it, which skips these tests). A node started before: `npm run infra:down -- --only cassandra && npm run infra:up`",
      );
      const text = await readFile(projectPath('cql', GRANTS_FILE), 'utf8');
      for (const grant of splitStatements(text)) {
        const [, permission, table, role] = /^GRANT (\w+) ON TABLE (\w+) TO (\w+)$/.exec(grant)!;
        const tables = grants.get(role) ?? new Map<string, Set<string>>();
        grants.set(role, tables.set(table, (tables.get(table) ?? new Set()).add(permission)));
      }
    });
    after(async () => {
      await Promise.allSettled([...clients.values()].map((c) => c.shutdown()));
    });

    it('grants only tables of the keyspace, to the service roles, and every table to the operator', async () => {
      const tables = (
        await (
          await as(CASSANDRA_ROLES.operator)
        ).execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace])
      ).rows
        .map((r) => r['table_name'] as string)
        .filter((t) => t !== 'schema_migrations');
      assert.deepEqual([...grants.keys()].sort(), [...GRANTED_ROLES].sort());
      for (const [role, granted] of grants)
        for (const table of granted.keys()) assert.ok(tables.includes(table), `${role}: ${table} exists`);
      assert.deepEqual(
        [...grants.get(CASSANDRA_ROLES.operator)!.keys()].sort(),
        tables.sort(),
        'the operator reads and writes every table',
      );
    });

    it('each service role reads every table it is granted, and no other', async () => {
      for (const role of GRANTED_ROLES) {
        for (const table of grants.get(CASSANDRA_ROLES.operator)!.keys()) {
          const cql = `SELECT * FROM ${keyspace}.${table} LIMIT 1`;
          if (grants.get(role)!.get(table)?.has('SELECT')) await allowed(role, cql);
          else await refused(role, cql);
        }
      }
    });

    it("decision cannot write (or read) customers' context; ingestion cannot write decisions; analytics cannot write customers", async () => {
      const customer = `roles-${Date.now()}`;
      await refused(
        CASSANDRA_ROLES.decision,
        `DELETE FROM ${keyspace}.customer_events WHERE customer_id = ? AND month = ?`,
        [customer, '2026-12'],
      );
      await refused(CASSANDRA_ROLES.decision, `SELECT * FROM ${keyspace}.customer_events LIMIT 1`);
      await refused(CASSANDRA_ROLES.decision, `DELETE FROM ${keyspace}.customers WHERE customer_id = ?`, [
        customer,
      ]);
      await refused(CASSANDRA_ROLES.decision, `TRUNCATE ${keyspace}.customer_days`);
      await refused(
        CASSANDRA_ROLES.ingestion,
        `DELETE FROM ${keyspace}.decisions_by_id WHERE decision_id = ?`,
        ['d-roles'],
      );
      await refused(CASSANDRA_ROLES.analytics, `DELETE FROM ${keyspace}.customers WHERE customer_id = ?`, [
        customer,
      ]);
      await refused(CASSANDRA_ROLES.analytics, `TRUNCATE ${keyspace}.identities`);
      // …while each writes what it owns (a delete of a row that does not exist changes nothing)
      await allowed(
        CASSANDRA_ROLES.decision,
        `DELETE FROM ${keyspace}.decisions_by_id WHERE decision_id = ?`,
        ['d-roles'],
      );
      await allowed(
        CASSANDRA_ROLES.ingestion,
        `DELETE FROM ${keyspace}.identities WHERE id_type = ? AND id_value = ?`,
        ['card', 'roles-none'],
      );
    });

    it('no role but the migrator creates, alters or drops a keyspace, a table or a role, or grants', async () => {
      const roles = [...GRANTED_ROLES];
      const scratch = `${keyspace.slice(0, 30)}_roles_scratch`;
      for (const role of roles) {
        await refused(role, `ALTER TABLE ${keyspace}.analytics_decisions ADD roles_probe text`);
        await refused(role, `DROP TABLE ${keyspace}.analytics_decisions`);
        await refused(role, `CREATE TABLE ${keyspace}.roles_probe (id text PRIMARY KEY)`);
        await refused(role, `DROP KEYSPACE ${keyspace}`);
        await refused(role, `ALTER KEYSPACE ${keyspace} WITH durable_writes = true`);
        await refused(
          role,
          `CREATE KEYSPACE ${scratch} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
        );
        await refused(role, `CREATE INDEX roles_probe ON ${keyspace}.analytics_decisions (outcome)`);
        await refused(role, `CREATE ROLE roles_probe WITH LOGIN = false`);
        await refused(role, `GRANT SELECT ON TABLE ${keyspace}.customers TO ${CASSANDRA_ROLES.decision}`);
        await refused(role, `ALTER ROLE ${CASSANDRA_ROLES.migrator} WITH PASSWORD = 'roles-probe-password'`);
      }
      // The migrator may: it owns the keyspace (a no-op ALTER proves it without changing anything).
      await allowed(CASSANDRA_ROLES.migrator, `ALTER KEYSPACE ${keyspace} WITH durable_writes = true`);
    });

    it('refuses a wrong password with an error naming the role and what to check', async () => {
      await assert.rejects(
        connectCassandra(await configOf(CASSANDRA_ROLES.decision, 'not-the-password-of-decision')),
        (error: Error) => {
          assert.ok(error instanceof CassandraAuthError, error.message);
          assert.match(error.message, /^Cassandra refused the credentials of role nunchi_decision/);
          assert.match(error.message, /CASSANDRA_PASSWORD_FILE/);
          return true;
        },
      );
      await assert.rejects(
        connectCassandra({ ...base, username: undefined, password: undefined }),
        /asks for credentials and none are configured.*CASSANDRA_USERNAME/,
      );
    });

    it('a service started with a wrong password stops at once with that error', async () => {
      const started = Date.now();
      const result = await exec(
        process.execPath,
        [projectPath('dist', 'apps', 'decision', 'src', 'main.js')],
        {
          env: {
            ...process.env,
            CASSANDRA_USERNAME: CASSANDRA_ROLES.decision,
            CASSANDRA_PASSWORD: 'not-the-password-of-decision',
            CASSANDRA_PASSWORD_FILE: '',
            NUNCHI_DECISION_PORT: '0',
            OTEL_TRACES_EXPORTER: 'none',
          },
          timeout: 60_000,
        },
      ).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code?: number; stderr?: string }) => ({ code: e.code, stderr: e.stderr ?? '' }),
      );
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /Cassandra refused the credentials of role nunchi_decision/);
      assert.ok(Date.now() - started < 60_000);
    });
  },
);
