/**
 * The warm-up's reads against the real Cassandra: ActiveCustomersRepository.recent (who was active in a
 * partition on the last days, newest first) and CustomerKeyring.preload (their data keys, 50 a request, until
 * the keyring is 90 % full; customers without a key or under an identity key this process lacks skipped).
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  ActiveCustomersRepository,
  connectCassandra,
  CustomerKeyRepository,
  CustomerKeyring,
  type CqlClient,
} from '@nunchi/cassandra';
import { identityKeys, loadConfig } from '@nunchi/config';
import { addDays, localDay } from '@nunchi/context-model';
import { generateDataKey, wrapDataKey } from '@nunchi/sealing';
import { countingClient } from '../support/counting-client.js';

describe('warm-up reads: recently active customers and their data keys', () => {
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const keks = identityKeys(config);
  const run = randomUUID().slice(0, 8);
  /** a partition number no service uses: the rows are this test's alone */
  const partition = 900_000 + Math.floor(Math.random() * 90_000);
  const TZ = config.domain.timeZone;
  let client: CqlClient;
  /** the CQL of every request sent */
  const sent: string[] = [];

  before(async () => {
    client = await connectCassandra(config.cassandra, { applicationName: 'nunchi-medium-test' });
  });
  after(async () => {
    await client?.shutdown();
  });

  it('lists the customers active on the last days, newest day first, each once', async () => {
    const today = localDay(Date.now(), TZ);
    const rows: Array<[string, string]> = [
      [today, `a-${run}`],
      [addDays(today, -3), `b-${run}`],
      [addDays(today, -3), `a-${run}`],
      [addDays(today, -10), `old-${run}`],
    ];
    for (const [day, id] of rows)
      await client.execute(
        'INSERT INTO active_customers (partition, day, customer_id) VALUES (?, ?, ?)',
        [partition, day, id],
        { prepare: true },
      );
    const active = new ActiveCustomersRepository(client);
    assert.deepEqual(await active.recent(partition, 7, TZ), [`a-${run}`, `b-${run}`]);
    assert.deepEqual(
      (await active.recent(partition, 11, TZ)).sort(),
      [`a-${run}`, `b-${run}`, `old-${run}`].sort(),
    );
    assert.deepEqual(await active.recent(partition + 1, 7, TZ), []);
  });

  it('reads the keys 50 a request, skips what it cannot use, and stops at 90 % of the keyring', async () => {
    const repository = new CustomerKeyRepository(client);
    const ids = Array.from({ length: 120 }, (_, i) => `k${i}-${run}`);
    for (const id of ids)
      await repository.create(id, wrapDataKey(id, generateDataKey(), keks[0]), new Date());
    const foreign = `foreign-${run}`;
    await repository.create(
      foreign,
      wrapDataKey(foreign, generateDataKey(), { id: 'gone', secret: 'a-key-this-process-lacks' }),
      new Date(),
    );
    const wanted = [...ids, `nokey-${run}`, foreign];

    const keyring = new CustomerKeyring(new CustomerKeyRepository(countingClient(client, sent)), keks, {
      maxEntries: 1_000,
    });
    sent.length = 0;
    assert.equal(await keyring.preload(wanted), 120);
    assert.equal(sent.length, 3, 'ceil(122 / 50) requests');
    assert.ok(ids.every((id) => keyring.cached(id)));
    assert.equal(keyring.cached(foreign), undefined);
    sent.length = 0;
    assert.equal(await keyring.preload(wanted), 0, 'cached ones are not read again');
    assert.equal(sent.length, 1, 'only the two it could not use, asked again');

    const small = new CustomerKeyring(repository, keks, { maxEntries: 100 });
    assert.equal(await small.preload(ids), 90);
    assert.equal(small.size, 90);
  });
});
