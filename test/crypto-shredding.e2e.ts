/**
 * Crypto-shredding (issue 12, docs/security.md "Per-customer keys", docs/context-model.md#erasure): what
 * ingestion stores on EVENTS holds the event's payload, and what context publishes on ENRICHED holds the customer's profile, context and event payload only sealed under the
 * customer's own data key, decision opens it and decides as before; an erasure deletes the key, and the
 * customer's messages still in the stream can no longer be opened — by anyone, decision included, which
 * refuses them as events of an erased customer. Cassandra's own rows of the customer's history (the event row,
 * the day's rollups) are sealed the same way: a backup of them taken before the erasure opens no more.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import {
  CustomerKeyRepository,
  CustomerKeyring,
  openDayTotals,
  openEventBody,
  openProfile,
  parseEventBody,
} from '@nunchi/cassandra';
import { identityKeys } from '@nunchi/config';
import { localDay } from '@nunchi/context-model';
import { decisionIdOf, Headers, Streams, Subjects, type DecisionRecord } from '@nunchi/contracts/core';
import type {
  EnrichedMessage,
  EnrichedPersonal,
  ErasureReceipt,
  EventsMessage,
  SealedAcceptedEvent,
} from '@nunchi/contracts';
import { applyCampaign } from '../apps/cli/src/commands/campaigns.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { SealedDataError } from '@nunchi/sealing';
import { enrichedOpener, eventsOpener } from './support/enriched.js';
import { request, runId, startHarness, waitFor, type Harness } from './support/harness.js';
import { lastSeq, readStream } from './support/streams.js';

describe('crypto-shredding: EVENTS and ENRICHED sealed under per-customer keys, shredded by an erasure', () => {
  let h: Harness;
  const run = runId();
  const store = `shred-${run}`;
  const campaignId = `shred-${run}`;
  const lostCampaignId = `shred-${run}-lost`;
  // Values that appear nowhere else: found in a message's bytes only if the profile travelled in clear.
  const region = `Shredville-${run}`;
  const tier = `Z${run.slice(0, 7)}`; // at most 8 characters
  const sku = `sku-${run}`;
  const customer = { id: `t${run}-shred`, age: 47, gender: 'F', region, creditTier: tier, attributes: {} };
  const keyring = () =>
    new CustomerKeyring(new CustomerKeyRepository(h.cql), identityKeys(h.config), { maxEntries: 0 });
  const purchase = (id: string) => ({
    id,
    type: 'purchase',
    channel: 'pos',
    occurredAt: new Date(Date.now() - 30_000).toISOString(),
    customer: { id: customer.id },
    storeId: store,
    payload: {
      amount: 25_000,
      currency: 'KRW',
      items: [{ sku, category: `cat-${run}`, quantity: 1, unitPrice: 25_000 }],
    },
  });
  const event = purchase(`t${run}-e1`);
  let enrichedFrom = 0;

  before(async () => {
    h = await startHarness();
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-shred-'));
    writeFileSync(join(dir, 'customers.ndjson'), JSON.stringify(customer));
    assert.equal(
      (await importCustomers(h.resources, join(dir, 'customers.ndjson'), { quiet: true })).imported,
      1,
    );
    // The audience reads the profile: an offer proves decision opened what context sealed.
    writeFileSync(
      join(dir, 'campaign.yaml'),
      [
        `id: ${campaignId}`,
        'name: Crypto-shredding check',
        `trigger: { types: [purchase], channels: [pos], stores: [${store}] }`,
        `audience: "customer.region == '${region}' && customer.age == 47 && customer.creditTier == '${tier}'"`,
        'offers:',
        '  - { id: thanks, title: Thanks, value: 1000 }',
        'schedule: { timezone: Asia/Seoul }',
      ].join('\n'),
    );
    await applyCampaign(h.resources, join(dir, 'campaign.yaml'));
    // A campaign that loses on the audience: its loss's detail names the region the customer has.
    writeFileSync(
      join(dir, 'lost.yaml'),
      [
        `id: ${lostCampaignId}`,
        'name: Crypto-shredding check, the loser',
        `trigger: { types: [purchase], channels: [pos], stores: [${store}] }`,
        // not an equality the campaign index could prune on: the rule runs and loses
        `audience: "customer.region.startsWith('Elsewhere')"`,
        'offers:',
        '  - { id: never, title: Never, value: 1 }',
        'schedule: { timezone: Asia/Seoul }',
      ].join('\n'),
    );
    await applyCampaign(h.resources, join(dir, 'lost.yaml'));
    await waitFor('the campaign to load', async () => {
      const body = (await (await fetch(`${h.services.urls.decision}/v1/campaigns`)).json()) as {
        loaded: Record<string, number>;
      };
      return body.loaded[campaignId] && body.loaded[lostCampaignId] ? true : undefined;
    });
    enrichedFrom = (await lastSeq(h.nc, Streams.ENRICHED.name)) + 1;
    eventsFrom = (await lastSeq(h.nc, Streams.EVENTS.name)) + 1;
    decisionsFrom = (await lastSeq(h.nc, Streams.DECISIONS.name)) + 1;
  });
  after(async () => {
    await h?.close();
  });

  let decisionsFrom = 0;
  let eventsFrom = 0;
  /** the customer's rows of customer_events (bodies) and customer_days (day, totals) as stored */
  let backup: Awaited<ReturnType<typeof rawHistory>>;
  const rawHistory = async () => {
    const month = localDay(Date.parse(event.occurredAt), h.config.domain.timeZone).slice(0, 7);
    const options = { prepare: true };
    const [events, days, profile] = await Promise.all([
      h.cql.execute(
        'SELECT body FROM customer_events WHERE customer_id = ? AND month = ?',
        [customer.id, month],
        options,
      ),
      h.cql.execute('SELECT day, totals FROM customer_days WHERE customer_id = ?', [customer.id], options),
      h.cql.execute('SELECT * FROM customers WHERE customer_id = ?', [customer.id], options),
    ]);
    return {
      bodies: events.rows.map((r) => r['body'] as string),
      days: days.rows.map((r): [string, Buffer] => [r['day'] as string, r['totals'] as Buffer]),
      profile: profile.first() ?? undefined,
    };
  };
  const storedEvent = async () =>
    (await readStream(h.nc, Streams.EVENTS.name, Subjects.eventsAll, eventsFrom)).find(
      (m) => m.json<EventsMessage>().id === event.id,
    );
  const storedDecision = async () =>
    (await readStream(h.nc, Streams.DECISIONS.name, Subjects.decision(campaignId), decisionsFrom)).find(
      (m) => m.json<DecisionRecord>().eventId === event.id,
    );
  const storedEnriched = async () =>
    (await readStream(h.nc, Streams.ENRICHED.name, Subjects.enrichedAll, enrichedFrom)).find(
      (m) => m.json<EnrichedMessage>().event.id === event.id,
    );

  it('EVENTS and ENRICHED hold no profile, context or payload value in clear, and decision still decides on them', async () => {
    assert.deepEqual(await request(h.nc, Subjects.inbound('pos', 'purchase'), event), {
      ok: true,
      id: event.id,
      customerId: customer.id,
    });
    const decision = await waitFor('the decision', async () => {
      const r = await fetch(`${h.services.urls.decision}/v1/decisions/${decisionIdOf(event)}`);
      return r.ok ? ((await r.json()) as DecisionRecord) : undefined;
    });
    assert.equal(decision.outcome, 'offer', JSON.stringify(decision.losses));
    assert.equal(decision.campaignId, campaignId);
    assert.equal(decision.inputs?.['customer.region'], region, 'the rule saw the opened profile');
    const lost = decision.losses.find((l) => l.campaignId === lostCampaignId);
    assert.equal(lost?.reason, 'audience');
    assert.ok(lost.detail?.includes(region), `the loser's detail, opened: ${lost.detail}`);

    const stored = await waitFor('the ENRICHED message', storedEnriched);
    const bytes = Buffer.from(stored.data).toString('utf8');
    for (const clear of [region, tier, sku, `cat-${run}`, '"age":47'])
      assert.ok(
        !bytes.includes(clear),
        `${clear} is readable in the stored ENRICHED message: ${bytes.slice(0, 400)}`,
      );
    // What routing and diagnosis need stays readable.
    const message = stored.json<EnrichedMessage>();
    assert.equal(message.event.id, event.id);
    assert.equal(message.event.customerId, customer.id);
    assert.equal(message.event.storeId, store);
    assert.equal(message.personal?.sealed, 'v1');
    assert.equal(message.personal?.customerId, customer.id);
    assert.equal('customer' in message || 'ctx' in message || 'payload' in message.event, false);
    // With the customer's key it opens to the profile, the context and the payload.
    const opened = await enrichedOpener(h.cql, h.config)(stored.data);
    assert.equal(opened.customer?.region, region);
    assert.equal(opened.ctx.all.d7.purchases, 1);
    assert.deepEqual(opened.event.payload, event.payload);
    // DECISIONS: what the winning rule saw (the region, the age) is sealed too; the rest of the record is not.
    const published = await waitFor('the DECISIONS record', storedDecision);
    const record = published.json<DecisionRecord>();
    assert.equal(record.outcome, 'offer');
    assert.equal(record.inputs, undefined);
    assert.equal(record.sealedInputs?.customerId, customer.id);
    // and the losers' details, which name what their rules read (the region)
    assert.equal(record.sealedLossDetails?.customerId, customer.id);
    assert.equal(
      record.losses.find((l) => l.campaignId === lostCampaignId)?.reason,
      'audience',
      'the loss itself stays readable',
    );
    const byId = (
      await h.cql.execute('SELECT record FROM decisions_by_id WHERE decision_id = ?', [decisionIdOf(event)], {
        prepare: true,
      })
    ).first()?.['record'] as string;
    for (const clear of [region, tier]) {
      assert.ok(
        !Buffer.from(published.data).toString('utf8').includes(clear),
        `${clear} readable on DECISIONS`,
      );
      assert.ok(!byId.includes(clear), `${clear} readable in decisions_by_id: ${byId}`);
    }
    const inputs = await keyring().open<Record<string, unknown>>(record.sealedInputs);
    assert.equal(inputs.kind === 'opened' && inputs.value['customer.region'], region);
    const key = await new CustomerKeyRepository(h.cql).get(customer.id);
    assert.equal(key?.keyId, message.personal?.keyId, 'sealed under the stored key');
    // EVENTS, as ingestion stored it: the payload sealed under the same key, the routing fields readable.
    const accepted = (await storedEvent())!;
    const acceptedBytes = Buffer.from(accepted.data).toString('utf8');
    for (const clear of [sku, `cat-${run}`, '25000'])
      assert.ok(
        !acceptedBytes.includes(clear),
        `${clear} readable on EVENTS: ${acceptedBytes.slice(0, 400)}`,
      );
    const onEvents = accepted.json<SealedAcceptedEvent>();
    assert.equal(onEvents.customerId, customer.id);
    assert.equal(onEvents.storeId, store);
    assert.equal('payload' in onEvents, false);
    assert.equal(onEvents.sealedPayload.keyId, key?.keyId);
    assert.deepEqual((await eventsOpener(h.cql, h.config)(accepted.data)).payload, event.payload);
    assert.equal(key?.kekId, identityKeys(h.config)[0].id, 'wrapped under the identity key');

    // Cassandra's own rows: the event row and the day's rollups, as a backup of the tables would copy them.
    backup = await waitFor('the stored history', async () => {
      const copy = await rawHistory();
      return copy.bodies.length && copy.days.length ? copy : undefined;
    });
    const eventRow = backup.bodies.join('\n');
    for (const clear of [sku, `cat-${run}`, '25000'])
      assert.ok(!eventRow.includes(clear), `${clear} readable in customer_events: ${eventRow.slice(0, 400)}`);
    for (const [, cell] of backup.days)
      for (const clear of [`cat-${run}`, store, 'category:', 'store:'])
        assert.ok(!cell.includes(Buffer.from(clear)), `${clear} readable in customer_days`);
    // With the customer's key they open: the event as it was sent, the day's spend.
    const dataKey = await keyring().find(customer.id);
    const fromRow = openEventBody(customer.id, parseEventBody(backup.bodies[0]), dataKey);
    assert.deepEqual(fromRow.payload, event.payload);
    const day = backup.days[0];
    const rollups = openDayTotals(customer.id, day[0], day[1], dataKey);
    assert.equal(rollups.find((r) => r.dim === 'all')?.spend, 25_000);
    assert.ok(rollups.some((r) => r.dim === `category:cat-${run}`));
    // The profile row (imported): every value a sealed map entry, none in the clear columns or the bytes.
    const row = backup.profile;
    for (const column of ['age', 'gender', 'region', 'credit_tier', 'attributes'])
      assert.equal(row[column], null, `customers.${column} in clear`);
    const cells = Buffer.concat(Object.values(row['sealed_fields'] as Record<string, Buffer>));
    for (const clear of [region, tier])
      assert.ok(!cells.includes(Buffer.from(clear)), `${clear} readable in customers`);
    assert.deepEqual(
      openProfile(customer.id, row, dataKey),
      customer,
      'opens with the key to the imported profile',
    );
  });

  it('creates one key per customer, whoever asks first: two replicas racing agree', async () => {
    const id = `t${run}-race`;
    const [a, b] = await Promise.all([keyring().obtain(id), keyring().obtain(id)]);
    assert.equal(a.id, b.id);
    assert.ok(a.key.equals(b.key));
    assert.equal((await keyring().find(id))?.id, a.id, 'and it is the stored one');
  });

  it('an erasure deletes the key and says so; the messages still in the stream no longer open, and decision refuses them', async () => {
    const stored = await waitFor('the ENRICHED message', storedEnriched);
    const response = await fetch(`${h.services.urls.context}/v1/customers/${customer.id}`, {
      method: 'DELETE',
    });
    assert.equal(response.status, 200);
    const receipt = (await response.json()) as ErasureReceipt;
    assert.equal(receipt.removed['customer_keys'], 1, JSON.stringify(receipt.removed));
    assert.deepEqual(
      receipt.stores?.find((s) => s.store === 'customer data key'),
      {
        store: 'customer data key',
        erased: true,
        detail: receipt.stores?.find((s) => s.store === 'customer data key')?.detail,
      },
    );

    assert.equal(await new CustomerKeyRepository(h.cql).get(customer.id), undefined, 'the key row is gone');
    // The message is still in the stream (until its retention), and cannot be opened any more.
    const again = (await readStream(h.nc, Streams.ENRICHED.name, Subjects.enrichedAll, stored.seq)).find(
      (m) => m.seq === stored.seq,
    );
    assert.ok(again, 'still stored');
    const personal = again.json<EnrichedMessage>().personal!;
    const opened = await keyring().open<EnrichedPersonal>(personal);
    assert.equal(opened.kind, 'erased');
    await assert.rejects(enrichedOpener(h.cql, h.config)(again.data), /erased/);
    const accepted = (await storedEvent())!.json<SealedAcceptedEvent>();
    assert.equal((await keyring().openEvent(accepted)).kind, 'erased', 'nor the event on EVENTS');
    // A backup of the tables taken before the erasure: the rows no longer open either.
    assert.deepEqual(
      await rawHistory(),
      { bodies: [], days: [], profile: undefined },
      'the rows themselves are deleted',
    );
    assert.throws(() => openProfile(customer.id, backup.profile, undefined), SealedDataError);
    const noKey = await keyring().find(customer.id);
    assert.equal(noKey, undefined);
    assert.throws(() => openEventBody(customer.id, parseEventBody(backup.bodies[0]), noKey), SealedDataError);
    assert.throws(
      () => openDayTotals(customer.id, backup.days[0][0], backup.days[0][1], noKey),
      SealedDataError,
    );
    const decided = (await storedDecision())!.json<DecisionRecord>();
    assert.equal((await keyring().open(decided.sealedInputs!)).kind, 'erased', 'nor the inputs on DECISIONS');
    assert.equal((await keyring().open(decided.sealedLossDetails!)).kind, 'erased', 'nor the loss details');

    // Put back on ENRICHED (as `nunchi dlq replay` of the decision stage does): refused, with the reason.
    const dlqFrom = (await lastSeq(h.nc, Streams.DLQ.name)) + 1;
    await jetstream(h.nc).publish(again.subject, again.data, { msgID: `shred-replay-${run}` });
    const refused = await waitFor('the refusal in the DLQ', async () =>
      (await readStream(h.nc, Streams.DLQ.name, Subjects.dlq('decision'), dlqFrom)).find((m) =>
        Buffer.from(m.data).toString('utf8').includes(event.id),
      ),
    );
    assert.match(
      refused.headers?.get(Headers.dlqReason) ?? '',
      new RegExp(`customer ${customer.id} was erased .*data key is gone`),
    );
  });
});
