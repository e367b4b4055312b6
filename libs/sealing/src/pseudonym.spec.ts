import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateDataKey } from './customer-data-key.js';
import { analyticsPseudonym, isPseudonym, PSEUDONYM_MARK } from './pseudonym.js';

void describe('analytics pseudonyms (a customer id keyed under the data key)', () => {
  void it('is stable for one customer and key, and tells itself from a customer id', () => {
    const key = generateDataKey();
    const p = analyticsPseudonym('c-42', key);
    assert.equal(p, analyticsPseudonym('c-42', { id: key.id, key: Buffer.from(key.key) }));
    assert.match(p, /^~[A-Za-z0-9_-]{22}$/);
    assert.ok(isPseudonym(p) && !isPseudonym('c-42'));
    assert.ok(!p.includes('c-42'));
    assert.equal(PSEUDONYM_MARK, p[0]);
  });

  void it('differs by customer and by key: without the key it cannot be computed again', () => {
    const key = generateDataKey();
    const seen = new Set([
      analyticsPseudonym('c-42', key),
      analyticsPseudonym('c-43', key),
      analyticsPseudonym('c-42', generateDataKey()),
      // the same id under another customer's key (a customer erased and created again gets a new key)
      analyticsPseudonym('c-42', generateDataKey()),
    ]);
    assert.equal(seen.size, 4);
  });
});
