/**
 * `nunchi dlq replay --stage context|decision`: an accepted event a later stage dead-lettered (say, before
 * outages were waited out: "gave up after 20 deliveries") goes back onto that stage's input stream and is
 * applied — once, however often it is replayed; an entry whose event was decided already is not decided again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decisionIdOf, Headers, partitionOf, Streams, Subjects } from '@nunchi/contracts/core';
import type { DeadLetteredEvent, EnrichedEvent } from '@nunchi/contracts';
import { encodeJson, Publisher } from '@nunchi/messaging';
import { replayDlq } from '../apps/cli/src/commands/dlq.js';
import { applyCampaign, setCampaignState } from '../apps/cli/src/commands/campaigns.js';
import { accepted, storedTotals } from './support/context-tools.js';
import { eventsOpener } from './support/enriched.js';
import { campaignFile, decisionsOf, purchase, sendAll, waitLoaded } from './support/decision.js';
import { runId, startHarness, waitFor, type Harness } from './support/harness.js';
import { lastSeq, readStream } from './support/streams.js';

describe('dlq replay of the context and decision stages', () => {
  let h: Harness;
  let publisher: Publisher;
  const run = runId();
  const store = `t${run}-dlq`;
  const campaignId = `dlq-replay-${run}`;

  before(async () => {
    h = await startHarness({ OTEL_TRACES_EXPORTER: 'none', NUNCHI_SLA_MS: '600000' });
    publisher = new Publisher(h.nc);
    const applied = await applyCampaign(
      h.resources,
      campaignFile({
        id: campaignId,
        condition: `event.storeId == '${store}'`,
        caps: { perCustomerPerDay: 100 },
      }),
    );
    await waitLoaded([h.services.urls.decision], campaignId, applied.version);
  });

  after(async () => {
    await setCampaignState(h.resources, campaignId, 'ended').catch(() => undefined);
    await h?.close();
  });

  it('puts a context entry back on EVENTS: applied and decided once, skipped when replayed again', async () => {
    const customerId = `${run}-c1`;
    const event = accepted(purchase(`${run}-e1`, customerId, store, 7_000), customerId);
    const subject = Subjects.event(partitionOf(customerId, h.config.nats.partitions), 'purchase');
    // What the context stage would have stored after giving up on it.
    const before = await lastSeq(h.nc, Streams.DLQ.name);
    await publisher.deadLetter(
      'context',
      subject,
      encodeJson(event),
      'gave up after 20 deliveries: NoHostAvailableError',
      `test:${run}`,
    );
    const seq = before + 1;

    const first = await replayDlq(h.resources, { stage: 'context', seq });
    assert.deepEqual(
      first.map((r) => r.outcome),
      ['accepted'],
      JSON.stringify(first),
    );
    await waitFor(
      'the replayed event applied',
      async () => ((await storedTotals(h.cql, customerId)).events === 1 ? true : undefined),
      30_000,
    );
    const [decision] = await decisionsOf(h.cql, [event], 30_000);
    assert.equal(decision?.decisionId, decisionIdOf(event));

    const again = await replayDlq(h.resources, { stage: 'context', seq });
    assert.deepEqual(
      again.map((r) => r.outcome),
      ['skipped'],
      'an entry is accepted once',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    assert.deepEqual(
      await storedTotals(h.cql, customerId).then((t) => [t.events, t.spend]),
      [1, 7_000],
      'applied once',
    );
  });

  /** The context stage's DLQ entry of an event (by id), once context has refused it. */
  const contextEntry = (eventId: string, fromSeq: number) =>
    waitFor(
      `the context stage's DLQ entry of ${eventId}`,
      async () =>
        (await readStream(h.nc, Streams.DLQ.name, Subjects.dlq('context'), fromSeq)).find(
          (m) => m.json<DeadLetteredEvent>().id === eventId,
        ),
      30_000,
    );

  it("keeps a refused event's payload sealed under the customer's key, and a replay opens it", async () => {
    const customerId = `${run}-c3`;
    const sku = `sku-sealed-${run}`;
    const event = accepted(purchase(`${run}-e3`, customerId, store, 8_000), customerId);
    event.payload = {
      ...event.payload,
      items: [{ sku, category: `cat-${run}`, quantity: 1, unitPrice: 8_000 }],
    };
    // The second step of a merge nobody started: context refuses it (no merge record), a refusal of an
    // event whose customer is not erased.
    event.link = { survivorId: customerId, absorbedId: `${run}-c3-absorbed`, stage: 'absorb' };
    const subject = Subjects.event(partitionOf(customerId, h.config.nats.partitions), 'purchase');
    const dlqFrom = (await lastSeq(h.nc, Streams.DLQ.name)) + 1;
    await publisher.persist(subject, event, { msgID: `sealed-dlq-${run}` });

    const stored = await contextEntry(event.id, dlqFrom);
    const bytes = Buffer.from(stored.data).toString('utf8');
    for (const clear of [sku, `cat-${run}`, '8000'])
      assert.ok(!bytes.includes(clear), `${clear} readable in the DLQ entry: ${bytes.slice(0, 400)}`);
    const entry = stored.json<DeadLetteredEvent>();
    assert.equal(entry.customerId, customerId, 'what diagnosis needs stays readable');
    assert.equal(entry.sealedPayload?.customerId, customerId);
    assert.equal(stored.headers?.get(Headers.dlqSealed), 'payload');
    assert.match(stored.headers?.get(Headers.dlqReason) ?? '', /merge record is missing/);

    const eventsFrom = (await lastSeq(h.nc, Streams.EVENTS.name)) + 1;
    const replayed = await replayDlq(h.resources, { stage: 'context', seq: stored.seq });
    assert.deepEqual(
      replayed.map((r) => r.outcome),
      ['accepted'],
      JSON.stringify(replayed),
    );
    const republished = (await readStream(h.nc, Streams.EVENTS.name, subject, eventsFrom)).find(
      (m) => m.headers?.get(Headers.dlqReplayOf) === String(stored.seq),
    );
    assert.ok(republished, 'put back on EVENTS');
    assert.ok(!Buffer.from(republished.data).toString('utf8').includes(sku), 'still sealed on EVENTS');
    const opened = await eventsOpener(h.cql, h.config)(republished.data);
    assert.deepEqual(opened.payload, event.payload, 'opens as it was');
  });

  it("drops the payload of an erased customer's event, and does not replay it", async () => {
    const customerId = `${run}-c4`;
    await sendAll(h.nc, [purchase(`${run}-e4a`, customerId, store, 4_000)]);
    await decisionsOf(h.cql, [{ channel: 'pos', id: `${run}-e4a` }], 30_000);
    const erased = await fetch(`${h.services.urls.context}/v1/customers/${customerId}`, { method: 'DELETE' });
    assert.equal(erased.status, 200);
    // An event of that customer reaching EVENTS after all (published before ingestion heard of the erasure).
    const event = accepted(purchase(`${run}-e4b`, customerId, store, 4_321), customerId);
    // A value found nowhere else (an amount's digits may turn up in a timestamp)
    const sku = `sku-erased-${run}`;
    event.payload = { ...event.payload, items: [{ sku, category: 'beer', quantity: 1, unitPrice: 4_321 }] };
    const dlqFrom = (await lastSeq(h.nc, Streams.DLQ.name)) + 1;
    await publisher.persist(
      Subjects.event(partitionOf(customerId, h.config.nats.partitions), 'purchase'),
      event,
      { msgID: `erased-dlq-${run}` },
    );
    const stored = await contextEntry(event.id, dlqFrom);
    assert.ok(!Buffer.from(stored.data).toString('utf8').includes(sku), 'no payload value kept');
    const entry = stored.json<DeadLetteredEvent & { payload?: unknown }>();
    assert.equal(entry.payloadDropped, 'customer erased');
    assert.equal(entry.payload ?? entry.sealedPayload, undefined, 'neither in clear nor sealed');
    assert.match(stored.headers?.get(Headers.dlqReason) ?? '', /was erased/);
    const replayed = await replayDlq(h.resources, { stage: 'context', seq: stored.seq });
    assert.deepEqual(
      replayed.map((r) => [r.outcome, /was erased/.test(r.detail ?? '')]),
      [['skipped', true]],
      JSON.stringify(replayed),
    );
  });

  it('puts a decision entry back on ENRICHED; an event decided already is not decided again', async () => {
    const customerId = `${run}-c2`;
    const fromSeq = (await lastSeq(h.nc, Streams.ENRICHED.name)) + 1;
    await sendAll(h.nc, [purchase(`${run}-e2`, customerId, store, 9_000)]);
    const [decided] = await decisionsOf(h.cql, [{ channel: 'pos', id: `${run}-e2` }], 30_000);
    const enriched = (await readStream(h.nc, Streams.ENRICHED.name, Subjects.enrichedAll, fromSeq)).find(
      (m) => m.json<EnrichedEvent>().event.id === `${run}-e2`,
    );
    assert.ok(enriched, 'the event was enriched');
    const before = await lastSeq(h.nc, Streams.DLQ.name);
    await publisher.deadLetter(
      'decision',
      enriched.subject,
      enriched.data,
      'gave up after 20 deliveries: timeout',
      `test2:${run}`,
    );
    const decisionsBefore = await lastSeq(h.nc, Streams.DECISIONS.name);

    const result = await replayDlq(h.resources, { stage: 'decision', seq: before + 1 });
    assert.deepEqual(
      result.map((r) => r.outcome),
      ['accepted'],
      JSON.stringify(result),
    );
    // Decided within milliseconds when it is decided at all; the assertions below would see a second decision.
    await new Promise((r) => setTimeout(r, 3_000));
    const [after] = await decisionsOf(h.cql, [{ channel: 'pos', id: `${run}-e2` }], 10_000);
    assert.equal(after?.decidedAt, decided?.decidedAt, 'the stored decision is the first one');
    const published = (
      await readStream(h.nc, Streams.DECISIONS.name, Subjects.decisionsAll, decisionsBefore + 1)
    ).filter((m) => m.json<{ eventId: string }>().eventId === `${run}-e2`);
    assert.deepEqual(published, [], 'no second decision published');
  });
});
