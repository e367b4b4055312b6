import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import type { ContextSnapshot, RecentEvent } from '@nunchi/contracts';
import { rollupEvents, type DailyRollup } from './daily-rollup.js';
import { addDays } from './day-index.js';
import { event, purchase } from './fixtures.js';
import { toRecentEvent } from './recent.js';
import { buildSnapshot, emptySnapshot, withOnlyPartsRead, type SnapshotInput } from './snapshot.js';
import { emptyWindows } from './windows.js';

const TZ = 'Asia/Seoul';
const TODAY = '2026-11-24';
const NOW = Date.parse('2026-11-24T19:05:00+09:00');

function row(daysAgo: number, dim: string, spend = 1000, extra: Partial<DailyRollup> = {}): DailyRollup {
  return {
    day: addDays(TODAY, -daysAgo),
    dim,
    spend,
    purchases: spend > 0 ? 1 : 0,
    visits: 1,
    items: 1,
    events: 1,
    ...extra,
  };
}

function snap(rows: DailyRollup[], extra: Partial<SnapshotInput> = {}) {
  return buildSnapshot({ customerId: 'c-000042', rows, recent: [], nowMs: NOW, timeZone: TZ, ...extra });
}

void test('window boundaries: d7 holds today and the 6 days before; d365 holds 364 days back, not 365', () => {
  const ages = [0, 6, 7, 29, 30, 89, 90, 364, 365, -1];
  // each row spends a distinct power of ten, so every sum shows exactly which rows it took
  const rows = ages.map((a, i) => row(a, 'all', 10 ** i));
  const s = snap(rows);
  const sum = (included: number[]) => included.reduce((t, a) => t + 10 ** ages.indexOf(a), 0);
  assert.equal(s.all.d7.spend, sum([0, 6]));
  assert.equal(s.all.d30.spend, sum([0, 6, 7, 29]));
  assert.equal(s.all.d90.spend, sum([0, 6, 7, 29, 30, 89]));
  assert.equal(s.all.d365.spend, sum([0, 6, 7, 29, 30, 89, 90, 364]), 'day −365 and tomorrow are ignored');
  assert.equal(s.all.d365.purchases, 8);
  assert.equal(s.daysSinceLastPurchase, 0, 'tomorrow’s row does not make it -1 or negative');
});

void test('today is the local day of now: just after midnight in Seoul is already the next day', () => {
  const rows = [row(0, 'all'), { ...row(0, 'all'), day: '2026-11-25' }];
  const before = snap(rows, { nowMs: Date.parse('2026-11-24T14:59:59Z') }); // 23:59:59 on the 24th
  assert.equal(before.all.d7.spend, 1000);
  assert.equal(before.daysSinceLastPurchase, 0);
  const after = snap(rows, { nowMs: Date.parse('2026-11-24T15:30:00Z') }); // 00:30 on the 25th
  assert.equal(after.all.d7.spend, 2000);
  assert.equal(after.asOf, '2026-11-24T15:30:00.000Z');
  assert.equal(snap(rows, { nowMs: Date.parse('2026-11-24T15:30:00Z'), timeZone: 'UTC' }).all.d7.spend, 1000);
});

void test('per store, category and channel windows; thisStore; recencies', () => {
  const rows = [
    row(0, 'all', 5000, { visits: 0 }),
    row(0, 'channel:web', 5000, { visits: 0 }),
    row(0, 'category:beer', 3000, { visits: 0 }),
    row(10, 'all', 7000),
    row(10, 'store:bundang-01', 7000),
    row(10, 'channel:pos', 7000),
    row(10, 'category:beer', 7000),
    row(40, 'all', 0, { purchases: 0, spend: 0 }),
    row(40, 'store:pangyo-01', 0, { purchases: 0 }),
    row(40, 'bogus-dim', 99),
    row(40, 'sku:123', 99),
  ];
  const s = snap(rows, { currentStoreId: 'bundang-01' });
  assert.deepEqual(Object.keys(s.store), ['bundang-01', 'pangyo-01']);
  assert.deepEqual(Object.keys(s.category), ['beer']);
  assert.deepEqual(Object.keys(s.channel), ['pos', 'web']);
  assert.deepEqual(s.category['beer'].d7, { spend: 3000, purchases: 1, visits: 0, items: 1, events: 1 });
  assert.deepEqual(s.category['beer'].d30, { spend: 10_000, purchases: 2, visits: 1, items: 2, events: 2 });
  assert.deepEqual(s.thisStore, s.store['bundang-01']);
  assert.equal(s.thisStore.d30.spend, 7000);
  assert.equal(s.thisStore.d7.spend, 0);
  assert.equal(s.store['pangyo-01'].d90.visits, 1);
  assert.equal(s.daysSinceLastVisit, 10, 'today had no store visit');
  assert.equal(s.daysSinceLastPurchase, 0);
  assert.deepEqual(snap(rows, { currentStoreId: 'elsewhere' }).thisStore, emptyWindows());
  assert.deepEqual(snap(rows).thisStore, emptyWindows());
  assert.equal(snap([row(400, 'all')]).daysSinceLastVisit, -1, 'nothing within 365 days');
});

void test('favourite store and category by 365-day spend; ties go to the name first in order; "" when nothing spent', () => {
  const s = snap([
    row(1, 'store:pangyo-01', 50_000),
    row(2, 'store:bundang-02', 30_000),
    row(3, 'store:bundang-02', 20_000),
    row(3, 'store:apgujeong', 10_000),
    row(400, 'store:zzz', 1e9),
    row(1, 'category:soju', 8000),
    row(1, 'category:beer', 8000),
    row(1, 'category:wine', 7999),
  ]);
  assert.equal(s.favouriteStore, 'bundang-02', 'tie at 50,000 with pangyo-01, bundang-02 sorts first');
  assert.equal(s.favouriteCategory, 'beer');
  const none = snap([row(1, 'store:bundang-01', 0, { purchases: 0 })]);
  assert.equal(none.favouriteStore, '');
  assert.equal(none.favouriteCategory, '');
});

void test('RFM comes from the all rows with the given thresholds', () => {
  const weekly = Array.from({ length: 52 }, (_, i) => row(i * 7, 'all', 100_000));
  assert.deepEqual(snap(weekly).rfm, { r: 5, f: 5, m: 5 });
  assert.deepEqual(snap([row(100, 'all', 150_000)]).rfm, { r: 2, f: 1, m: 1 });
  assert.deepEqual(snap([row(3, 'all', 0, { purchases: 0 })]).rfm, { r: 0, f: 0, m: 0 }, 'visits only');
  const strict = {
    recencyDays: [0, 1, 2, 3],
    frequency: [1000, 999, 998, 997],
    monetary: [1e12, 1e11, 1e10, 1e9],
  } as const;
  assert.deepEqual(snap(weekly, { rfmThresholds: strict }).rfm, { r: 5, f: 1, m: 1 });
});

void test('recent: newest first, deduplicated, at most 20', () => {
  const events = Array.from({ length: 30 }, (_, i) =>
    toRecentEvent(
      event({ id: `e${String(i).padStart(2, '0')}`, at: new Date(NOW - i * 60_000).toISOString() }),
    ),
  );
  const shuffled: RecentEvent[] = [...events.slice(15), ...events.slice(0, 15), events[3]];
  const s = snap([], { recent: shuffled });
  assert.equal(s.recent.length, 20);
  assert.deepEqual(
    s.recent.map((r) => r.id),
    events.slice(0, 20).map((r) => r.id),
  );
});

void test('no history gives the empty snapshot', () => {
  assert.deepEqual(snap([]), emptySnapshot('c-000042', NOW));
  assert.deepEqual(emptySnapshot('c-1', NOW).asOf, '2026-11-24T10:05:00.000Z');
});

void test('rows in any order give the same snapshot; names like __proto__ are plain keys', () => {
  const rows = rollupEvents(
    [
      purchase({
        id: 'p1',
        at: '2026-11-24T10:00:00+09:00',
        storeId: 'bundang-01',
        lines: [
          ['__proto__', 1, 100],
          ['beer', 2, 50],
        ],
      }),
      purchase({
        id: 'p2',
        at: '2026-11-20T10:00:00+09:00',
        storeId: 'pangyo-01',
        channel: 'kiosk',
        lines: [['constructor', 1, 1]],
      }),
      event({ id: 'v', at: '2026-11-01T10:00:00+09:00', storeId: 'bundang-01' }),
    ],
    TZ,
  );
  const s = snap(rows);
  assert.deepEqual(snap([...rows].reverse()), s);
  assert.deepEqual(Object.keys(s.category), ['__proto__', 'beer', 'constructor']);
  assert.equal(Object.getPrototypeOf(s.category), Object.prototype);
  assert.equal(s.category['__proto__'].d7.spend, 100);
  assert.equal(s.favouriteCategory, '__proto__');
  assert.equal((JSON.parse(JSON.stringify(s)) as ContextSnapshot).category['__proto__'].d7.spend, 100);
});

void describe('withOnlyPartsRead (the snapshot as ENRICHED carries it)', () => {
  void it('empties and lists the parts nobody reads, keeps the rest as they are', () => {
    const full: ContextSnapshot = {
      ...emptySnapshot('c-1', Date.parse('2026-11-24T10:00:00Z')),
      category: { beer: emptyWindows() },
      store: { s1: emptyWindows() },
      recent: [{ id: 'e1', type: 'purchase', channel: 'pos', occurredAt: '2026-11-24T19:00:00+09:00' }],
    };
    const carried = withOnlyPartsRead(full, new Set(['category']));
    assert.deepEqual(carried.omitted, ['store', 'channel', 'recent', 'responses']);
    assert.deepEqual(carried.category, full.category);
    assert.deepEqual([carried.store, carried.recent, carried.responses], [{}, [], {}]);
    assert.deepEqual(carried.all, full.all);
    assert.equal(
      withOnlyPartsRead(full, new Set(['store', 'category', 'channel', 'recent', 'responses'])),
      full,
      'everything read: the snapshot itself, no `omitted`',
    );
  });

  void it('keeps of a map read only by names just those entries, and lists the names', () => {
    const full: ContextSnapshot = {
      ...emptySnapshot('c-1', Date.parse('2026-11-24T10:00:00Z')),
      category: { beer: emptyWindows(), wine: emptyWindows(), __proto__x: emptyWindows() },
      store: { s1: emptyWindows(), s2: emptyWindows() },
    };
    Object.defineProperty(full.category, '__proto__', { value: emptyWindows(), enumerable: true });
    const carried = withOnlyPartsRead(
      full,
      new Set(['category', 'store']),
      new Map([['category', new Set(['beer', 'cheese', '__proto__'])]]),
    );
    assert.deepEqual(
      Object.keys(carried.category).sort(),
      ['__proto__', 'beer'],
      'cheese: the customer has none',
    );
    assert.equal(Object.getPrototypeOf(carried.category), Object.prototype);
    assert.deepEqual(carried.carriedKeys, { category: ['beer', 'cheese', '__proto__'] });
    assert.deepEqual(carried.store, full.store, 'a map read whole stays whole');
    assert.deepEqual(carried.omitted, ['channel', 'recent', 'responses']);
    assert.equal(
      withOnlyPartsRead(full, new Set(['store']), new Map([['category', new Set(['beer'])]])).carriedKeys,
      undefined,
      'names of a map not carried at all are not listed',
    );
  });
});
