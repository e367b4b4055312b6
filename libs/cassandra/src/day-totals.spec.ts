import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rollupEvents, type DailyRollup } from '@nunchi/context-model';
import type { AcceptedEvent } from '@nunchi/contracts';
import { prng } from '@nunchi/testing';
import { DayTotalsFormatError, decodeDayTotals, encodeDayTotals } from './day-totals.js';

const TZ = 'Asia/Seoul';

function byDay(rows: readonly DailyRollup[]): Map<string, DailyRollup[]> {
  const days = new Map<string, DailyRollup[]>();
  for (const r of rows) {
    let list = days.get(r.day);
    if (list === undefined) days.set(r.day, (list = []));
    list.push(r);
  }
  return days;
}

/** Random events over two years, Korean and ASCII categories, stores, channels, every type that counts. */
function randomEvents(seed: number, n: number): AcceptedEvent[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const categories = ['beer', '분유', 'Beer: Cider', 'soju', '과일 & 채소', 'x'.repeat(40), '☕'];
  const start = Date.parse('2025-01-01T00:00:00+09:00');
  return Array.from({ length: n }, (_, k) => {
    const ms = start + Math.floor(rnd() * 730 * 86_400_000);
    const type = pick(['purchase', 'visit', 'product_view', 'cart', 'page_view'] as const);
    const storeId = rnd() < 0.6 ? pick(['bundang-01', 'gangnam-02', 's']) : undefined;
    const items = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => ({
      sku: 's',
      category: pick(categories),
      quantity: 1 + Math.floor(rnd() * 5),
      // a few prices in cents (a USD deployment): spend is then not a whole number
      unitPrice: rnd() < 0.1 ? Math.round(rnd() * 10_000) / 100 : 100 * Math.floor(rnd() * 2_000),
    }));
    return {
      id: `e-${k}`,
      type,
      channel: pick(['pos', 'app', 'web']),
      occurredAt: new Date(ms).toISOString(),
      occurredAtMs: ms,
      receivedAtMs: ms,
      customerId: 'c-1',
      ...(storeId ? { storeId } : {}),
      payload:
        type === 'purchase'
          ? { amount: items.reduce((s, l) => s + l.quantity * l.unitPrice, 0), currency: 'KRW', items }
          : { category: pick(categories) },
    };
  });
}

describe('customer_days totals (encodeDayTotals / decodeDayTotals)', () => {
  it('gives back exactly the rows of every day rollupEvents computes', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      for (const [day, rows] of byDay(rollupEvents(randomEvents(seed, 400), TZ))) {
        assert.deepEqual(decodeDayTotals(day, encodeDayTotals(day, rows)), rows, `seed ${seed} ${day}`);
      }
    }
  });

  it('keeps values the rollup does not usually make: fractions, negatives, huge counts, unknown dims', () => {
    const day = '2026-03-29'; // a day-light saving change elsewhere: times are relative to UTC midnight
    const rows: DailyRollup[] = [
      { day, dim: 'all', spend: 2 ** 53 - 1, purchases: 0, visits: 0, items: 0, events: 1 },
      { day, dim: 'category:', spend: -3.5, purchases: 1, visits: 0, items: 0.5, events: 1 },
      {
        day,
        dim: 'future:kind',
        spend: 0,
        purchases: 2 ** 40,
        visits: 1,
        items: 7,
        events: 9,
        lastVisitMs: Date.parse('2026-03-28T15:00:00Z'),
        lastPurchaseMs: Date.parse('2026-03-30T13:59:59.999Z'),
      },
      {
        day,
        dim: 'store:가게',
        spend: 1e-9,
        purchases: 1,
        visits: 1,
        items: 1,
        events: 1,
        lastPurchaseMs: 0,
      },
    ];
    assert.deepEqual(decodeDayTotals(day, encodeDayTotals(day, rows)), rows);
  });

  it('takes a few bytes per dim: a third of the same rows as JSON', () => {
    const days = byDay(rollupEvents(randomEvents(7, 300), TZ));
    let binary = 0;
    let json = 0;
    for (const [day, rows] of days) {
      binary += encodeDayTotals(day, rows).length;
      json += JSON.stringify(rows.map((r) => ({ ...r, day: undefined }))).length;
    }
    assert.ok(binary * 2.5 < json, `binary ${binary} B, JSON ${json} B`);
  });

  it('refuses a row of another day, an unknown version and truncated bytes', () => {
    const day = '2026-11-24';
    const row: DailyRollup = {
      day,
      dim: 'store:bundang-01',
      spend: 12_000,
      purchases: 1,
      visits: 1,
      items: 3,
      events: 1,
      lastVisitMs: Date.parse('2026-11-24T10:00:00+09:00'),
    };
    assert.throws(() => encodeDayTotals('2026-11-25', [row]), DayTotalsFormatError);
    const bytes = encodeDayTotals(day, [row]);
    assert.throws(
      () => decodeDayTotals(day, Buffer.from([2, ...bytes.subarray(1)])),
      /unknown format version 2/,
    );
    for (let cut = 2; cut < bytes.length; cut++)
      assert.throws(
        () => decodeDayTotals(day, bytes.subarray(0, cut)),
        DayTotalsFormatError,
        `cut at ${cut}`,
      );
    assert.deepEqual(decodeDayTotals(day, encodeDayTotals(day, [])), []);
  });
});
