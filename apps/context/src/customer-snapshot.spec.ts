import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSnapshot, rollupEvents } from '@nunchi/context-model';
import type { AcceptedEvent } from '@nunchi/contracts';
import type { CustomerState } from './customer-state.cache.js';
import { snapshotOf } from './customer-snapshot.js';

const TZ = 'Asia/Seoul';
const NOW = Date.parse('2026-11-24T10:00:00+09:00');
const DAY = 86_400_000;

function purchase(id: string, atMs: number, storeId: string, amount: number): AcceptedEvent {
  return {
    id,
    type: 'purchase',
    channel: 'pos',
    occurredAt: new Date(atMs).toISOString(),
    occurredAtMs: atMs,
    receivedAtMs: atMs,
    customerId: 'c1',
    storeId,
    payload: {
      amount,
      currency: 'KRW',
      items: [{ sku: 'x', category: 'beer', quantity: 1, unitPrice: amount }],
    },
  };
}

const events = [
  purchase('a', NOW - 2 * DAY, 's1', 1000),
  purchase('b', NOW - 10 * DAY, 's2', 2000),
  purchase('c', NOW - 1000, 's1', 500),
];
const stateOf = (es: AcceptedEvent[]): CustomerState => ({
  profile: null,
  rows: rollupEvents(es, TZ),
  recent: [],
  openFrom: 0,
  openEvents: [],
  erased: false,
  months: new Set(),
});
const expected = (state: CustomerState, nowMs: number, storeId?: string) =>
  buildSnapshot({
    customerId: 'c1',
    rows: state.rows,
    recent: state.recent,
    nowMs,
    timeZone: TZ,
    currentStoreId: storeId,
  });

describe('snapshotOf (the hot tier’s memoised snapshot)', () => {
  it('equals buildSnapshot for any store and instant of the day, from one memo', () => {
    const state = stateOf(events);
    for (const [at, store] of [
      [NOW, 's1'],
      [NOW + 3_600_000, 's2'],
      [NOW + 7_200_000, undefined],
      [NOW + 60_000, 'unknown'],
    ] as const) {
      assert.deepEqual(snapshotOf('c1', state, at, TZ, store), expected(state, at, store));
    }
    assert.equal(state.snapshot?.ctx.asOf, new Date(NOW).toISOString(), 'built once, on the first read');
  });

  it('is rebuilt on the next local day (windows move) and with a new state (a write)', () => {
    const state = stateOf(events);
    snapshotOf('c1', state, NOW, TZ);
    const tomorrow = NOW + DAY;
    assert.deepEqual(snapshotOf('c1', state, tomorrow, TZ, 's1'), expected(state, tomorrow, 's1'));
    const next = stateOf([...events, purchase('d', NOW, 's2', 700)]);
    assert.equal(snapshotOf('c1', next, NOW, TZ).all.d7.spend, 1000 + 500 + 700);
  });
});
