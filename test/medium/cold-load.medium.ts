/**
 * A cold load's reads (ContextRepository.storedHistory) against the real Cassandra: whatever path it takes —
 * the month list read with the daily rows (migration 0017), the month index when the list is missing, one
 * read serving a bucket's recent and open-day events, or the exact read when the daily rows undercount — it
 * returns exactly the events a full scan of the history selects, and in the usual case two requests, one
 * after the other.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  connectCassandra,
  historyRepository,
  writeBatched,
  type ContextRepository,
  type CqlClient,
} from '@nunchi/cassandra';
import { loadConfig } from '@nunchi/config';
import { dayFromIndex, localDayRange, openFromAt, RECENT_MAX } from '@nunchi/context-model';
import type { AcceptedEvent } from '@nunchi/contracts';
import { countingClient } from '../support/counting-client.js';

const TZ = 'Asia/Seoul';
/** The load's instant: the open days are 2026-11-30 and 2026-12-01, across two month buckets. */
const NOW_MS = Date.parse('2026-12-01T10:00:00+09:00');

function purchase(customerId: string, id: string, ms: number): AcceptedEvent {
  return {
    id,
    type: 'purchase',
    channel: 'pos',
    occurredAt: new Date(ms).toISOString(),
    occurredAtMs: ms,
    receivedAtMs: ms,
    customerId,
    storeId: 'bundang-01',
    payload: {
      amount: 12_000,
      currency: 'KRW',
      items: [{ sku: 'a', category: 'beer', quantity: 1, unitPrice: 12_000 }],
    },
  };
}

/** `count` events every `stepHours` hours back from 2026-12-01 09:00 KST (newest first). */
function history(customerId: string, count: number, stepHours: number): AcceptedEvent[] {
  const newest = Date.parse('2026-12-01T09:00:00+09:00');
  return Array.from({ length: count }, (_, i) =>
    purchase(customerId, `${customerId}-${i}`, newest - i * stepHours * 3_600_000),
  );
}

/** What storedHistory must return, from the whole history: the open days' events and the newest RECENT_MAX. */
function expected(events: readonly AcceptedEvent[]): { open: string[]; recent: string[] } {
  const openFromMs = localDayRange(dayFromIndex(openFromAt({ nowMs: NOW_MS, timeZone: TZ })), TZ).startMs;
  const newestFirst = [...events].sort((a, b) => b.occurredAtMs - a.occurredAtMs);
  return {
    open: events
      .filter((e) => e.occurredAtMs >= openFromMs)
      .map((e) => e.id)
      .sort(),
    recent: newestFirst.slice(0, RECENT_MAX).map((e) => e.id),
  };
}

describe('a cold load reads what a full scan selects, in few requests', () => {
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const run = randomUUID().slice(0, 8);
  let client: CqlClient;
  let repo: ContextRepository;
  /** the requests sent since the last load */
  const sent: string[] = [];

  before(async () => {
    client = await connectCassandra(config.cassandra, { applicationName: 'nunchi-medium-test' });
    // Every request the repository sends (a page of runAll counts once, as the server sees it).
    const counted = countingClient(client, sent);
    repo = historyRepository(counted, { ...config.domain, eventTtlDays: 400 });
  });
  after(async () => {
    await client?.shutdown();
  });

  async function load(customerId: string) {
    sent.length = 0;
    const stored = await repo.storedHistory(customerId, { nowMs: NOW_MS, timeZone: TZ });
    return {
      stored,
      requests: sent.length,
      open: stored.openEvents.map((e) => e.id).sort(),
      recent: stored.recent.map((e) => e.id),
    };
  }

  it('a regular: the month list comes with the rows, then one read of the newest buckets serves recent and open events', async () => {
    const c = `${run}-regular`;
    const events = history(c, 60, 9); // 60 events over ~22 days: two month buckets, a dozen in the open days
    assert.deepEqual(await writeBatched(client, [repo.historyWrites(events, await repo.dataKey(c), TZ)]), []);
    const got = await load(c);
    assert.deepEqual({ open: got.open, recent: got.recent }, expected(events));
    assert.deepEqual(got.stored.months, ['2026-12', '2026-11']);
    assert.equal(got.stored.monthsListed, true);
    // The rows with the list, then one read of both month buckets (recent and open events).
    assert.equal(got.requests, 2, 'requests of one cold load');
  });

  it('without a month list (days from before migration 0017): the month index, same result', async () => {
    const c = `${run}-unlisted`;
    const events = history(c, 60, 9);
    assert.deepEqual(await writeBatched(client, [repo.historyWrites(events, await repo.dataKey(c), TZ)]), []);
    await client.execute('DELETE months FROM customer_days WHERE customer_id = ?', [c], { prepare: true });
    const got = await load(c);
    assert.deepEqual({ open: got.open, recent: got.recent }, expected(events));
    assert.deepEqual(got.stored.months, ['2026-12', '2026-11']);
    assert.equal(got.stored.monthsListed, false, 'the next write is to list every month');
    // Context's next fold of this customer writes the whole list (apply-event: listMonths), and it is complete.
    const next = purchase(c, `${c}-next`, NOW_MS - 60_000);
    await repo.writeFolded(next, '2026-12-01', [], 1, { indexMonth: false, listMonths: got.stored.months });
    const again = await load(c);
    assert.equal(again.stored.monthsListed, true);
    assert.deepEqual(again.stored.months, ['2026-12', '2026-11']);
  });

  it('daily rows that undercount the open days: the exact read, no open event missed', async () => {
    const c = `${run}-undercount`;
    const events = history(c, 40, 2); // 40 events over ~3 days, most of them open
    assert.deepEqual(await writeBatched(client, [repo.historyWrites(events, await repo.dataKey(c), TZ)]), []);
    // Events stored after their day's row was computed (as between a fold's write and a reader's).
    const extra = Array.from({ length: 5 }, (_, i) =>
      purchase(c, `${c}-extra-${i}`, NOW_MS - 1_800_000 - i * 60_000),
    );
    for (const e of extra) await repo.insertEvent(e, '2026-12-01');
    const got = await load(c);
    // (The recent events follow the rows' counts, as they always have: rows and events are written together.)
    assert.deepEqual(got.open, expected([...events, ...extra]).open);
  });

  it('a customer seen long ago: recent events from beyond the horizon, month by month', async () => {
    const c = `${run}-rare`;
    const old = [
      purchase(c, `${c}-a`, Date.parse('2025-09-03T12:00:00+09:00')),
      purchase(c, `${c}-b`, Date.parse('2025-07-14T12:00:00+09:00')),
    ];
    const recentOne = purchase(c, `${c}-c`, Date.parse('2026-11-30T12:00:00+09:00'));
    const events = [recentOne, ...old];
    assert.deepEqual(await writeBatched(client, [repo.historyWrites(events, await repo.dataKey(c), TZ)]), []);
    const got = await load(c);
    assert.deepEqual({ open: got.open, recent: got.recent }, expected(events));
    assert.deepEqual(got.stored.months, ['2026-11', '2025-09', '2025-07']);
  });

  it('a new customer: nothing, from the month index', async () => {
    const got = await load(`${run}-new`);
    assert.deepEqual([got.open, got.recent, got.stored.months, got.stored.rows], [[], [], [], []]);
  });
});
