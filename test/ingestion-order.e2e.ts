import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { partitionOf, Streams, Subjects, type IngestReply } from '@nunchi/contracts/core';
import type { AcceptedEvent, EnrichedEvent } from '@nunchi/contracts';
import { decodeJson, encodeJson } from '@nunchi/messaging';
import { runId, startHarness, waitFor, type Harness } from './support/harness.js';
import { lastSeq, post, readStream } from './support/streams.js';

const DAY_MS = 86_400_000;

/**
 * One customer's events stay in the order they were sent — into EVENTS and through context — even when the
 * sender does not wait for each answer. Order is defined per connection: one NATS connection, or the items
 * of one HTTP batch (concurrent HTTP requests travel on several connections and have no order).
 */
/** events per test, all sent before any is answered */
const PER_TEST = 300;

describe('ingestion: one customer’s events keep their order', () => {
  let h: Harness;
  const run = runId();

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  /**
   * n purchases of one customer; spread over 40 days so that context's per-day recomputation stays small.
   * 300 in flight at once reorder as readily as more would (one connection, one partition): one customer's
   * events are applied one after another, so every hundred more costs the suite seconds.
   */
  const events = (label: string, customer: Record<string, string>, n: number) =>
    Array.from({ length: n }, (_, i) => ({
      id: `t${run}-${label}-${String(i).padStart(4, '0')}`,
      type: 'purchase',
      channel: 'pos',
      occurredAt: new Date(Date.now() - 3_600_000 - (i % 40) * DAY_MS).toISOString(),
      customer,
      storeId: 'store-1',
      payload: {
        amount: 1000 + i,
        currency: 'KRW',
        items: [{ sku: `s${i}`, category: 'snacks', quantity: 1, unitPrice: 1000 + i }],
      },
    }));

  /** Ids of the customer's events in EVENTS after `from`, then in ENRICHED (context's order of application). */
  async function storedOrder(customerId: string, eventsFrom: number, enrichedFrom: number, expected: number) {
    const p = partitionOf(customerId, h.config.nats.partitions);
    const stored = (
      await readStream(h.nc, Streams.EVENTS.name, Subjects.eventsOfPartition(p), eventsFrom + 1)
    )
      .map((m) => m.json<AcceptedEvent>())
      .filter((e) => e.customerId === customerId)
      .map((e) => e.id);
    const applied = await waitFor(
      `context to apply ${expected} events`,
      async () => {
        const ids = (await readStream(h.nc, Streams.ENRICHED.name, Subjects.enriched(p), enrichedFrom + 1))
          .map((m) => m.json<EnrichedEvent>().event)
          .filter((e) => e.customerId === customerId)
          .map((e) => e.id);
        return ids.length >= expected ? ids : undefined;
      },
      120_000,
    );
    return { stored, applied };
  }

  async function sendAllAtOnce(list: Array<ReturnType<typeof events>[number]>): Promise<IngestReply[]> {
    // Issued in order, none awaited before the next: all the requests in flight on one connection.
    const pending = list.map((e) =>
      h.nc.request(Subjects.inbound('pos', 'purchase'), encodeJson(e), { timeout: 60_000 }),
    );
    return (await Promise.all(pending)).map((m) => decodeJson(m.data) as IngestReply);
  }

  it('keeps 300 events of a customer id, sent without waiting, in send order in EVENTS and in context', async () => {
    const customer = `t${run}-by-id`;
    const list = events('id', { id: customer }, PER_TEST);
    const [eventsFrom, enrichedFrom] = [
      await lastSeq(h.nc, Streams.EVENTS.name),
      await lastSeq(h.nc, Streams.ENRICHED.name),
    ];
    const replies = await sendAllAtOnce(list);
    replies.forEach((r, i) => assert.deepEqual(r, { ok: true, id: list[i].id, customerId: customer }));
    const { stored, applied } = await storedOrder(customer, eventsFrom, enrichedFrom, list.length);
    assert.deepEqual(
      stored,
      list.map((e) => e.id),
      'EVENTS in send order',
    );
    assert.deepEqual(
      applied,
      list.map((e) => e.id),
      'context applied them in send order',
    );
  });

  it('keeps the order of 300 events with a loyalty card seen for the first time (later events wait for its look-up)', async () => {
    const list = events('card', { loyaltyCard: `LC-${run}-NEW` }, PER_TEST);
    const [eventsFrom, enrichedFrom] = [
      await lastSeq(h.nc, Streams.EVENTS.name),
      await lastSeq(h.nc, Streams.ENRICHED.name),
    ];
    const replies = await sendAllAtOnce(list);
    const customerId = replies[0].ok ? replies[0].customerId : assert.fail(JSON.stringify(replies[0]));
    replies.forEach((r, i) => assert.deepEqual(r, { ok: true, id: list[i].id, customerId }));
    const { stored, applied } = await storedOrder(customerId, eventsFrom, enrichedFrom, list.length);
    assert.deepEqual(
      stored,
      list.map((e) => e.id),
    );
    assert.deepEqual(
      applied,
      list.map((e) => e.id),
    );
  });

  it('keeps the items of HTTP batches in order', async () => {
    const customer = `t${run}-http`;
    const list = events('http', { id: customer }, PER_TEST);
    const [eventsFrom, enrichedFrom] = [
      await lastSeq(h.nc, Streams.EVENTS.name),
      await lastSeq(h.nc, Streams.ENRICHED.name),
    ];
    for (const batch of [list.slice(0, PER_TEST / 2), list.slice(PER_TEST / 2)]) {
      const answer = await post(`${h.services.urls.ingestion}/v1/events`, JSON.stringify(batch));
      assert.equal(answer.status, 200);
      assert.ok((answer.body as { results: IngestReply[] }).results.every((r) => r.ok));
    }
    const { stored, applied } = await storedOrder(customer, eventsFrom, enrichedFrom, list.length);
    assert.deepEqual(
      stored,
      list.map((e) => e.id),
    );
    assert.deepEqual(
      applied,
      list.map((e) => e.id),
    );
  });
});
