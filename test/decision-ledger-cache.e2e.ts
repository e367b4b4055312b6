import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCassandra, type CqlClient, type DecisionRepository } from '@nunchi/cassandra';
import { loadConfig, type NunchiConfig } from '@nunchi/config';
import { decisionIdOf } from '@nunchi/contracts/core';
import { campaignSet, decideReplica, purchaseDelivery } from './support/decide-replica.js';
import { runId } from './support/harness.js';

/**
 * The contact-ledger cache (issue 9): a replica claims against the ledger it cached, without reading it
 * first. Caps stay exact when the cache is stale — another replica claimed meanwhile (a lease handover) —
 * because every claim is conditional on the seq it saw. Medium test against the real Cassandra.
 */
describe('contact-ledger cache: no read per offer, exact caps when stale', () => {
  const run = runId();
  let config: NunchiConfig;
  const clients: CqlClient[] = [];

  function counted(repo: DecisionRepository): Record<string, number> {
    const calls: Record<string, number> = {};
    for (const name of ['contacts', 'saveContacts'] as const) {
      const original = repo[name].bind(repo) as (...args: unknown[]) => Promise<unknown>;
      (repo as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls[name] = (calls[name] ?? 0) + 1;
        return original(...args);
      };
    }
    return calls;
  }

  before(async () => {
    config = loadConfig('decision', {
      ...process.env,
      OTEL_TRACES_EXPORTER: 'none',
      NUNCHI_SLA_MS: '600000',
    });
    for (let i = 0; i < 2; i++) clients.push(await connectCassandra(config.cassandra));
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.shutdown()));
  });

  it('a replica whose cached ledger is stale still makes exactly perCustomerPerDay offers', async () => {
    const campaignId = `t${run}-stale`;
    const set = campaignSet(config, { id: campaignId, caps: { perCustomerPerDay: 2 } });
    const a = decideReplica(clients[0], config, set);
    const b = decideReplica(clients[1], config, set);
    const calls = counted(a.repo);
    const customerId = `t${run}-stale-c`;
    const e = (i: number) => purchaseDelivery(`t${run}-stale-e${i}`, customerId);

    await a.useCase.execute(e(1)); // A reads the ledger (empty), claims, caches it at seq 1
    assert.deepEqual(calls, { contacts: 1, saveContacts: 1 });
    assert.equal(a.sent.length, 1);

    await b.useCase.execute(e(2)); // B (a handover overlaps) claims the second slot: seq 2, A does not know
    assert.equal(b.sent.length, 1);

    // A believes one slot is left and claims it against seq 1: the condition fails, A reads, decides again: capped.
    await a.useCase.execute(e(3));
    assert.equal(a.sent.length, 1, 'no third offer');
    assert.deepEqual(
      calls,
      { contacts: 2, saveContacts: 2 },
      'a claim from the cache, then one read after it failed',
    );
    const record = await a.repo.findById(decisionIdOf({ channel: 'pos', id: `t${run}-stale-e3` }));
    assert.equal(record?.outcome, 'none');
    assert.ok(
      record?.losses.some((l) => l.campaignId === campaignId && l.reason === 'cap'),
      JSON.stringify(record?.losses),
    );

    // The cache is fresh again: the next event is capped without a read or a write.
    await a.useCase.execute(e(4));
    assert.equal(a.sent.length, 1);
    assert.deepEqual(calls, { contacts: 2, saveContacts: 2 }, 'capped from the cache');

    const final = await a.repo.contacts(customerId);
    assert.deepEqual(final.lifetime, { [campaignId]: 2 }, 'exactly perCustomerPerDay claims in the ledger');
  });

  it('forgetting a partition drops its customers from the cache', async () => {
    const set = campaignSet(config, { id: `t${run}-forget` });
    const a = decideReplica(clients[0], config, set);
    await a.useCase.execute(purchaseDelivery(`t${run}-forget-e`, `t${run}-forget-c`));
    assert.equal(a.contacts.cache.size, 1);
    assert.equal(
      a.contacts.forget((id) => id === `t${run}-forget-c`),
      1,
    );
    assert.equal(a.contacts.cache.size, 0);
  });
});
