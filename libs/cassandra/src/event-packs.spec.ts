import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcceptedEvent } from '@nunchi/contracts';
import {
  daysOfWeek,
  decodePackEvents,
  encodePackEvents,
  packedDaysByWeek,
  PACK_FORMAT_RECORDS,
  planPeriodRead,
  weekOf,
  weeksBetween,
  type StoredPack,
} from './event-packs.js';
import { dailyRowsTimestamp, eventCountOfDayTimestamp } from './repositories/context.repository.js';

describe('packed weeks', () => {
  it('weekOf: the Monday of the week, across months and years', () => {
    assert.equal(weekOf('2026-12-07'), '2026-12-07'); // a Monday
    assert.equal(weekOf('2026-12-13'), '2026-12-07'); // its Sunday
    assert.equal(weekOf('2026-12-14'), '2026-12-14');
    assert.equal(weekOf('2026-12-01'), '2026-11-30');
    assert.equal(weekOf('2027-01-01'), '2026-12-28');
    assert.equal(weekOf('1970-01-01'), '1969-12-29');
  });

  it('daysOfWeek: Monday to Sunday', () => {
    assert.deepEqual(daysOfWeek('2026-12-28'), [
      '2026-12-28',
      '2026-12-29',
      '2026-12-30',
      '2026-12-31',
      '2027-01-01',
      '2027-01-02',
      '2027-01-03',
    ]);
  });

  it('weeksBetween: every Monday from the first day’s week to the last day’s', () => {
    assert.deepEqual(weeksBetween('2026-11-25', '2026-12-07'), ['2026-11-23', '2026-11-30', '2026-12-07']);
    assert.deepEqual(weeksBetween('2026-12-08', '2026-12-09'), ['2026-12-07']);
  });

  it("eventCountOfDayTimestamp reads back the count dailyRowsTimestamp put in a day's timestamp", () => {
    for (const [count, generation] of [
      [1, 0],
      [37, 0],
      [5, 3],
      [999_999, 1],
    ])
      assert.equal(eventCountOfDayTimestamp(dailyRowsTimestamp('2026-12-03', count, generation)), count);
  });

  it("packedDaysByWeek: each week's days with rows, with their timestamps, ascending", () => {
    const written = new Map([
      ['2026-12-09', 30],
      ['2026-12-07', 10],
      ['2026-12-14', 99], // the next week
      ['2026-12-06', 98], // the week before
    ]);
    assert.deepEqual(
      packedDaysByWeek(written),
      new Map([
        ['2026-11-30', '2026-12-06=98'],
        ['2026-12-07', '2026-12-07=10,2026-12-09=30'],
        ['2026-12-14', '2026-12-14=99'],
      ]),
    );
    assert.deepEqual(packedDaysByWeek(new Map()), new Map());
  });

  describe('the events of a pack (encodePackEvents, decodePackEvents)', () => {
    const events: AcceptedEvent[] = [
      {
        id: 'pos-7781-0001',
        type: 'purchase',
        channel: 'pos',
        occurredAt: '2026-12-03T19:42:10.120+09:00',
        occurredAtMs: 1_796_294_530_120,
        receivedAtMs: 1_796_294_530_388,
        customerId: 'c-1',
        storeId: 'bundang-03',
        storeName: '분당 정자점',
        payload: {
          amount: 104_500.5,
          currency: 'KRW',
          items: [
            {
              sku: 'formula-800',
              name: '앱솔루트 명작 분유 800g',
              category: 'infant_formula',
              quantity: 2,
              unitPrice: 38_900,
            },
            {
              sku: 'beer-6',
              name: '카스 6캔',
              category: 'beer',
              quantity: 1,
              unitPrice: 26_700,
              discount: null,
            },
          ],
          coupon: '',
          member: true,
          tags: [],
        },
      },
      {
        id: 'web-1',
        type: 'product_view',
        channel: 'web',
        occurredAt: '2026-12-04T01:00:00Z',
        occurredAtMs: 1_796_346_000_000,
        receivedAtMs: 1_796_346_000_000,
        customerId: 'c-1',
        sessionId: 's-9',
        payload: { sku: 'ele-205', category: 'electronics', price: -0.25, score: 2 ** 53 - 1 },
        forwardedFrom: 'c-0',
      },
    ];

    it('decode gives back the events as JSON would: the same values, keys in the same order', () => {
      const encoded = encodePackEvents(events);
      assert.equal(encoded[0], PACK_FORMAT_RECORDS);
      const decoded = decodePackEvents(encoded);
      assert.equal(JSON.stringify(decoded), JSON.stringify(events));
      assert.deepEqual(decoded, events);
      assert.deepEqual(decodePackEvents(encodePackEvents([])), []);
    });

    it("each object shape's keys once a pack: smaller than the JSON of a week of like events", () => {
      const week = Array.from({ length: 20 }, (_, i) => ({ ...events[0], id: `pos-${i}` }));
      assert.ok(encodePackEvents(week).length < 0.6 * Buffer.byteLength(JSON.stringify(week)));
    });

    it('a pack written as JSON (before the records format) still opens', () => {
      assert.deepEqual(decodePackEvents(Buffer.from(JSON.stringify(events), 'utf8')), events);
    });

    it('bytes in another format are an error that says so', () => {
      assert.throws(() => decodePackEvents(Buffer.from([0x7b, 0x7d])), /unknown format \(first byte 0x7b\)/);
      assert.throws(() => decodePackEvents(Buffer.alloc(0)), /unknown format/);
    });
  });

  describe('planPeriodRead', () => {
    const written = new Map([
      ['2026-11-24', 1], // week of 11-23
      ['2026-12-01', 2], // week of 11-30
      ['2026-12-03', 3],
      ['2026-12-08', 4], // week of 12-07 (the current one: never packed)
    ]);
    const pack = (week: string, days = packedDaysByWeek(written).get(week) ?? ''): StoredPack<string> => ({
      week,
      days,
      events: `events of ${week}`,
    });

    it('uses the current packs and reads rows from the first day of a week without one', () => {
      const plan = planPeriodRead(
        written,
        [pack('2026-11-23'), pack('2026-11-30')],
        '2026-11-20',
        '2026-12-09',
      );
      assert.deepEqual(
        plan.packs.map((p) => p.week),
        ['2026-11-23', '2026-11-30'],
      );
      assert.deepEqual([...plan.packedWeeks], ['2026-11-23', '2026-11-30']);
      assert.equal(plan.rowsFrom, '2026-12-08');
    });

    it('a pack whose days are no longer those of now (a late event, a merge, an unlink) is not used', () => {
      const stale = pack('2026-11-30', '2026-12-01=2');
      const plan = planPeriodRead(written, [pack('2026-11-23'), stale], '2026-11-20', '2026-12-07');
      assert.deepEqual([...plan.packedWeeks], ['2026-11-23']);
      assert.equal(plan.rowsFrom, '2026-12-01');
      const older = planPeriodRead(
        written,
        [pack('2026-11-30', '2026-12-01=2,2026-12-03=2')],
        '2026-11-20',
        '2026-12-07',
      );
      assert.deepEqual(older.packs, []);
      assert.equal(older.rowsFrom, '2026-11-24');
    });

    it('every day with events packed: no rows to read', () => {
      const plan = planPeriodRead(
        written,
        [pack('2026-11-23'), pack('2026-11-30')],
        '2026-11-20',
        '2026-12-06',
      );
      assert.equal(plan.rowsFrom, undefined);
      assert.equal(plan.packs.length, 2);
    });

    it('a customer without day rows in the period is read row by row from its first day, packs or not', () => {
      const plan = planPeriodRead(
        new Map(),
        [pack('2026-11-23', '2026-11-24=1')],
        '2026-11-20',
        '2026-12-06',
      );
      assert.deepEqual(plan, { packs: [], packedWeeks: new Set(), rowsFrom: '2026-11-20' });
    });
  });
});
