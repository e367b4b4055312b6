/**
 * Every named CQL statement, prepared against the migrated keyspace: a typo, a column that no migration
 * created, or a query that would need ALLOW FILTERING fails here, not in production.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { ALL_STATEMENTS, connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, projectPath } from '@nunchi/config';
// Repositories that live in apps register their statements on import too.
import '../../apps/ingestion/src/identity.repository.js';

// The driver prepares lazily inside execute(); preparing without executing needs its prepare handler.
const PrepareHandler = createRequire(import.meta.url)('cassandra-driver/lib/prepare-handler.js') as {
  getPrepared(
    client: CqlClient,
    loadBalancing: unknown,
    query: string,
    keyspace: string,
  ): Promise<{ queryId: Buffer }>;
};

/** A lightweight transaction (IF NOT EXISTS, IF EXISTS, IF col = …): never safe to retry blindly. */
const CONDITIONAL = /\sIF\s+(NOT\s+EXISTS|EXISTS|[a-z_]+\s*(=|!=|<|>|IN))/i;

describe('CQL statements (prepared against the migrated keyspace)', () => {
  let client: CqlClient;
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });

  before(async () => {
    client = await connectCassandra(config.cassandra, { applicationName: 'nunchi-medium-test' });
  });
  after(async () => {
    await client?.shutdown();
  });

  it('has every repository registered, each statement under a unique name', () => {
    const names = ALL_STATEMENTS.map((s) => s.name);
    assert.equal(
      new Set(names).size,
      names.length,
      `duplicate names: ${names.filter((n, i) => names.indexOf(n) !== i).join(', ')}`,
    );
    // One statement of each repository module: a module nobody imports leaves its statements untested.
    for (const name of [
      'customers.get',
      'customer_events.insert',
      'campaigns.insert',
      'campaign_drafts.update',
      'campaign_audit.insert',
      'decisions_by_id.insert',
      'customers.erase',
      'identities.find',
    ]) {
      assert.ok(
        names.includes(name),
        `statement ${name} is not registered: is its repository module imported?`,
      );
    }
  });

  it('prepares every statement', async () => {
    const failures: string[] = [];
    for (const stmt of ALL_STATEMENTS) {
      try {
        await PrepareHandler.getPrepared(
          client,
          (client as unknown as { options: { policies: { loadBalancing: unknown } } }).options.policies
            .loadBalancing,
          stmt.cql,
          config.cassandra.keyspace,
        );
      } catch (error) {
        failures.push(`${stmt.name}: ${(error as Error).message}\n    ${stmt.cql}`);
      }
    }
    assert.deepEqual(failures, [], `statements that do not prepare:\n${failures.join('\n')}`);
  });

  it('never filters, and marks idempotent exactly the statements that are safe to retry', () => {
    for (const stmt of ALL_STATEMENTS) {
      assert.doesNotMatch(stmt.cql, /ALLOW\s+FILTERING/i, `${stmt.name} filters`);
      const conditional = CONDITIONAL.test(stmt.cql);
      assert.equal(
        stmt.idempotent,
        !conditional,
        `${stmt.name}: ${conditional ? 'a conditional write must not be marked idempotent' : 'keyed reads and upserts are idempotent: mark it so the driver may retry'}`,
      );
    }
  });

  it('reaches every table the migrations create (and a later one does not drop)', () => {
    const cql = readdirSync(projectPath('cql'))
      .filter((f) => f.endsWith('.cql'))
      .map((f) => readFileSync(projectPath('cql', f), 'utf8'))
      .join('\n');
    const dropped = new Set([...cql.matchAll(/DROP TABLE IF EXISTS (\w+)/g)].map((m) => m[1]));
    const tables = [...cql.matchAll(/CREATE TABLE IF NOT EXISTS (\w+)/g)]
      .map((m) => m[1])
      .filter((t) => !dropped.has(t));
    const unused = tables.filter(
      (t) => !ALL_STATEMENTS.some((s) => new RegExp(`\\b(FROM|INTO|UPDATE)\\s+${t}\\b`, 'i').test(s.cql)),
    );
    assert.deepEqual(unused, [], 'tables no statement reads or writes');
  });
});
