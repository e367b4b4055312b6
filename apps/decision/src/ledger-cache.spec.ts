import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LedgerCache } from './ledger-cache.js';

const ledger = (seq: number, claims = 0) => ({
  seq,
  claims: Object.fromEntries(
    Array.from({ length: claims }, (_, i) => [`d${i}/camp`, '2026-11-24 pos offer']),
  ),
  lifetime: {},
});

void describe('LedgerCache', () => {
  void it('keeps at most maxEntries, dropping the least recently used', () => {
    const cache = new LedgerCache(2, Infinity);
    cache.set('a', ledger(1));
    cache.set('b', ledger(1));
    assert.equal(cache.get('a')?.seq, 1); // a is now the most recently used
    cache.set('c', ledger(1));
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a')?.seq, 1);
    assert.equal(cache.get('c')?.seq, 1);
  });

  void it('keeps its estimated bytes under maxBytes, and accounts for replaced and deleted entries', () => {
    const cache = new LedgerCache(1_000, 3_000);
    for (let i = 0; i < 50; i++) cache.set(`c${i}`, ledger(i, 5));
    assert.ok(cache.estimatedBytes <= 3_000, String(cache.estimatedBytes));
    assert.ok(cache.size > 0 && cache.size < 50);
    const before = cache.estimatedBytes;
    cache.set('c49', ledger(50, 5));
    assert.equal(cache.estimatedBytes, before, 'replacing an entry does not count it twice');
    cache.deleteWhere(() => true);
    assert.equal(cache.size, 0);
    assert.equal(cache.estimatedBytes, 0);
  });

  void it('drops the customers of one partition', () => {
    const cache = new LedgerCache(10, Infinity);
    for (const id of ['p0-a', 'p1-b', 'p0-c']) cache.set(id, ledger(1));
    assert.equal(
      cache.deleteWhere((id) => id.startsWith('p0')),
      2,
    );
    assert.deepEqual([cache.get('p0-a'), cache.get('p1-b')?.seq], [undefined, 1]);
  });

  void it('caches nothing with maxEntries 0', () => {
    const cache = new LedgerCache(0, Infinity);
    cache.set('a', ledger(1));
    assert.equal(cache.get('a'), undefined);
  });
});
