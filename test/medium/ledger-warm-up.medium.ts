/**
 * Decision's ledger warm-up against the real Cassandra (apps/decision/src/ledger-warm-up.ts): the contact
 * ledgers of a gained partition's recent customers read 50 a request into the ledger cache — a customer
 * without a row with the empty ledger — never over a ledger a live decision cached, stopping when the
 * partition moves and short of the cache's bound. Who was active is given (ActiveCustomersRepository.recent
 * itself is tested in keyring-preload.medium.ts); the ledgers are read from Cassandra.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  ActiveCustomersRepository,
  connectCassandra,
  DecisionRepository,
  type CqlClient,
  type StoredContacts,
} from '@nunchi/cassandra';
import { loadConfig } from '@nunchi/config';
import type { PartitionAssignments } from '@nunchi/messaging';
import { ContactClaims } from '../../apps/decision/src/contact-claims.js';
import { LedgerCache } from '../../apps/decision/src/ledger-cache.js';
import { LedgerWarmUp } from '../../apps/decision/src/ledger-warm-up.js';
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

describe('ledger warm-up: the contact ledgers of a gained partition’s recent customers, ahead of their offers', () => {
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

  const warmUp = (cache: LedgerCache) => {
    const decisions = new DecisionRepository(countingClient(client, sent));
    const contacts = new ContactClaims(decisions, cache);
    const warm = new LedgerWarmUp(
      config,
      undefined as unknown as PartitionAssignments,
      new GivenActive(everyone),
      decisions,
      contacts,
    );
    return warm;
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
  });
  after(async () => {
    await client?.shutdown();
  });

  it('caches every ledger as stored, the empty one where there is none, 50 a request, and keeps a newer one', async () => {
    const cache = new LedgerCache(10_000, 64 * 1024 * 1024);
    const newer: StoredContacts = { seq: 7, claims: {}, lifetime: { [`camp-${run}`]: 3 } };
    cache.set(withLedger[0], newer); // a live decision cached it before the warm-up came to it
    sent.length = 0;

    assert.equal(await warmUp(cache).warm(0, () => true), 119);
    assert.equal(sent.length, 3, 'ceil(119 / 50) requests');
    assert.ok(
      sent.every((cql) => /customer_id IN \?/.test(cql)),
      sent.join('\n'),
    );
    assert.deepEqual(cache.get(withLedger[0]), newer, 'not replaced by the older read');
    for (const [i, id] of withLedger.entries()) if (i > 0) assert.deepEqual(cache.get(id), ledgerOf(i), id);
    for (const id of withoutLedger) assert.deepEqual(cache.get(id), { seq: 0, claims: {}, lifetime: {} });

    sent.length = 0;
    assert.equal(await warmUp(cache).warm(0, () => true), 0, 'cached ones are not read again');
    assert.equal(sent.length, 0);
  });

  it('stops when the partition moves, and short of the cache’s bound', async () => {
    let owned = true;
    const moving = new LedgerCache(10_000, 64 * 1024 * 1024);
    const warm = warmUp(moving);
    const reading = warm.warm(0, () => owned);
    owned = false; // released while the first request is out
    assert.equal(await reading, 0, 'nothing read for a partition that left is cached');
    assert.equal(moving.size, 0);

    const small = new LedgerCache(60, 64 * 1024 * 1024);
    sent.length = 0;
    assert.equal(await warmUp(small).warm(0, () => true), 54, '90 % of 60 entries');
    assert.equal(small.size, 54);
    assert.equal(sent.length, 2, 'a request of 50, then one of the 4 left room for');
  });
});
