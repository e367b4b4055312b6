/**
 * Daily rollups as one `customer_days` row per customer and day, against the real Cassandra: what the live
 * path writes reads back as the model's rows, and migration 0010 copies a deployment's older history from
 * `customer_daily` (the runner's data step) without overwriting a day the new code has already written.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  connectCassandra,
  dailyRowsTimestamp,
  encodeDayTotals,
  historyRepository,
  writeBatched,
  type ContextRepository,
  type CqlClient,
} from '@nunchi/cassandra';
import { loadConfig } from '@nunchi/config';
import { rollupEvents, type DailyRollup } from '@nunchi/context-model';
import type { AcceptedEvent } from '@nunchi/contracts';
import { keyspaceBefore } from '../support/partial-keyspace.js';

const TZ = 'Asia/Seoul';

function purchase(
  customerId: string,
  id: string,
  at: string,
  category: string,
  storeId?: string,
): AcceptedEvent {
  const ms = Date.parse(at);
  return {
    id,
    type: 'purchase',
    channel: storeId ? 'pos' : 'app',
    occurredAt: at,
    occurredAtMs: ms,
    receivedAtMs: ms,
    customerId,
    ...(storeId ? { storeId } : {}),
    payload: {
      amount: 33_500,
      currency: 'KRW',
      items: [
        { sku: 'a', category, quantity: 2, unitPrice: 12_000 },
        { sku: 'b', category: 'beer', quantity: 3, unitPrice: 3_166.67 },
      ],
    },
  };
}

describe('customer_days: one row per customer and day', () => {
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const run = randomUUID().slice(0, 8);
  let client: CqlClient;
  let repo: ContextRepository;

  before(async () => {
    client = await connectCassandra(config.cassandra, { applicationName: 'nunchi-medium-test' });
    repo = historyRepository(client, { ...config.domain, eventTtlDays: 400 });
  });
  after(async () => {
    await client?.shutdown();
  });

  it('reads back, newest day first, exactly the rows rollupEvents computes for the history written', async () => {
    const c = `${run}-live`;
    const events = [
      purchase(c, `${run}-1`, '2026-11-24T19:05:00+09:00', '분유', 'bundang-01'),
      purchase(c, `${run}-2`, '2026-11-24T20:00:00+09:00', 'infant_formula', 'bundang-01'),
      purchase(c, `${run}-3`, '2026-11-20T09:00:00+09:00', 'Beer: Cider'),
      purchase(c, `${run}-4`, '2026-10-02T23:59:59+09:00', 'snacks', 'gangnam-02'),
    ];
    assert.deepEqual(await writeBatched(client, [repo.historyWrites(events, await repo.dataKey(c), TZ)]), []);
    const rows = await repo.dailySince(c, '2026-01-01');
    assert.deepEqual(rows, rollupEvents(events, TZ));
    assert.deepEqual(
      (
        await client.execute('SELECT day FROM customer_days WHERE customer_id = ?', [c], { prepare: true })
      ).rows.map((r) => r['day'] as string),
      ['2026-11-24', '2026-11-20', '2026-10-02'],
      'one row per day',
    );
    assert.deepEqual(
      (await repo.dailySince(c, '2026-11-21')).map((r) => r.day),
      rows.filter((r) => r.day >= '2026-11-21').map((r) => r.day),
    );
  });

  it('a day written from more events wins over one written from fewer, whatever the order', async () => {
    const c = `${run}-fence`;
    const day = '2026-11-24';
    const first = purchase(c, `${run}-f1`, `${day}T10:00:00+09:00`, 'beer', 'bundang-01');
    const second = purchase(c, `${run}-f2`, `${day}T11:00:00+09:00`, 'soju', 'bundang-01');
    const both = rollupEvents([first, second], TZ);
    await repo.upsertDay(c, day, both, 2);
    await repo.upsertDay(c, day, rollupEvents([first], TZ), 1); // a stalled former owner, landing late
    assert.deepEqual(await repo.dailySince(c, day), both);
  });

  describe('migration 0010 copies customer_daily (a keyspace of its own, migrated in two steps)', () => {
    const partial = keyspaceBefore(config.cassandra, /^\d{4}_customer_days\.cql$/, 'm');
    let ks: CqlClient;

    before(async () => {
      ks = await partial.open();
    });
    after(() => partial.close());

    /** The rows the code before 0010 wrote: one per day and dim, at the day's timestamp, with a TTL. */
    async function writeLegacy(
      customerId: string,
      rows: readonly DailyRollup[],
      eventsOfDay: (day: string) => number,
    ) {
      for (const r of rows) {
        await ks.execute(
          'INSERT INTO customer_daily (customer_id, day, dim, spend, purchases, visits, items, events, last_visit_at, last_purchase_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?',
          [
            customerId,
            r.day,
            r.dim,
            r.spend,
            r.purchases,
            r.visits,
            r.items,
            r.events,
            r.lastVisitMs === undefined ? null : new Date(r.lastVisitMs),
            r.lastPurchaseMs === undefined ? null : new Date(r.lastPurchaseMs),
            86_400 * 30,
            dailyRowsTimestamp(r.day, eventsOfDay(r.day)),
          ],
          { prepare: true },
        );
      }
    }

    it('copies every day once, keeps its TTL, and leaves a day already written from more events', async () => {
      const old = `${run}-old`;
      const oldEvents = Array.from({ length: 30 }, (_, k) =>
        purchase(
          old,
          `${run}-o${k}`,
          new Date(Date.parse('2026-09-01T12:00:00+09:00') + k * 43_200_000).toISOString(),
          k % 3 ? '과일' : 'tofu',
          k % 2 ? 'bundang-01' : undefined,
        ),
      );
      const oldRows = rollupEvents(oldEvents, TZ);
      const perDay = (day: string) => oldRows.find((r) => r.day === day && r.dim === 'all')!.events;
      await writeLegacy(old, oldRows, perDay);

      // Another customer whose latest day the new code wrote already, from one more event than the old rows.
      const mixed = `${run}-mixed`;
      const day = '2026-11-24';
      const early = purchase(mixed, `${run}-m1`, `${day}T10:00:00+09:00`, 'beer', 'bundang-01');
      const later = purchase(mixed, `${run}-m2`, `${day}T21:00:00+09:00`, 'wine', 'bundang-01');
      const older = purchase(mixed, `${run}-m3`, '2026-11-01T10:00:00+09:00', 'eggs');
      await writeLegacy(mixed, rollupEvents([early, older], TZ), () => 1);
      const newer = rollupEvents([early, later], TZ);

      const lines: string[] = [];
      const ksRepo = historyRepository(ks, { ...config.domain, eventTtlDays: 400 });
      // The table exists only once the file is applied: create it first (the file's own statement) to write
      // the newer day, as a context replica of the new version would during the copy.
      await partial.statements();
      // (in clear, as the code of that version wrote it: sealed rows came with migration 0020's keys)
      await ks.execute(
        'INSERT INTO customer_days (customer_id, day, totals) VALUES (?, ?, ?) USING TTL ? AND TIMESTAMP ?',
        [mixed, day, encodeDayTotals(day, newer), 86_400 * 400, dailyRowsTimestamp(day, 2)],
        { prepare: true },
      );
      const report = await partial.migrate((line) => lines.push(line));
      assert.deepEqual(report.applied, [partial.name]);
      const copiedDays = new Set(oldRows.map((r) => r.day)).size + 2;
      assert.ok(
        lines.some((l) => l.includes(`copied ${copiedDays} days of 2 customers`)),
        `the runner says what it copied: ${lines.join(' | ')}`,
      );

      assert.deepEqual(await ksRepo.dailySince(old, '2026-01-01'), oldRows);
      assert.deepEqual(await ksRepo.dailySince(mixed, '2026-01-01'), [
        ...newer,
        ...rollupEvents([older], TZ),
      ]);
      const ttls = (
        await ks.execute('SELECT TTL(totals) AS ttl FROM customer_days WHERE customer_id = ?', [old], {
          prepare: true,
        })
      ).rows.map((r) => r['ttl'] as number);
      assert.ok(
        ttls.every((t) => t > 0 && t <= 86_400 * 30),
        `the copies expire when the rows they copy would: ${ttls.join(', ')}`,
      );

      // Applied once: a second run copies nothing more and says so.
      assert.deepEqual((await partial.migrate()).applied, []);
    });
  });
});
