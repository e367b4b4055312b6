/**
 * Migration 0022 against the real Cassandra, in a keyspace of its own migrated in two steps: profiles an
 * earlier version stored in clear are sealed under their customers' data keys at their own write timestamps
 * (libs/cassandra seal-clear-profiles.ts), so a value written since — sealed by this version — stays the newer;
 * a customer without a key gets one; one whose key is wrapped under an identity key not given stays in clear and
 * is counted; an erased customer's row is left to the erasure; a second run finds nothing to do
 * (docs/security.md, "Cassandra's rows").
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CustomerKeyRepository,
  CustomerKeyring,
  CustomerRepository,
  sealClearProfiles,
  type CqlClient,
} from '@nunchi/cassandra';
import { identityKeys, loadConfig } from '@nunchi/config';
import { generateDataKey, wrapDataKey } from '@nunchi/sealing';
import { keyspaceBefore } from '../support/partial-keyspace.js';

describe('migration 0022 seals the profiles stored in clear (a keyspace of its own)', () => {
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const run = randomUUID().slice(0, 8);
  const partial = keyspaceBefore(config.cassandra, /^\d{4}_sealed_profiles\.cql$/, 'p');
  const keks = identityKeys(config);
  const [plain, updated, locked, erased] = ['plain', 'updated', 'locked', 'erased'].map((n) => `${n}-${run}`);
  /** microseconds, as USING TIMESTAMP takes them: an hour ago, and a minute ago */
  const before1h = (Date.now() - 3_600_000) * 1000;
  const before1m = (Date.now() - 60_000) * 1000;
  let ks: CqlClient;
  let repo: CustomerRepository;

  /** A profile as the code before 0022 wrote it: clear columns, at a given write timestamp. */
  const writeClear = (customerId: string, at: number, region: string) =>
    ks.execute(
      'INSERT INTO customers (customer_id, age, gender, region, credit_tier, marketing_consent, channel_consent, attributes, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?',
      [customerId, 41, 'F', region, 'B', true, { sms: false }, { pet: 'cat' }, new Date(at / 1000), at],
      { prepare: true },
    );
  const raw = async (customerId: string) =>
    (
      await ks.execute(
        'SELECT region, attributes, channel_consent, sealed_fields FROM customers WHERE customer_id = ?',
        [customerId],
        { prepare: true },
      )
    ).first();

  before(async () => {
    ks = await partial.open();
    repo = new CustomerRepository(
      ks,
      new CustomerKeyring(new CustomerKeyRepository(ks), keks, { maxEntries: 0 }),
    );
    await writeClear(plain, before1h, 'Bundang');
    await writeClear(updated, before1h, 'Bundang');
    await writeClear(locked, before1h, 'Bundang');
    await writeClear(erased, before1h, 'Bundang');
    // locked's key is wrapped under an identity key this process is not given
    await new CustomerKeyRepository(ks).create(
      locked,
      wrapDataKey(locked, generateDataKey(), { id: 'lost', secret: `a-lost-identity-key-${run}` }),
      new Date(),
    );
    await ks.execute(
      'INSERT INTO erased_customers (customer_id, erased_at) VALUES (?, ?)',
      [erased, new Date()],
      {
        prepare: true,
      },
    );
  });
  after(() => partial.close());

  it('seals each clear value at its own timestamp: a change written since stays the newer', async () => {
    // A replica of this version, during the rolling upgrade: the columns exist (the file's own statements),
    // and a profile_update of a minute ago seals the new region.
    await partial.statements();
    await repo.updateFields(updated, { region: 'Gangnam' }, before1m / 1000);

    const lines: string[] = [];
    const report = await partial.migrate((line) => lines.push(line), { identityKey: keks[0] });
    assert.deepEqual(report.applied, [partial.name]);
    assert.ok(
      lines.some((l) => /sealed 2 profiles .* 1 data keys created, 1 of erased .* 1 left in clear/.test(l)),
      lines.join(' | '),
    );

    const expected = {
      age: 41,
      gender: 'F',
      creditTier: 'B',
      marketingConsent: true,
      channelConsent: { sms: false },
      attributes: { pet: 'cat' },
    };
    assert.deepEqual(await repo.get(plain), { id: plain, ...expected, region: 'Bundang' });
    assert.deepEqual(await repo.get(updated), { id: updated, ...expected, region: 'Gangnam' });
    for (const id of [plain, updated]) {
      const row = await raw(id);
      assert.equal(row?.['region'], null, 'the clear value is gone');
      assert.equal(row?.['attributes'], null);
      assert.equal(row?.['channel_consent'], null);
      const bytes = Buffer.concat(Object.values(row?.['sealed_fields'] as Record<string, Buffer>));
      assert.ok(!bytes.includes(Buffer.from('Bundang')) && !bytes.includes(Buffer.from('Gangnam')));
    }
    // left as they were: the locked customer (readable in clear, named in the log), the erased one
    assert.equal((await raw(locked))?.['region'], 'Bundang');
    assert.equal((await raw(erased))?.['region'], 'Bundang');
    assert.ok(
      lines.some((l) => l.includes('identity key "lost"')),
      lines.join(' | '),
    );
  });

  it('a second run finds nothing more to seal', async () => {
    const again = await sealClearProfiles(ks, keks);
    assert.deepEqual(
      {
        sealed: again.sealed,
        keysCreated: again.keysCreated,
        unopenable: again.unopenable,
        erased: again.erased,
      },
      { sealed: 0, keysCreated: 0, unopenable: 1, erased: 1 },
    );
  });
});
