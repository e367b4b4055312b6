import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NunchiConfig } from '@nunchi/config';
import type { DailyRollup } from '@nunchi/context-model';
import { CustomerStateCache, estimateBytes, type CustomerState } from './customer-state.cache.js';

const cacheOf = (cacheMaxEntries: number, cacheMaxMiB = 512) =>
  new CustomerStateCache({ domain: { cacheMaxEntries, cacheMaxMiB } } as NunchiConfig);
const row = (day: string): DailyRollup => ({
  day,
  dim: 'all',
  spend: 1,
  purchases: 1,
  visits: 0,
  items: 1,
  events: 1,
});
const stateWith = (rows: number): CustomerState => ({
  profile: null,
  rows: Array.from({ length: rows }, (_, i) => row(`2026-01-${String((i % 28) + 1).padStart(2, '0')}`)),
  recent: [],
  erased: false,
});

describe('CustomerStateCache (the hot tier)', () => {
  it('evicts the least recently used beyond the entry bound', () => {
    const cache = cacheOf(2);
    for (const id of ['a', 'b']) cache.fill(id, stateWith(1), cache.ticket());
    cache.get('a'); // a is now more recent than b
    cache.fill('c', stateWith(1), cache.ticket());
    assert.deepEqual(
      ['a', 'b', 'c'].map((id) => cache.get(id) !== undefined),
      [true, false, true],
    );
  });

  it('evicts beyond the byte bound, counting estimated bytes', () => {
    const cache = cacheOf(1_000_000, 1); // 1 MiB
    const big = stateWith(1_000); // ~180 KB each
    for (let i = 0; i < 10; i++) cache.fill(`c${i}`, big, cache.ticket());
    const { entries, bytes } = cache.stats();
    assert.ok(bytes <= 1_048_576, `${bytes} bytes`);
    assert.equal(entries, Math.floor(1_048_576 / estimateBytes(big)));
  });

  it('refuses a fill that read Cassandra while something was evicted (it may hold what was invalidated)', () => {
    const cache = cacheOf(10);
    const ticket = cache.ticket();
    cache.evict('x'); // e.g. an import hint arriving while the read was in flight
    cache.fill('x', stateWith(1), ticket);
    assert.equal(cache.get('x'), undefined);
  });

  it('a write updates the entry it started from, and evicts when the entry changed under it', () => {
    const cache = cacheOf(10);
    const before = stateWith(1);
    cache.fill('x', before, cache.ticket());
    const after = stateWith(2);
    cache.commit('x', before, after);
    assert.equal(cache.get('x'), after);
    cache.commit('x', before, stateWith(3)); // `before` is no longer the cached state
    assert.equal(cache.get('x'), undefined);
  });

  it('keeps only admitted customers (the partitions this replica owns), and counts hits and misses', () => {
    const cache = cacheOf(10);
    cache.fill('mine', stateWith(1), cache.ticket());
    cache.fill('theirs', stateWith(1), cache.ticket());
    cache.admitOnly((id) => id === 'mine');
    cache.fill('theirs', stateWith(1), cache.ticket());
    assert.equal(cache.get('theirs'), undefined);
    assert.ok(cache.get('mine'));
    assert.deepEqual([cache.stats().hits, cache.stats().misses, cache.stats().hitRatio], [1, 1, 0.5]);
  });
});
