import assert from 'node:assert/strict';
import { test } from 'node:test';
import { categoryDim, parseDim, storeDim } from './dims.js';
import { addDays } from './day-index.js';
import { buildSnapshot } from './snapshot.js';

void test('category names with spaces, punctuation, ":" and Korean survive a dim round trip', () => {
  for (const name of ['Frozen foods', 'Beer & Cider', 'Beer: Cider', '분유', '맥주 / 수입', ':x:']) {
    assert.deepEqual(parseDim(categoryDim(name)), { kind: 'category', name });
  }
  assert.deepEqual(parseDim(storeDim('bundang-01')), { kind: 'store', name: 'bundang-01' });
  assert.equal(parseDim('category:'), undefined, 'an empty name is no dim');
  assert.equal(parseDim('brand:x'), undefined, 'an unknown kind is ignored');
});

void test('a snapshot keys ctx.category by the full name, colon and all', () => {
  const today = '2026-11-24';
  const row = (dim: string, spend: number) => ({
    day: addDays(today, -1),
    dim,
    spend,
    purchases: 1,
    visits: 0,
    items: 1,
    events: 1,
  });
  const s = buildSnapshot({
    customerId: 'c-000042',
    rows: [row('all', 30_000), row(categoryDim('Beer: Cider'), 10_000), row(categoryDim('분유'), 20_000)],
    recent: [],
    nowMs: Date.parse('2026-11-24T19:05:00+09:00'),
    timeZone: 'Asia/Seoul',
  });
  assert.equal(s.category['Beer: Cider']?.d7.spend, 10_000);
  assert.equal(s.category['분유']?.d7.spend, 20_000);
});
