import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALL_STATEMENTS, connectCassandra, DecisionRepository, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, type NunchiConfig } from '@nunchi/config';
import { emptySnapshot } from '@nunchi/context-model';
import {
  decisionIdOf,
  Headers,
  type AcceptedEvent,
  type DecisionRecord,
  type EnrichedEvent,
  type OfferMessage,
} from '@nunchi/contracts';
import type { Delivery, Publisher } from '@nunchi/messaging';
import { CampaignSet, compileCampaign, parseCampaign, type CampaignDefinition } from '@nunchi/rules';
import { BudgetClaims } from '../apps/decision/src/budget-claims.js';
import type { CampaignSetHolder } from '../apps/decision/src/campaign-set.holder.js';
import { OfferChooser } from '../apps/decision/src/choose-offer.js';
import { ContactClaims } from '../apps/decision/src/contact-claims.js';
import { DecideUseCase } from '../apps/decision/src/decide.usecase.js';
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

  /** A use case as one replica has it: its own Cassandra client, a publisher that records (or fails). */
  function replica(
    cql: CqlClient,
    set: CampaignSet,
    options: { slaMs?: number; failPersist?: () => boolean; slowClaimsMs?: number } = {},
  ) {
    const sent: OfferMessage[] = [];
    const published: DecisionRecord[] = [];
    const publisher = {
      emit: (_subject: string, body: unknown) => void sent.push(body as OfferMessage),
      persist: (_subject: string, body: unknown) => {
        if (options.failPersist?.()) return Promise.reject(new Error('NATS went away'));
        published.push(body as DecisionRecord);
        return Promise.resolve({ duplicate: false });
      },
    } as unknown as Publisher;
    const repo = new DecisionRepository(cql);
    const contacts = new ContactClaims(repo);
    if (options.slowClaimsMs) {
      const claim = contacts.claim.bind(contacts);
      contacts.claim = async (...args) => {
        await new Promise((r) => setTimeout(r, options.slowClaimsMs));
        return claim(...args);
      };
    }
    const cfg = { ...config, domain: { ...config.domain, slaMs: options.slaMs ?? 600_000 } };
    const useCase = new DecideUseCase(
      cfg,
      { current: set } as CampaignSetHolder,
      repo,
      new OfferChooser(cfg, contacts, new BudgetClaims(repo)),
      publisher,
    );
    return { useCase, sent, published, repo };
  }

  function setOf(...definitions: Array<Partial<CampaignDefinition> & { id: string }>): CampaignSet {
    return new CampaignSet(
      definitions.map((d) =>
        compileCampaign(
          parseCampaign({
            name: d.id,
            trigger: { types: ['purchase'] },
            schedule: { timezone: 'Asia/Seoul' },
            offers: [{ id: 'thanks', title: 'Thanks', value: 1000 }],
            ...d,
          }),
          1,
        ),
      ),
      { maxOffersPerCustomerPerDay: config.domain.maxOffersPerCustomerPerDay },
    );
  }

  function delivery(
    id: string,
    customerId: string,
    deliveryCount = 1,
    receivedAtMs = Date.now(),
  ): Delivery<EnrichedEvent> {
    const now = Date.now();
    const event: AcceptedEvent = {
      id,
      type: 'purchase',
      channel: 'pos',
      occurredAt: new Date(now).toISOString(),
      occurredAtMs: now,
      receivedAtMs,
      customerId,
      storeId: 'store-1',
      payload: {
        amount: 10_000,
        currency: 'KRW',
        items: [{ sku: 's', category: 'snacks', quantity: 1, unitPrice: 10_000 }],
      },
    };
    return {
      body: { event, customer: null, ctx: emptySnapshot(customerId, now) },
      subject: 'mkt.enriched.0',
      seq: 1,
      deliveryCount,
      redelivered: deliveryCount > 1,
      header: (name) => (name === Headers.receivedAt ? String(receivedAtMs) : undefined),
    };
  }

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
    const stored = await other.repo.findById(decisionIdOf(first.body.event.id));
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
      Array.from({ length: 40 }, (_, i) => replicas[0].repo.findById(decisionIdOf(`t${run}-race-${i}`))),
    );
    assert.ok(
      stored.every((d) => d !== undefined),
      'every decision stored by id',
    );
    assert.equal(stored.filter((d) => d.outcome === 'offer').length, 3);
  });
});
