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
  openFrom: 0,
  openEvents: [],
  erased: false,
  months: new Set(),
});
const fill = (cache: CustomerStateCache, id: string, state: CustomerState) =>
  cache.fill(state, cache.ticket(id));

describe('CustomerStateCache (the hot tier)', () => {
  it('evicts the least recently used beyond the entry bound', () => {
    const cache = cacheOf(2);
    for (const id of ['a', 'b']) fill(cache, id, stateWith(1));
    cache.get('a'); // a is now more recent than b
    fill(cache, 'c', stateWith(1));
    assert.deepEqual(
      ['a', 'b', 'c'].map((id) => cache.get(id) !== undefined),
      [true, false, true],
    );
  });

  it('evicts beyond the byte bound, counting estimated bytes', () => {
    const cache = cacheOf(1_000_000, 1); // 1 MiB
    const big = stateWith(1_000); // ~180 KB each
    for (let i = 0; i < 10; i++) fill(cache, `c${i}`, big);
    const { entries, bytes } = cache.stats();
    assert.ok(bytes <= 1_048_576, `${bytes} bytes`);
    assert.equal(entries, Math.floor(1_048_576 / estimateBytes(big)));
  });

  it('refuses a fill that read Cassandra while something was evicted (it may hold what was invalidated)', () => {
    const cache = cacheOf(10);
    const ticket = cache.ticket('x');
    cache.evict('x'); // e.g. an import hint arriving while the read was in flight
    assert.equal(cache.fill(stateWith(1), ticket), false);
    assert.equal(cache.get('x'), undefined);
  });

  it('fills every customer of concurrent cold loads: evicting one customer refuses no other fill', () => {
    // Seen before: after 4,627 distinct customers the tier held 416, because one eviction refused every
    // fill in flight. Here 1,000 loads are in flight while other customers are evicted and the tier is full.
    const cache = cacheOf(500);
    const tickets = Array.from({ length: 1_000 }, (_, i) => cache.ticket(`c${i}`));
    for (let i = 0; i < 50; i++) cache.evict(`other${i}`);
    const filled = tickets.filter((t) => cache.fill(stateWith(1), t)).length;
    assert.equal(filled, 1_000);
    assert.equal(cache.stats().entries, 500, 'bounded by entries: the oldest went');
  });

  it('refuses a load that started before its customer left for capacity (it may predate a write since)', () => {
    const cache = cacheOf(1);
    const stale = cache.ticket('x'); // e.g. a preload reading Cassandra
    fill(cache, 'x', stateWith(1)); // the live path loaded it and wrote an event since
    fill(cache, 'y', stateWith(1)); // x leaves for capacity
    assert.equal(cache.fill(stateWith(1), stale), false);
    assert.equal(cache.fill(stateWith(1), cache.ticket('x')), true, 'a load begun afterwards fills');
  });

  it("refuses loads under way of a partition handed over, even once it is back; others' loads fill", () => {
    const cache = cacheOf(10);
    const inPartition = (id: string) => id.startsWith('p1-');
    const mine = cache.ticket('p1-a');
    const other = cache.ticket('p2-a');
    cache.evictWhere(inPartition); // released, and acquired again before the loads end
    assert.equal(cache.fill(stateWith(1), mine), false);
    assert.equal(cache.fill(stateWith(1), other), true);
    assert.equal(cache.fill(stateWith(1), cache.ticket('p1-a')), true);
    // Handovers are remembered up to a bound; loads older than the ones forgotten are refused.
    const old = cache.ticket('p3-a');
    for (let i = 0; i < 100; i++) cache.evictWhere(() => false);
    assert.equal(cache.fill(stateWith(1), old), false);
  });

  it('an eviction before the ticket does not refuse the fill; clear() refuses loads under way', () => {
    const cache = cacheOf(10);
    cache.evict('x');
    assert.equal(cache.fill(stateWith(1), cache.ticket('x')), true);
    const ticket = cache.ticket('y');
    cache.clear();
    assert.equal(cache.fill(stateWith(1), ticket), false);
    assert.equal(cache.fill(stateWith(1), cache.ticket('y')), true);
  });

  it('a write updates the entry it started from, and evicts when the entry changed under it', () => {
    const cache = cacheOf(10);
    const before = stateWith(1);
    fill(cache, 'x', before);
    const after = stateWith(2);
    cache.commit('x', before, after);
    assert.equal(cache.get('x'), after);
    cache.commit('x', before, stateWith(3)); // `before` is no longer the cached state
    assert.equal(cache.get('x'), undefined);
  });

  it('keeps only admitted customers (the partitions this replica owns), and counts hits and misses', () => {
    const cache = cacheOf(10);
    fill(cache, 'mine', stateWith(1));
    fill(cache, 'theirs', stateWith(1));
    cache.admitOnly((id) => id === 'mine');
    fill(cache, 'theirs', stateWith(1));
    assert.equal(cache.get('theirs'), undefined);
    assert.ok(cache.get('mine'));
    assert.deepEqual([cache.stats().hits, cache.stats().misses, cache.stats().hitRatio], [1, 1, 0.5]);
  });
});
