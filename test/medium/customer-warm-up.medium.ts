/**
 * Decision's warm-up against the real Cassandra (apps/decision/src/customer-warm-up.ts): a gained partition's
 * recent customers' data keys into the keyring, and their contact ledgers read 50 a request into the ledger
 * cache — a customer without a row with the empty ledger — never over a ledger a live decision cached,
 * stopping when the partition moves and short of the cache's bound. Who was active is given
 * (ActiveCustomersRepository.recent itself is tested in keyring-preload.medium.ts); keys and ledgers are read
 * from Cassandra.
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
  DecisionRepository,
  type CqlClient,
  type StoredContacts,
} from '@nunchi/cassandra';
import { identityKeys, loadConfig } from '@nunchi/config';
import { generateDataKey, wrapDataKey } from '@nunchi/sealing';
import type { PartitionAssignments } from '@nunchi/messaging';
import { ContactClaims } from '../../apps/decision/src/contact-claims.js';
import { LedgerCache } from '../../apps/decision/src/ledger-cache.js';
import { CustomerWarmUp } from '../../apps/decision/src/customer-warm-up.js';
import { countingClient } from '../support/counting-client.js';

/** these customers were active in the partition (one partition: every id belongs to it) */
class GivenActive extends ActiveCustomersRepository {
  constructor(private readonly ids: string[]) {
    super(undefined as unknown as CqlClient);
  }
  override recent(): Promise<string[]> {
    return Promise.resolve([...this.ids]);
  }
}

describe('decision warm-up: the data keys and contact ledgers of a gained partition’s recent customers, ahead of their decisions', () => {
  const base = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const config = {
    ...base,
    nats: { ...base.nats, partitions: 1 },
    domain: { ...base.domain, preloadDays: 7 },
  };
  const run = randomUUID().slice(0, 8);
  const withLedger = Array.from({ length: 100 }, (_, i) => `lw${i}-${run}`);
  const withoutLedger = Array.from({ length: 20 }, (_, i) => `ln${i}-${run}`);
  const everyone = [...withLedger, ...withoutLedger];
  let client: CqlClient;
  /** the CQL of every request the warm-up's repository sends */
  const sent: string[] = [];

  let keyring: CustomerKeyring;
  const warmUp = (cache: LedgerCache) => {
    const decisions = new DecisionRepository(countingClient(client, sent));
    return new CustomerWarmUp(
      config,
      undefined as unknown as PartitionAssignments,
      new GivenActive(everyone),
      decisions,
      new ContactClaims(decisions, cache),
      keyring,
    );
  };
  const ledgerOf = (i: number): StoredContacts => ({
    seq: 1,
    claims: { [`d-${i}/camp-${run}`]: '2026-12-06 pos offer' },
    lifetime: { [`camp-${run}`]: 1 },
  });

  before(async () => {
    client = await connectCassandra(config.cassandra, { applicationName: 'nunchi-medium-test' });
    const decisions = new DecisionRepository(client);
    for (const [i, id] of withLedger.entries())
      assert.equal(await decisions.saveContacts(id, ledgerOf(i), 0), 'applied');
    const keys = new CustomerKeyRepository(client);
    for (const id of withoutLedger)
      await keys.create(id, wrapDataKey(id, generateDataKey(), identityKeys(config)[0]), new Date());
    keyring = new CustomerKeyring(keys, identityKeys(config), { maxEntries: 1_000 });
  });
  after(async () => {
    await client?.shutdown();
  });

  it('caches every ledger as stored, the empty one where there is none, 50 a request, and keeps a newer one', async () => {
    const cache = new LedgerCache(10_000, 64 * 1024 * 1024);
    const newer: StoredContacts = { seq: 7, claims: {}, lifetime: { [`camp-${run}`]: 3 } };
    cache.set(withLedger[0], newer); // a live decision cached it before the warm-up came to it
    sent.length = 0;

    assert.deepEqual(await warmUp(cache).warm(0, () => true), { keys: 20, ledgers: 119 });
    assert.ok(
      withoutLedger.every((id) => keyring.cached(id)),
      'the keys of those who have one',
    );
    assert.equal(sent.length, 3, 'ceil(119 / 50) requests');
    assert.ok(
      sent.every((cql) => /customer_id IN \?/.test(cql)),
      sent.join('\n'),
    );
    assert.deepEqual(cache.get(withLedger[0]), newer, 'not replaced by the older read');
    for (const [i, id] of withLedger.entries()) if (i > 0) assert.deepEqual(cache.get(id), ledgerOf(i), id);
    for (const id of withoutLedger) assert.deepEqual(cache.get(id), { seq: 0, claims: {}, lifetime: {} });

    sent.length = 0;
    assert.equal((await warmUp(cache).warm(0, () => true)).ledgers, 0, 'cached ones are not read again');
    assert.equal(sent.length, 0);
  });

  it('stops when the partition moves, and short of the cache’s bound', async () => {
    const moving = new LedgerCache(10_000, 64 * 1024 * 1024);
    sent.length = 0;
    // released as soon as the first ledger request is out
    const owned = () => !sent.some((cql) => cql.includes('customer_contacts'));
    assert.equal(
      (await warmUp(moving).warm(0, owned)).ledgers,
      0,
      'nothing read for a partition that left is cached',
    );
    assert.equal(sent.length, 1, 'and no request after it');
    assert.equal(moving.size, 0);

    const small = new LedgerCache(60, 64 * 1024 * 1024);
    sent.length = 0;
    assert.equal((await warmUp(small).warm(0, () => true)).ledgers, 54, '90 % of 60 entries');
    assert.equal(small.size, 54);
    assert.equal(sent.length, 2, 'a request of 50, then one of the 4 left room for');
  });
});
