import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecentEvent } from '@nunchi/contracts';
import { event, purchase } from './fixtures.js';
import { pushRecent, sortRecent, toRecentEvent } from './recent.js';

void test('toRecentEvent keeps the short form; amount for purchases only', () => {
  const p = purchase({
    id: 'p',
    at: '2026-11-24T19:05:00+09:00',
    storeId: 'bundang-01',
    lines: [['beer', 2, 2500]],
  });
  assert.deepEqual(toRecentEvent(p), {
    id: 'p',
    type: 'purchase',
    channel: 'pos',
    occurredAt: '2026-11-24T19:05:00+09:00',
    occurredAtMs: p.occurredAtMs,
    storeId: 'bundang-01',
    amount: 5000,
  });
  const v = event({ id: 'v', at: '2026-11-24T19:00:00+09:00', channel: 'app', payload: { amount: 9 } });
  assert.deepEqual(toRecentEvent(v), {
    id: 'v',
    type: 'visit',
    channel: 'app',
    occurredAt: '2026-11-24T19:00:00+09:00',
    occurredAtMs: v.occurredAtMs,
  });
});

void test('pushRecent: newest first, ids deduped, capped', () => {
  let recent: readonly RecentEvent[] = [];
  const at = (i: number) => new Date(Date.UTC(2026, 10, 24, 0, i)).toISOString();
  // arrive out of order
  for (const i of [5, 1, 9, 3, 7, 2, 8, 0, 6, 4])
    recent = pushRecent(recent, event({ id: `e${i}`, at: at(i) }), 5);
  assert.deepEqual(
    recent.map((r) => r.id),
    ['e9', 'e8', 'e7', 'e6', 'e5'],
  );
  recent = pushRecent(recent, event({ id: 'e7', at: at(7) }), 5);
  assert.deepEqual(
    recent.map((r) => r.id),
    ['e9', 'e8', 'e7', 'e6', 'e5'],
    'a redelivery changes nothing',
  );
  recent = pushRecent(recent, event({ id: 'old', at: at(0) }), 5);
  assert.equal(recent.length, 5);
  assert.ok(!recent.some((r) => r.id === 'old'), 'older than a full list');
  assert.equal(pushRecent([], event({ id: 'x', at: at(0) })).length, 1);
});

void test('equal instants order by id; instants compare across UTC offsets, not as strings', () => {
  const recent: RecentEvent[] = [
    { id: 'b', type: 'visit', channel: 'pos', occurredAt: '2026-11-24T19:05:00+09:00' }, // 10:05Z
    { id: 'a', type: 'visit', channel: 'pos', occurredAt: '2026-11-24T10:05:00Z' }, // same instant
    { id: 'c', type: 'visit', channel: 'pos', occurredAt: '2026-11-24T11:00:00Z' }, // newest, though "smaller" text
    { id: 'a', type: 'visit', channel: 'pos', occurredAt: '2026-11-24T10:05:00Z' },
  ];
  assert.deepEqual(
    sortRecent(recent).map((r) => r.id),
    ['c', 'a', 'b'],
  );
  assert.deepEqual(sortRecent(recent, 0), []);
});

void test('pushRecent gives what sortRecent gives, whatever the list (its fast path for a newer event included)', () => {
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const at = (minute: number) => `2026-11-24T10:${String(minute).padStart(2, '0')}:00+09:00`;
  for (let run = 0; run < 2_000; run++) {
    // Lists in order, out of order, with repeated ids and equal instants; events newer, older or equal.
    const size = Math.floor(random() * 24);
    let recent: RecentEvent[] = Array.from({ length: size }, () =>
      toRecentEvent(event({ id: `e${Math.floor(random() * 30)}`, at: at(Math.floor(random() * 50)) })),
    );
    if (random() < 0.7) recent = sortRecent(recent, 20);
    const next = event({ id: `e${Math.floor(random() * 40)}`, at: at(Math.floor(random() * 60)) });
    const max = 1 + Math.floor(random() * 22);
    const once = pushRecent(recent, next, max);
    assert.deepEqual(once, sortRecent([toRecentEvent(next), ...recent], max));
    // Again on its own result (a list it returned is trusted to be in order).
    const later = event({ id: `e${Math.floor(random() * 40)}`, at: at(Math.floor(random() * 60)) });
    const max2 = 1 + Math.floor(random() * 22);
    assert.deepEqual(pushRecent(once, later, max2), sortRecent([toRecentEvent(later), ...once], max2));
  }
});
