import { localDay } from '@nunchi/context-model';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { decisionIdOf, eventKey, Headers, partitionOf, Streams, Subjects } from '@nunchi/contracts/core';
import type { AcceptedEvent, EnrichedEvent } from '@nunchi/contracts';
import {
  dadsPurchase,
  migrateStreams,
  request,
  runId,
  startHarness,
  waitFor,
  type Harness,
} from './support/harness.js';
import { enrichedOpener } from './support/enriched.js';
import { carryWholeContext } from './support/decision.js';
import { lastSeq, post, readStream } from './support/streams.js';

/**
 * The same event (channel and id) is one event, however often and through whichever door it comes: JetStream
 * drops repeats inside its duplicate window, and context recognises applied events beyond it (from the
 * customer's stored events). Ids are scoped per adapter (channel): another channel's event with the same id is
 * another event.
 */
describe('ingestion: idempotency', () => {
  let h: Harness;
  /** ENRICHED's personal part is sealed under the customer's data key: opened as decision opens it */
  const openEnriched = (data: Uint8Array) => enrichedOpener(h.cql, h.config)(data);
  const run = runId();
  const customer = `t${run}-c`;
  const at = new Date(Date.now() - 120_000).toISOString();

  let endWholeContext: (() => Promise<void>) | undefined;
  before(async () => {
    h = await startHarness();
    // the test reads the customer's recent events on ENRICHED
    endWholeContext = await carryWholeContext(h.resources, [h.services.urls.context]);
  });
  after(async () => {
    await endWholeContext?.();
    await h?.close();
  });

  const partition = () => partitionOf(customer, h.config.nats.partitions);
  const eventsOf = async (id: string, from: number) =>
    (await readStream(h.nc, Streams.EVENTS.name, Subjects.eventsOfPartition(partition()), from + 1)).filter(
      (m) => m.json<AcceptedEvent>().id === id,
    );
  const enrichedOf = async (id: string, from: number) =>
    (await readStream(h.nc, Streams.ENRICHED.name, Subjects.enriched(partition()), from + 1)).filter(
      (m) => m.json<EnrichedEvent>().event.id === id,
    );

  it('stores an id sent twice inside the duplicate window once, and says "duplicate" the second time', async () => {
    const events = await lastSeq(h.nc, Streams.EVENTS.name);
    const enriched = await lastSeq(h.nc, Streams.ENRICHED.name);
    const event = dadsPurchase(`t${run}-twice`, { id: customer }, 'store-1', at);
    assert.deepEqual(await request(h.nc, Subjects.inbound('pos', 'purchase'), event), {
      ok: true,
      id: event.id,
      customerId: customer,
    });
    const viaHttp = await post(`${h.services.urls.ingestion}/v1/events`, JSON.stringify(event));
    assert.deepEqual(viaHttp.body, { ok: true, id: event.id, customerId: customer, duplicate: true });
    assert.deepEqual(await request(h.nc, Subjects.inbound('pos', 'purchase'), event), {
      ok: true,
      id: event.id,
      customerId: customer,
      duplicate: true,
    });

    assert.equal((await eventsOf(event.id, events)).length, 1, 'one message on EVENTS');
    await waitFor('the enriched event', async () =>
      (await enrichedOf(event.id, enriched)).length ? true : undefined,
    );
    assert.equal((await enrichedOf(event.id, enriched)).length, 1, 'applied once by context');
  });

  it("takes two adapters' events with one id as two events, and still drops a repeat from either", async () => {
    const buyer = `t${run}-two`;
    const p = partitionOf(buyer, h.config.nats.partitions);
    const events = await lastSeq(h.nc, Streams.EVENTS.name);
    const enriched = await lastSeq(h.nc, Streams.ENRICHED.name);
    const id = `t${run}-shared-id`;
    const pos = dadsPurchase(id, { id: buyer }, 'store-1', at);
    const web = { ...dadsPurchase(id, { id: buyer }, 'store-1', at), channel: 'web' };
    assert.deepEqual(await request(h.nc, Subjects.inbound('pos', 'purchase'), pos), {
      ok: true,
      id,
      customerId: buyer,
    });
    // The web shop's event with the till's id, at the same instant: not a duplicate (it would have been).
    assert.deepEqual(await request(h.nc, Subjects.inbound('web', 'purchase'), web), {
      ok: true,
      id,
      customerId: buyer,
    });
    // A repeat from each adapter is still one, through either door.
    assert.deepEqual(await request(h.nc, Subjects.inbound('web', 'purchase'), web), {
      ok: true,
      id,
      customerId: buyer,
      duplicate: true,
    });
    const viaHttp = await post(`${h.services.urls.ingestion}/v1/events`, JSON.stringify(pos));
    assert.deepEqual(viaHttp.body, { ok: true, id, customerId: buyer, duplicate: true });

    const stored = (
      await readStream(h.nc, Streams.EVENTS.name, Subjects.eventsOfPartition(p), events + 1)
    ).filter((m) => m.json<AcceptedEvent>().id === id);
    assert.deepEqual(
      stored.map((m) => m.json<AcceptedEvent>().channel).sort(),
      ['pos', 'web'],
      'EVENTS holds one of each',
    );
    const applied = await waitFor('both enriched', async () => {
      const found = (
        await readStream(h.nc, Streams.ENRICHED.name, Subjects.enriched(p), enriched + 1)
      ).filter((m) => m.json<EnrichedEvent>().event.id === id);
      return found.length >= 2 ? found : undefined;
    });
    assert.deepEqual(
      applied
        .map((m) => [m.json<EnrichedEvent>().event.channel, m.headers?.get(Headers.repeat) ?? ''])
        .sort(),
      [
        ['pos', ''],
        ['web', ''],
      ],
      'context applied both, neither as a repeat of the other',
    );
    const last = await openEnriched(applied.at(-1)!.data);
    assert.equal(last.ctx.all.d7.purchases, 2, 'both counted');
    assert.deepEqual(
      last.ctx.recent
        .filter((r) => r.id === id)
        .map((r) => r.channel)
        .sort(),
      ['pos', 'web'],
    );
    assert.notEqual(decisionIdOf(pos), decisionIdOf(web), 'two decisions, one per event');
  });
});

describe('ingestion: idempotency after the duplicate window (a window of 1 s, on this test’s NATS server)', () => {
  let h: Harness;
  const openEnriched = (data: Uint8Array) => enrichedOpener(h.cql, h.config)(data);
  const run = runId();
  const customer = `t${run}-c`;
  const at = new Date(Date.now() - 120_000).toISOString();
  const WINDOW_MS = 1_000;

  before(async () => {
    // The harness lays the streams out as the migration step would with this window (services only check).
    h = await startHarness({ NUNCHI_DUPLICATE_WINDOW_MS: String(WINDOW_MS) });
  });
  after(async () => {
    // Put the configured window back on the streams, as the operator would (nunchi streams apply).
    if (h) await migrateStreams();
    await h?.close();
  });

  it('applies an id sent again after the window once: context remembers it, publishes it again marked as a repeat, and decision decides it once', async () => {
    const jsm = await jetstreamManager(h.nc);
    assert.equal(
      (await jsm.streams.info(Streams.EVENTS.name)).config.duplicate_window,
      WINDOW_MS * 1_000_000,
    );
    const p = partitionOf(customer, h.config.nats.partitions);
    const events = await lastSeq(h.nc, Streams.EVENTS.name);
    const enriched = await lastSeq(h.nc, Streams.ENRICHED.name);
    const event = dadsPurchase(`t${run}-later`, { id: customer }, 'store-1', at);
    assert.deepEqual(await request(h.nc, Subjects.inbound('pos', 'purchase'), event), {
      ok: true,
      id: event.id,
      customerId: customer,
    });
    await waitFor('context to apply and store it', async () => {
      const stored = await h.cql.execute(
        'SELECT event_id FROM customer_events WHERE customer_id = ? AND month = ?',
        [customer, localDay(Date.parse(event.occurredAt), h.config.domain.timeZone).slice(0, 7)],
        { prepare: true },
      );
      // Rows are keyed by the event's key (channel and id).
      return stored.rows.some((r) => r['event_id'] === eventKey(event)) ? true : undefined;
    });
    const firstDecision = await waitFor('its decision', async () => {
      const answer = await fetch(`${h.services.urls.decision}/v1/decisions/${decisionIdOf(event)}`);
      return answer.status === 200 ? await answer.json() : undefined;
    });
    await new Promise((r) => setTimeout(r, WINDOW_MS + 500));

    // JetStream has forgotten the id: the sender's retry is stored again, not reported as a duplicate.
    assert.deepEqual(await request(h.nc, Subjects.inbound('pos', 'purchase'), event), {
      ok: true,
      id: event.id,
      customerId: customer,
    });
    const copies = (
      await readStream(h.nc, Streams.EVENTS.name, Subjects.eventsOfPartition(p), events + 1)
    ).filter((m) => m.json<AcceptedEvent>().id === event.id);
    assert.equal(copies.length, 2, 'EVENTS holds it twice');
    await waitFor('context to consume the repeat', async () => {
      const info = await jsm.consumers.info(Streams.EVENTS.name, `context-p${p}`);
      return info.ack_floor.stream_seq >= copies[1].seq ? true : undefined;
    });
    // ENRICHED's own window has passed too: the repeat is stored there again — marked, so that decision
    // treats it as the redelivery it may be (context cannot tell a sender's retry from a consumer replay).
    const published = (
      await readStream(h.nc, Streams.ENRICHED.name, Subjects.enriched(p), enriched + 1)
    ).filter((m) => m.json<EnrichedEvent>().event.id === event.id);
    assert.deepEqual(
      published.map((m) => m.headers?.get(Headers.repeat) ?? ''),
      ['', '1'],
      'published once as applied, then once more marked as a repeat',
    );
    assert.equal(
      (await openEnriched(published[1].data)).ctx.all.d7.purchases,
      (await openEnriched(published[0].data)).ctx.all.d7.purchases,
      'the repeat folded nothing more',
    );
    await waitFor('decision to consume the repeat', async () => {
      const info = await jsm.consumers.info(Streams.ENRICHED.name, `decision-p${p}`);
      return info.ack_floor.stream_seq >= published[1].seq ? true : undefined;
    });
    const decision = await fetch(`${h.services.urls.decision}/v1/decisions/${decisionIdOf(event)}`);
    assert.equal(decision.status, 200, 'the one decision exists');
    assert.deepEqual(await decision.json(), firstDecision, 'not decided again (the record is the first one)');
    const view = (await (
      await fetch(`${h.services.urls.context}/v1/customers/${customer}/context`)
    ).json()) as { ctx: { recent: Array<{ id: string }>; all: { d7: { purchases: number } } } };
    assert.equal(
      view.ctx.recent.filter((r) => r.id === event.id).length,
      1,
      'once in the customer’s recent events',
    );
    assert.equal(view.ctx.all.d7.purchases, 1, 'counted once');

    // Context's record is scoped per adapter too: another channel's event with this id, after the window, is
    // a new event — applied and counted, not taken for a repeat.
    const since = await lastSeq(h.nc, Streams.ENRICHED.name);
    const fromWeb = { ...event, channel: 'web' };
    assert.deepEqual(await request(h.nc, Subjects.inbound('web', 'purchase'), fromWeb), {
      ok: true,
      id: event.id,
      customerId: customer,
    });
    const webEnriched = await waitFor('the web event enriched', async () =>
      (await readStream(h.nc, Streams.ENRICHED.name, Subjects.enriched(p), since + 1)).find(
        (m) => m.json<EnrichedEvent>().event.id === event.id,
      ),
    );
    assert.equal(webEnriched.json<EnrichedEvent>().event.channel, 'web');
    assert.equal(webEnriched.headers?.get(Headers.repeat) ?? '', '', 'not marked as a repeat');
    assert.equal(
      (await openEnriched(webEnriched.data)).ctx.all.d7.purchases,
      2,
      'counted: a second purchase',
    );
  });
});
