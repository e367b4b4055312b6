import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, type NunchiConfig } from '@nunchi/config';
import { addDays, localDay } from '@nunchi/context-model';
import { decisionIdOf } from '@nunchi/contracts/core';
import { EMPTY_LEDGER, withClaim } from '@nunchi/rules';
import { campaignSet, decideReplica, purchaseDelivery } from './support/decide-replica.js';
import { runId } from './support/harness.js';

/**
 * One meaning of time in a decision (issue 18, defect 3): rules read `now` from the event's occurredAt, and
 * caps count the local day of that same instant — not the day the event happens to be processed. Medium
 * test: the decide use case against the real Cassandra.
 */
describe('decision days: caps count the day the event occurred', () => {
  const run = runId();
  let config: NunchiConfig;
  let cql: CqlClient;
  const tz = 'Asia/Seoul';
  // D is yesterday in Seoul (the business time zone of the tests), D+1 today: events of D are processed on D+1.
  const today = localDay(Date.now(), tz);
  const yesterday = addDays(today, -1);
  const at = (day: string, hhmm: string) => Date.parse(`${day}T${hhmm}:00+09:00`);

  before(async () => {
    config = loadConfig('decision', {
      ...process.env,
      OTEL_TRACES_EXPORTER: 'none',
      NUNCHI_TIMEZONE: tz,
      NUNCHI_SLA_MS: '600000',
    });
    cql = await connectCassandra(config.cassandra);
  });

  after(async () => {
    await cql.shutdown();
  });

  /** A customer whose ledger already holds one offer of the campaign, made on `day`. */
  async function offeredOn(
    customerId: string,
    campaignId: string,
    day: string,
    replica: ReturnType<typeof decideReplica>,
  ) {
    const ledger = withClaim(
      EMPTY_LEDGER,
      { decisionId: `${customerId}-earlier`, campaignId, day, channel: 'pos', outcome: 'offer' },
      day,
    );
    assert.equal(await replica.repo.saveContacts(customerId, ledger, 0), 'applied');
  }

  it("an event of day D processed on D+1 is capped by D's offers", async () => {
    const campaignId = `t${run}-d`;
    const replica = decideReplica(
      cql,
      config,
      campaignSet(config, { id: campaignId, caps: { perCustomerPerDay: 1 } }),
    );
    const customerId = `t${run}-d-c`;
    await offeredOn(customerId, campaignId, yesterday, replica);

    const eventId = `t${run}-d-e`;
    await replica.useCase.execute(
      purchaseDelivery(eventId, customerId, { occurredAtMs: at(yesterday, '20:00') }),
    );
    assert.equal(replica.sent.length, 0, "capped: the customer already had D's one offer");
    const record = await replica.repo.findById(decisionIdOf({ channel: 'pos', id: eventId }));
    assert.equal(record?.outcome, 'none');
    assert.match(record?.losses.find((l) => l.campaignId === campaignId)?.detail ?? '', /1 offer\(s\) today/);
  });

  it("an event of day D processed on D+1 is not capped by D+1's offers", async () => {
    const campaignId = `t${run}-d1`;
    const replica = decideReplica(
      cql,
      config,
      campaignSet(config, { id: campaignId, caps: { perCustomerPerDay: 1 } }),
    );
    const customerId = `t${run}-d1-c`;
    await offeredOn(customerId, campaignId, today, replica);

    const eventId = `t${run}-d1-e`;
    await replica.useCase.execute(
      purchaseDelivery(eventId, customerId, { occurredAtMs: at(yesterday, '20:00') }),
    );
    assert.equal(replica.sent.length, 1, "D had no offer yet: today's offer does not count against it");
    const ledger = await replica.repo.contacts(customerId);
    assert.ok(
      Object.entries(ledger.claims).some(
        ([k, v]) => k.startsWith(decisionIdOf({ channel: 'pos', id: eventId })) && v.startsWith(yesterday),
      ),
      'the claim is counted on D',
    );
  });
});
