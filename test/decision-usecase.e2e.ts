import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALL_STATEMENTS, connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, type NunchiConfig } from '@nunchi/config';
import { decisionIdOf } from '@nunchi/contracts/core';
import type { CampaignDefinition, CampaignSet } from '@nunchi/rules';
import { campaignSet, decideReplica, purchaseDelivery } from './support/decide-replica.js';
import { runId } from './support/harness.js';

/**
 * Medium tests of the decide use case against the real Cassandra (no services, no NATS): what the
 * end-to-end tests cannot aim at precisely — a replica dying between its claims and its record, a
 * deadline passing during the claims, many replicas on one customer in the same millisecond.
 */
describe('decide use case against Cassandra: claims, redelivery, deadline', () => {
  const run = runId();
  let config: NunchiConfig;
  const clients: CqlClient[] = [];

  const replica = (
    cql: CqlClient,
    set: CampaignSet,
    options: { slaMs?: number; failPersist?: () => boolean; slowClaimsMs?: number } = {},
  ) => decideReplica(cql, config, set, { slaMs: 600_000, ...options });
  const setOf = (...definitions: Array<Partial<CampaignDefinition> & { id: string }>) =>
    campaignSet(config, ...definitions);
  const delivery = (id: string, customerId: string) => purchaseDelivery(id, customerId);

  before(async () => {
    config = loadConfig('decision', {
      ...process.env,
      OTEL_TRACES_EXPORTER: 'none',
      NUNCHI_MAX_OFFERS_PER_CUSTOMER_PER_DAY: '3',
    });
    for (let i = 0; i < 3; i++) clients.push(await connectCassandra(config.cassandra));
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.shutdown()));
  });

  it('every named statement prepares against the migrated keyspace', async () => {
    for (const s of ALL_STATEMENTS) {
      // Executed with no values: a statement that prepares fails only on the missing values.
      const error = await clients[0].execute(s.cql, [], { prepare: true }).then(
        () => undefined,
        (e: Error) => e,
      );
      if (error && !/markers\(\?\) in CQL but 0 bound variables/.test(error.message))
        assert.fail(`${s.name}: ${error.message}`);
    }
  });

  it('a replica that dies after its claims (record not written) is redone once: one claim, one row, the same offer', async () => {
    const campaignId = `t${run}-half`;
    const set = setOf({ id: campaignId, caps: { perCustomerPerDay: 5 }, budget: { maxOffers: 100 } });
    const customerId = `t${run}-half-c`;
    let fail = true;
    const dying = replica(clients[0], set, { failPersist: () => fail });
    const first = delivery(`t${run}-half-e`, customerId);
    await assert.rejects(dying.useCase.execute(first), /NATS went away/);
    assert.equal(dying.sent.length, 1, 'the offer went out before the bookkeeping failed');

    fail = false;
    const other = replica(clients[1], set);
    const again = { ...first, deliveryCount: 2, redelivered: true };
    assert.deepEqual(await other.useCase.execute(again), { kind: 'done' });
    assert.equal(other.sent.length, 1);
    assert.equal(other.sent[0].decisionId, dying.sent[0].decisionId, 'the same decision, sent again');
    assert.equal(other.published[0].outcome, 'offer');

    const ledger = await other.repo.contacts(customerId);
    assert.deepEqual(ledger.lifetime, { [campaignId]: 1 }, 'contact claimed once');
    assert.deepEqual(
      await other.repo.budgetUsage(campaignId),
      { offers: 1, cost: 1000 },
      'budget claimed once',
    );
    const stored = await other.repo.findById(decisionIdOf(first.body.event));
    assert.equal(stored?.outcome, 'offer', 'the redo completed the record by id');
    assert.equal(stored?.decisionId, dying.sent[0].decisionId);

    // and a third delivery finds the finished record and does nothing
    const third = replica(clients[2], set);
    await third.useCase.execute({ ...first, deliveryCount: 3, redelivered: true });
    assert.equal(third.sent.length, 0);

    // a partition taken over from the ack floor replays it with deliveryCount 1, flagged redelivered
    const takeover = replica(clients[2], set);
    await takeover.useCase.execute({ ...first, deliveryCount: 1, redelivered: true });
    assert.equal(takeover.sent.length, 0, 'nothing sent again after a takeover replay');
    assert.equal(takeover.published.length, 0, 'nothing published again after a takeover replay');
  });

  it('a deadline that passes during the claims sends nothing, records late and gives the claims back', async () => {
    const campaignId = `t${run}-late`;
    const set = setOf({ id: campaignId, caps: { perCustomerPerDay: 1 }, budget: { maxOffers: 10 } });
    const customerId = `t${run}-late-c`;
    const slow = replica(clients[0], set, { slaMs: 300, slowClaimsMs: 400 });
    await slow.useCase.execute(delivery(`t${run}-late-e`, customerId));
    assert.equal(slow.sent.length, 0);
    assert.equal(slow.published[0]?.outcome, 'late');
    assert.deepEqual((await slow.repo.contacts(customerId)).lifetime, {}, 'contact slot given back');
    assert.deepEqual(await slow.repo.budgetUsage(campaignId), { offers: 0, cost: 0 }, 'budget given back');
  });

  it('three replicas deciding 40 events of one customer in the same instant make exactly the capped number of offers', async () => {
    const a = `t${run}-race-a`;
    const b = `t${run}-race-b`;
    const set = setOf(
      { id: a, priority: 2, caps: { perCustomerPerDay: 2 } },
      { id: b, priority: 1, caps: { perCustomerPerDay: 5 }, budget: { maxOffers: 1000 } },
    );
    const customerId = `t${run}-race-c`;
    const replicas = clients.map((c) => replica(c, set));
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        replicas[i % 3].useCase.execute(delivery(`t${run}-race-${i}`, customerId)),
      ),
    );
    const records = replicas.flatMap((r) => r.published);
    const offers = records.filter((r) => r.outcome === 'offer');
    assert.equal(offers.length, 3, 'contact policy: 3 a day');
    assert.equal(
      offers.filter((o) => o.campaignId === a).length,
      2,
      'perCustomerPerDay 2 of the higher-priority campaign',
    );
    assert.deepEqual(
      await replicas[0].repo.budgetUsage(b),
      { offers: 1, cost: 1000 },
      'no budget left claimed by decisions that lost the race',
    );
    assert.equal(replicas.flatMap((r) => r.sent).length, 3);
    const stored = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        replicas[0].repo.findById(decisionIdOf({ channel: 'pos', id: `t${run}-race-${i}` })),
      ),
    );
    assert.ok(
      stored.every((d) => d !== undefined),
      'every decision stored by id',
    );
    assert.equal(stored.filter((d) => d.outcome === 'offer').length, 3);
  });
});
