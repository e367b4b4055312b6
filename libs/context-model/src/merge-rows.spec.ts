import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareRows, rollupDay, rollupEvents, type DailyRollup } from './daily-rollup.js';
import { event, purchase } from './fixtures.js';
import { dayFromIndex, dayIndex } from './day-index.js';
import { mergeRows, pruneRows, replaceDayAndPrune } from './merge-rows.js';

const TZ = 'Asia/Seoul';

const history = [
  purchase({ id: 'p1', at: '2026-11-01T11:00:00+09:00', storeId: 'bundang-01', lines: [['beer', 6, 2500]] }),
  event({ id: 'v2', at: '2026-11-10T11:00:00+09:00', storeId: 'pangyo-01' }),
  purchase({
    id: 'p3',
    at: '2026-11-24T19:05:00+09:00',
    storeId: 'bundang-01',
    lines: [['infant_formula', 2, 32_000]],
  }),
];

void test('a late event on an old day only changes that day’s rows', () => {
  const before = rollupEvents(history, TZ);
  const late = purchase({
    id: 'late',
    at: '2026-11-10T12:00:00+09:00',
    storeId: 'pangyo-01',
    channel: 'kiosk',
    lines: [['milk', 2, 2000]],
  });
  // the context service re-reads the day's events and recomputes all of that day's rows
  const day = '2026-11-10';
  const after = mergeRows(before, rollupDay([...history, late], day, TZ));

  assert.deepEqual(after, rollupEvents([...history, late], TZ), 'same as recomputing everything');
  const untouched = (rows: DailyRollup[]) => rows.filter((r) => r.day !== day);
  assert.deepEqual(untouched(after), untouched(before));
  for (const r of untouched(after)) assert.ok(before.includes(r), 'other days keep their very row objects');
  const changed = after.filter((r) => r.day === day).map((r) => r.dim);
  assert.deepEqual(changed, ['all', 'category:milk', 'channel:kiosk', 'channel:pos', 'store:pangyo-01']);
});

void test('a replacement drops dims the day no longer touches; order is day desc, dim asc', () => {
  const existing: DailyRollup[] = [
    { day: '2026-11-24', dim: 'all', spend: 1, purchases: 1, visits: 0, items: 1, events: 1 },
    { day: '2026-11-24', dim: 'category:stale', spend: 1, purchases: 1, visits: 0, items: 1, events: 1 },
    { day: '2026-11-20', dim: 'all', spend: 5, purchases: 1, visits: 0, items: 1, events: 1 },
  ];
  const replacement: DailyRollup[] = [
    { day: '2026-11-24', dim: 'channel:web', spend: 0, purchases: 0, visits: 0, items: 0, events: 2 },
    { day: '2026-11-24', dim: 'all', spend: 0, purchases: 0, visits: 0, items: 0, events: 2 },
  ];
  const merged = mergeRows(existing, replacement);
  assert.deepEqual(
    merged.map((r) => `${r.day} ${r.dim}`),
    ['2026-11-24 all', '2026-11-24 channel:web', '2026-11-20 all'],
  );
  assert.equal(existing.length, 3, 'inputs untouched');
  assert.deepEqual(mergeRows(existing, []), existing);
  const fresh = mergeRows([], replacement);
  assert.deepEqual(fresh, [...replacement].sort(compareRows));
});

void test('pruneRows keeps the 365 days ending today and anything later', () => {
  const row = (day: string): DailyRollup => ({
    day,
    dim: 'all',
    spend: 0,
    purchases: 0,
    visits: 0,
    items: 0,
    events: 1,
  });
  const rows = [row('2026-11-25'), row('2026-11-24'), row('2025-11-25'), row('2025-11-24'), row('garbage')];
  assert.deepEqual(
    pruneRows(rows, '2026-11-24').map((r) => r.day),
    ['2026-11-25', '2026-11-24', '2025-11-25'],
  );
  assert.deepEqual(
    pruneRows(rows, '2026-11-24', 1).map((r) => r.day),
    ['2026-11-25', '2026-11-24'],
  );
});

void test('mergeRows gives the sorted result whether or not the existing rows were in order', () => {
  const row = (day: string, dim: string): DailyRollup => ({
    day,
    dim,
    spend: 0,
    purchases: 0,
    visits: 0,
    items: 0,
    events: 1,
  });
  const sorted = [
    row('2026-11-25', 'all'),
    row('2026-11-24', 'all'),
    row('2026-11-24', 'store:a'),
    row('2026-11-20', 'all'),
  ];
  const replacement = [row('2026-11-24', 'store:b'), row('2026-11-24', 'all')];
  const expected = ['2026-11-25 all', '2026-11-24 all', '2026-11-24 store:b', '2026-11-20 all'];
  const keys = (rows: DailyRollup[]) => rows.map((r) => `${r.day} ${r.dim}`);
  assert.deepEqual(keys(mergeRows(sorted, replacement)), expected);
  assert.deepEqual(
    keys(mergeRows([...sorted].reverse(), replacement)),
    expected,
    'unordered input is sorted',
  );
  assert.deepEqual(
    keys(mergeRows(sorted, [row('2026-11-30', 'all')]))[0],
    '2026-11-30 all',
    'a new newest day',
  );
  assert.deepEqual(
    keys(mergeRows(sorted, [row('2026-01-01', 'all')])).at(-1),
    '2026-01-01 all',
    'a new oldest day',
  );
  // pruneRows keeps the order it is given, in order or not
  assert.deepEqual(
    pruneRows([...sorted].reverse(), '2026-11-25', 2).map((r) => r.day),
    ['2026-11-24', '2026-11-24', '2026-11-25'],
  );
  assert.deepEqual(
    pruneRows(sorted, '2026-11-25', 2).map((r) => r.day),
    ['2026-11-25', '2026-11-24', '2026-11-24'],
  );
});

void test('replaceDayAndPrune gives what pruneRows(mergeRows(…)) gives, in order or not, pruned or not', () => {
  let seed = 11;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const dayOf = (n: number) => dayFromIndex(dayIndex('2026-11-24') - n);
  const row = (day: string, dim: string): DailyRollup => ({
    day,
    dim,
    spend: 1,
    purchases: 1,
    visits: 0,
    items: 1,
    events: 1,
  });
  for (let run = 0; run < 1_000; run++) {
    const days = [
      ...new Set(Array.from({ length: Math.floor(random() * 12) }, () => Math.floor(random() * 400))),
    ];
    let rows = days.flatMap((d) =>
      ['all', 'channel:pos', 'store:s1']
        .slice(0, 1 + Math.floor(random() * 3))
        .map((dim) => row(dayOf(d), dim)),
    );
    rows = random() < 0.8 ? mergeRows([], rows) : rows.reverse();
    const replaced = dayOf(Math.floor(random() * 10));
    const replacement = ['all', 'category:beer']
      .slice(0, Math.floor(random() * 3))
      .map((dim) => row(replaced, dim));
    const today = dayOf(-Math.floor(random() * 3));
    const once = replaceDayAndPrune(rows, replacement, today);
    assert.deepEqual(once, pruneRows(mergeRows(rows, replacement), today));
    // Again on its own result (trusted to be in order: only the rows down to the replaced day are read).
    const again = dayOf(Math.floor(random() * 10));
    const more = [row(again, 'all'), row(again, 'store:s2')];
    const later = dayOf(-Math.floor(random() * 3));
    assert.deepEqual(replaceDayAndPrune(once, more, later), pruneRows(mergeRows([...once], more), later));
  }
});
