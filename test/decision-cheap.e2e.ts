import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCassandra, type CqlClient, type DecisionRepository } from '@nunchi/cassandra';
import { loadConfig, type NunchiConfig } from '@nunchi/config';
import { decisionIdOf } from '@nunchi/contracts/core';
import { campaignSet, decideReplica, purchaseDelivery } from './support/decide-replica.js';
import { runId } from './support/harness.js';

/**
 * What a decision costs when it should cost almost nothing (issue 9): an event no campaign triggers on,
 * and an event already past its deadline on arrival (a backlog). Medium test: the decide use case against
 * the real Cassandra, its repository calls counted.
 */
describe('decisions that cost almost nothing', () => {
  const run = runId();
  let config: NunchiConfig;
  let cql: CqlClient;

  /** Counts the calls of every repository method the decision uses. */
  function counted(repo: DecisionRepository): Record<string, number> {
    const calls: Record<string, number> = {};
    for (const name of ['findById', 'contacts', 'saveContacts', 'claimBudgets', 'record'] as const) {
      const original = repo[name].bind(repo) as (...args: unknown[]) => Promise<unknown>;
      (repo as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls[name] = (calls[name] ?? 0) + 1;
        return original(...args);
      };
    }
    return calls;
  }

  before(async () => {
    config = loadConfig('decision', { ...process.env, OTEL_TRACES_EXPORTER: 'none', NUNCHI_SLA_MS: '300' });
    cql = await connectCassandra(config.cassandra);
  });

  after(async () => {
    await cql.shutdown();
  });

  it('an event no campaign triggers on is acknowledged with no read, no write and no publication', async () => {
    const replica = decideReplica(
      cql,
      config,
      campaignSet(config, { id: `t${run}-pos`, trigger: { types: ['purchase'], channels: ['pos'] } }),
    );
    const calls = counted(replica.repo);
    const eventId = `t${run}-cart`;
    assert.deepEqual(
      await replica.useCase.execute(purchaseDelivery(eventId, `t${run}-c1`, { type: 'cart' })),
      { kind: 'done' },
    );
    assert.deepEqual(calls, {}, 'no repository call at all');
    assert.equal(replica.published.length, 0);
    assert.equal(
      await replica.repo.findById(decisionIdOf({ channel: 'pos', id: eventId })),
      undefined,
      'no record',
    );
  });

  it('a triggered event is one record (its index rows in one batch, then by id) and its DECISIONS publication', async () => {
    const campaignId = `t${run}-one`;
    const replica = decideReplica(
      cql,
      config,
      campaignSet(config, { id: campaignId, caps: { perCustomerPerDay: 1 } }),
    );
    const calls = counted(replica.repo);
    await replica.useCase.execute(purchaseDelivery(`t${run}-one-e`, `t${run}-one-c`));
    assert.equal(replica.sent.length, 1);
    assert.equal(replica.published.length, 1);
    assert.deepEqual(
      calls,
      { contacts: 1, saveContacts: 1, record: 1 },
      'ledger read, contact claim, one record',
    );
  });

  it('an event already past its deadline on arrival is recorded late without any read or claim', async () => {
    const campaignId = `t${run}-late`;
    const replica = decideReplica(
      cql,
      config,
      campaignSet(config, { id: campaignId, caps: { perCustomerPerDay: 1 }, budget: { maxOffers: 10 } }),
    );
    const calls = counted(replica.repo);
    const customerId = `t${run}-late-c`;
    const eventId = `t${run}-late-e`;
    await replica.useCase.execute(
      purchaseDelivery(eventId, customerId, { receivedAtMs: Date.now() - 5_000 }),
    );
    assert.equal(replica.sent.length, 0, 'nothing sent');
    assert.equal(replica.published[0]?.outcome, 'late');
    assert.equal(replica.published[0]?.campaignId, campaignId, 'late names the campaign the rules chose');
    assert.deepEqual(calls, { record: 1 }, 'no ledger read, no budget or contact claim: one record write');
    assert.equal(
      (await replica.repo.findById(decisionIdOf({ channel: 'pos', id: eventId })))?.outcome,
      'late',
    );
    assert.deepEqual(await replica.repo.budgetUsage(campaignId), { offers: 0, cost: 0 });
    assert.deepEqual((await replica.repo.contacts(customerId)).lifetime, {});
  });
});
