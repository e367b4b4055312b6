/**
 * Migration 0018 against the real Cassandra (a keyspace of its own, migrated up to 0017 first): loyalty cards
 * and device ids an earlier version stored in clear are hashed under the identity key — identities, their
 * reverse index, merge records — phones and e-mails (hashed already) are left alone, a hashed value another
 * customer took meanwhile goes to the clear row's owner, the step refuses to run without the key, and running
 * it again changes nothing (docs/security.md, "Upgrading from identifiers stored in clear").
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { hashClearIdentifiers, storedIdentityValue, utcDay, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, requireIdentityKey } from '@nunchi/config';
import type { IdentityType } from '@nunchi/contracts/core';
import { keyspaceBefore } from '../support/partial-keyspace.js';

describe('migration 0018: identifiers stored in clear are hashed (a keyspace of its own)', () => {
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const key = requireIdentityKey(config);
  const run = randomUUID().slice(0, 8);
  const partial = keyspaceBefore(config.cassandra, /^\d{4}_keyed_identifiers\.cql$/, 'k');
  const keyedFile = partial.name;
  let ks: CqlClient;
  const q = (cql: string, params: unknown[] = []) => ks.execute(cql, params, { prepare: true });
  const hash = (type: IdentityType, value: string) => storedIdentityValue(type, value, key.secret);

  // What an earlier version wrote: X holds a card, a device and a phone (hashed then too); A was merged into X
  // (its device now X's, its merge record and its own index rows naming the device); the conflict card was also
  // seen by this version's ingestion before the step ran, which gave its hash to a new customer Y.
  const X = `cx-${run}`;
  const A = `ca-${run}`;
  const Y = `cy-${run}`;
  const card = `LC-OLD-${run}`;
  const device = `dev-old-${run}`;
  const absorbedDevice = `dev-abs-${run}`;
  const conflictCard = `LC-CONFLICT-${run}`;
  const phoneHash = hash('phone', '+82 10-1111-2222');
  const createdAt = new Date('2025-03-01T00:00:00Z');

  before(async () => {
    ks = await partial.open();
    const identity = (type: string, value: string, owner: string) =>
      q('INSERT INTO identities (id_type, id_value, customer_id, created_at) VALUES (?, ?, ?, ?)', [
        type,
        value,
        owner,
        createdAt,
      ]);
    const index = (owner: string, type: string, value: string) =>
      q('INSERT INTO customer_identities (customer_id, id_type, id_value) VALUES (?, ?, ?)', [
        owner,
        type,
        value,
      ]);
    for (const [type, value] of [
      ['loyaltyCard', card],
      ['deviceId', device],
      ['phone', phoneHash],
      ['deviceId', absorbedDevice],
      ['loyaltyCard', conflictCard],
    ]) {
      await identity(type, value, X);
      await index(X, type, value);
    }
    await index(A, 'deviceId', absorbedDevice);
    await q(
      'INSERT INTO customer_merges (absorbed_id, survivor_id, event_id, merged_at, state, identities) VALUES (?, ?, ?, ?, ?, ?)',
      [A, X, `e-${run}`, createdAt, 'done', JSON.stringify([['deviceId', absorbedDevice]])],
    );
    // This version's ingestion, run between the file's statement and its data step, gave the hash to Y.
    await partial.statements();
    await q(
      'INSERT INTO identities (id_type, id_value, customer_id, created_at, key_id) VALUES (?, ?, ?, ?, ?)',
      ['loyaltyCard', hash('loyaltyCard', conflictCard), Y, new Date(), key.id],
    );
    await index(Y, 'loyaltyCard', hash('loyaltyCard', conflictCard));
  });
  after(() => partial.close());

  const owner = async (type: IdentityType, value: string) =>
    (
      await q('SELECT customer_id, key_id, created_at FROM identities WHERE id_type = ? AND id_value = ?', [
        type,
        value,
      ])
    ).first();
  const indexOf = async (customerId: string) =>
    (await q('SELECT id_type, id_value FROM customer_identities WHERE customer_id = ?', [customerId])).rows
      .map((r) => `${r['id_type'] as string}:${r['id_value'] as string}`)
      .sort();

  it('refuses without the identity key, naming it, and leaves the migration to run again', async () => {
    await assert.rejects(partial.migrate(), /NUNCHI_IDENTITY_SECRET/);
    const applied = (await q('SELECT name FROM schema_migrations')).rows.map((r) => r['name'] as string);
    assert.ok(!applied.includes(keyedFile), 'not recorded as applied');
    assert.equal((await owner('loyaltyCard', card))?.['customer_id'], X, 'nothing changed');
  });

  it('hashes every clear card and device id, with their index rows and merge records; leaves phones alone', async () => {
    const lines: string[] = [];
    const report = await partial.migrate((line) => lines.push(line), { identityKey: key });
    assert.deepEqual(report.applied, [keyedFile]);
    assert.ok(
      lines.some(
        (l) =>
          l.includes('hashed 4 loyalty cards and device ids') &&
          l.includes('1 merge records') &&
          l.includes('1 conflicts'),
      ),
      lines.join(' | '),
    );

    for (const [type, value] of [
      ['loyaltyCard', card],
      ['deviceId', device],
      ['deviceId', absorbedDevice],
      ['loyaltyCard', conflictCard],
    ] as const) {
      assert.equal(await owner(type, value), null, `${type} in clear is gone`);
      const row = await owner(type, hash(type, value));
      assert.equal(row?.['customer_id'], X, `${type}: the clear row's owner keeps it`);
      assert.equal(row?.['key_id'], key.id);
    }
    assert.deepEqual(
      ((await owner('loyaltyCard', hash('loyaltyCard', card)))?.['created_at'] as Date).getTime(),
      createdAt.getTime(),
    );
    const phone = await owner('phone', phoneHash);
    assert.deepEqual([phone?.['customer_id'], phone?.['key_id']], [X, null], 'the phone row as it was');

    assert.deepEqual(
      await indexOf(X),
      [
        `deviceId:${hash('deviceId', absorbedDevice)}`,
        `deviceId:${hash('deviceId', device)}`,
        `loyaltyCard:${hash('loyaltyCard', card)}`,
        `loyaltyCard:${hash('loyaltyCard', conflictCard)}`,
        `phone:${phoneHash}`,
      ].sort(),
    );
    assert.deepEqual(await indexOf(A), [`deviceId:${hash('deviceId', absorbedDevice)}`]);
    assert.deepEqual(await indexOf(Y), [], 'the customer that lost the conflict no longer lists it');
    const merge = (await q('SELECT identities FROM customer_merges WHERE absorbed_id = ?', [A])).first();
    assert.deepEqual(JSON.parse(merge?.['identities'] as string), [
      ['deviceId', hash('deviceId', absorbedDevice)],
    ]);
    const changes = (
      await q('SELECT customer_id FROM identifier_changes_by_day WHERE day = ?', [utcDay(Date.now())])
    ).rows.map((r) => r['customer_id'] as string);
    assert.ok(changes.includes(Y), 'ingestion replicas are told Y lost an identifier');

    // Nothing in clear anywhere in the keyspace.
    for (const table of ['identities', 'customer_identities', 'customer_merges']) {
      const text = JSON.stringify((await ks.execute(`SELECT * FROM ${table}`)).rows);
      for (const clear of [card, device, absorbedDevice, conflictCard])
        assert.ok(!text.includes(clear), `${clear} in ${table}`);
    }
  });

  it('changes nothing when run again (nunchi customers hash-identifiers after a rolling upgrade)', async () => {
    const before = JSON.stringify([
      await indexOf(X),
      await indexOf(A),
      (await q('SELECT identities FROM customer_merges WHERE absorbed_id = ?', [A])).first()?.['identities'],
    ]);
    assert.deepEqual(
      { ...(await hashClearIdentifiers(ks, key)), scanned: 0 },
      { scanned: 0, hashed: 0, merges: 0, conflicts: 0 },
    );
    const afterwards = JSON.stringify([
      await indexOf(X),
      await indexOf(A),
      (await q('SELECT identities FROM customer_merges WHERE absorbed_id = ?', [A])).first()?.['identities'],
    ]);
    assert.equal(afterwards, before);
    // Without the key it has nothing to hash, so it does not need one.
    assert.equal((await hashClearIdentifiers(ks, undefined)).hashed, 0);
  });
});
