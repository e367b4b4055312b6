import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { projectPath } from '@nunchi/config';
import { splitStatements } from './migrations.js';
import { CASSANDRA_ROLES, GRANTED_ROLES, GRANTS_FILE } from './roles.js';

describe('cql/roles/grants.cql', () => {
  const grants = splitStatements(readFileSync(projectPath('cql', GRANTS_FILE), 'utf8'));
  const migrations = readdirSync(projectPath('cql'))
    .filter((f) => /^\d{4}_.*\.cql$/.test(f))
    .map((f) => readFileSync(projectPath('cql', f), 'utf8'))
    .join('\n');
  const dropped = new Set([...migrations.matchAll(/DROP TABLE IF EXISTS (\w+)/g)].map((m) => m[1]));
  const tables = [...migrations.matchAll(/CREATE TABLE IF NOT EXISTS (\w+)/g)]
    .map((m) => m[1])
    .filter((t) => !dropped.has(t));

  it('grants only SELECT and MODIFY on tables the migrations create, to the service roles', () => {
    for (const grant of grants) {
      const m = /^GRANT (SELECT|MODIFY) ON TABLE (\w+) TO (\w+)$/.exec(grant);
      assert.ok(m, `not a table-level SELECT/MODIFY grant: ${grant}`);
      assert.ok(tables.includes(m[2]), `${grant}: no migration creates ${m[2]}`);
      assert.ok(GRANTED_ROLES.includes(m[3]), `${grant}: ${m[3]} is not a service role`);
    }
    assert.equal(new Set(grants).size, grants.length, 'no grant twice');
  });

  it('gives the operator every table, and no service role a schema permission', () => {
    const operator = grants.filter((g) => g.endsWith(` TO ${CASSANDRA_ROLES.operator}`));
    assert.deepEqual(
      [...new Set(operator.map((g) => g.split(' ')[4]))].sort(),
      tables.filter((t) => t !== 'schema_migrations').sort(),
    );
  });

  it('names the roles scripts/infra.mjs makes passwords for', async () => {
    const infra = (await import(pathToFileURL(join(projectPath('scripts'), 'infra.mjs')).href)) as {
      CASSANDRA_ROLE_NAMES: string[];
    };
    assert.deepEqual(
      [...infra.CASSANDRA_ROLE_NAMES].sort(),
      [CASSANDRA_ROLES.migrator, ...GRANTED_ROLES].sort(),
    );
  });
});
