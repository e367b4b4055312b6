/**
 * A cold load's erasure check (LoadCustomerStateUseCase) against the real Cassandra: a customer whose data key
 * is read from the table is live — the erasure deletes the key — so the tombstone is not read; a customer
 * without a key, or whose key this process holds in memory (an erasure since may not have reached it), is
 * checked against the tombstone.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  connectCassandra,
  ContextRepository,
  CustomerKeyRepository,
  CustomerKeyring,
  CustomerRepository,
  type CqlClient,
} from '@nunchi/cassandra';
import { identityKeys, loadConfig } from '@nunchi/config';
import { CustomerStateCache } from '../../apps/context/src/customer-state.cache.js';
import { LoadCustomerStateUseCase } from '../../apps/context/src/load-customer-state.usecase.js';
import { countingClient } from '../support/counting-client.js';

describe("a cold load's erasure check: the tombstone only when no data key is read", () => {
  const config = loadConfig('context', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const run = randomUUID().slice(0, 8);
  let client: CqlClient;
  let keyring: CustomerKeyring;
  let load: LoadCustomerStateUseCase;
  /** the CQL of every request sent since the last load */
  const sent: string[] = [];

  before(async () => {
    client = await connectCassandra(config.cassandra, { applicationName: 'nunchi-medium-test' });
    const counted = countingClient(client, sent);
    keyring = new CustomerKeyring(new CustomerKeyRepository(counted), identityKeys(config), {
      maxEntries: 100,
    });
    load = new LoadCustomerStateUseCase(
      config,
      new CustomerStateCache(config),
      new CustomerRepository(counted, keyring),
      new ContextRepository(counted, 86_400 * 400, keyring),
      keyring,
    );
  });
  after(async () => {
    await client?.shutdown();
  });

  async function coldLoad(customerId: string) {
    sent.length = 0;
    const state = await load.loadCold(customerId, Date.now());
    return {
      erased: state.erased,
      tombstoneReads: sent.filter((cql) => /FROM erased_customers/.test(cql)).length,
    };
  }

  it('a customer with a data key: live, no tombstone read; the key is then in memory for the event', async () => {
    const id = `${run}-keyed`;
    await new CustomerKeyring(new CustomerKeyRepository(client), identityKeys(config), {
      maxEntries: 0,
    }).obtain(id);
    assert.deepEqual(await coldLoad(id), { erased: false, tombstoneReads: 0 });
    assert.ok(keyring.cached(id), 'kept: opening the event and sealing ENRICHED read no more');
  });

  it('a key already in memory: the tombstone is read, since an erasure may have come after it', async () => {
    const id = `${run}-remembered`;
    await keyring.obtain(id);
    assert.deepEqual(await coldLoad(id), { erased: false, tombstoneReads: 1 });
  });

  it('no key: the tombstone says whether the customer was erased', async () => {
    const erased = `${run}-erased`;
    await client.execute(
      'INSERT INTO erased_customers (customer_id, erased_at) VALUES (?, ?)',
      [erased, new Date()],
      {
        prepare: true,
      },
    );
    assert.deepEqual(await coldLoad(erased), { erased: true, tombstoneReads: 1 });
    assert.deepEqual(await coldLoad(`${run}-never-seen`), { erased: false, tombstoneReads: 1 });
  });
});
