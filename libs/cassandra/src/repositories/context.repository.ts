import type { AcceptedEvent } from '@nunchi/contracts';
import type { DailyRollup } from '@nunchi/context-model';
import type { CqlClient } from '../client.js';
import { defineStatements, run, statement } from '../statements.js';

const Q = defineStatements({
  insertEvent: statement(
    'customer_events.insert',
    'INSERT INTO customer_events (customer_id, month, occurred_at, event_id, local_day, type, channel, store_id, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?',
  ),
  eventsBetween: statement(
    'customer_events.range',
    'SELECT event_id, local_day, body FROM customer_events WHERE customer_id = ? AND month = ? AND occurred_at >= ? AND occurred_at < ?',
  ),
  recentEvents: statement('customer_events.recent', 'SELECT body FROM customer_events WHERE customer_id = ? AND month = ? LIMIT ?'),
  upsertDaily: statement(
    'customer_daily.upsert',
    'INSERT INTO customer_daily (customer_id, day, dim, spend, purchases, visits, items, events, last_visit_at, last_purchase_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?',
  ),
  dailySince: statement(
    'customer_daily.since',
    'SELECT day, dim, spend, purchases, visits, items, events, last_visit_at, last_purchase_at FROM customer_daily WHERE customer_id = ? AND day >= ?',
  ),
  seen: statement('seen_events.get', 'SELECT customer_id FROM seen_events WHERE event_id = ?'),
  markSeen: statement('seen_events.insert', 'INSERT INTO seen_events (event_id, customer_id, accepted_at) VALUES (?, ?, ?) USING TTL ?'),
});

/** A customer's history: events as wide rows bucketed by local month, and daily rollups. */
export class ContextRepository {
  constructor(
    private readonly client: CqlClient,
    /** seconds an event and its rollups are kept */
    private readonly ttlSeconds: number,
    private readonly seenTtlSeconds: number,
  ) {}

  async insertEvent(event: AcceptedEvent, localDay: string): Promise<void> {
    await run(this.client, Q.insertEvent, [
      event.customerId,
      localDay.slice(0, 7),
      new Date(event.occurredAtMs),
      event.id,
      localDay,
      event.type,
      event.channel,
      event.storeId ?? null,
      JSON.stringify(event),
      this.ttlSeconds,
    ]);
  }

  /** Every stored event of one local day (the day's instants [startMs, endMs) lie in one month bucket). */
  async eventsOfDay(customerId: string, day: string, startMs: number, endMs: number): Promise<AcceptedEvent[]> {
    const result = await run(this.client, Q.eventsBetween, [customerId, day.slice(0, 7), new Date(startMs), new Date(endMs)], { fetchSize: 5_000 });
    return result.rows.filter((r) => r['local_day'] === day).map((r) => JSON.parse(r['body'] as string) as AcceptedEvent);
  }

  /** The newest events across the given month buckets (newest month first), at most `limit`. */
  async recentEvents(customerId: string, months: string[], limit: number): Promise<AcceptedEvent[]> {
    const out: AcceptedEvent[] = [];
    for (const month of months) {
      if (out.length >= limit) break;
      const rows = (await run(this.client, Q.recentEvents, [customerId, month, limit - out.length])).rows;
      for (const r of rows) out.push(JSON.parse(r['body'] as string) as AcceptedEvent);
    }
    return out;
  }

  async upsertDaily(customerId: string, rows: DailyRollup[]): Promise<void> {
    if (!rows.length) return;
    const queries = rows.map((r) => ({
      query: Q.upsertDaily.cql,
      params: [customerId, r.day, r.dim, r.spend, r.purchases, r.visits, r.items, r.events, toDate(r.lastVisitMs), toDate(r.lastPurchaseMs), this.ttlSeconds],
    }));
    // One partition: an unlogged batch is a single mutation, applied together.
    await this.client.batch(queries, { prepare: true, logged: false, isIdempotent: true });
  }

  async dailySince(customerId: string, fromDay: string): Promise<DailyRollup[]> {
    const result = await run(this.client, Q.dailySince, [customerId, fromDay], { fetchSize: 10_000 });
    return result.rows.map((r) => ({
      day: r['day'] as string,
      dim: r['dim'] as string,
      spend: (r['spend'] as number) ?? 0,
      purchases: (r['purchases'] as number) ?? 0,
      visits: (r['visits'] as number) ?? 0,
      items: (r['items'] as number) ?? 0,
      events: (r['events'] as number) ?? 0,
      ...(r['last_visit_at'] ? { lastVisitMs: (r['last_visit_at'] as Date).getTime() } : {}),
      ...(r['last_purchase_at'] ? { lastPurchaseMs: (r['last_purchase_at'] as Date).getTime() } : {}),
    }));
  }

  async wasSeen(eventId: string): Promise<boolean> {
    return (await run(this.client, Q.seen, [eventId])).rowLength > 0;
  }

  async markSeen(eventId: string, customerId: string, at: Date): Promise<void> {
    await run(this.client, Q.markSeen, [eventId, customerId, at, this.seenTtlSeconds]);
  }
}

const toDate = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));
