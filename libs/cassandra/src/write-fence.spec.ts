import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERASURE_FENCE_MS, MAX_WRITE_LEAD_MS, profileWriteTimestamp } from './write-fence.js';

const RECEIVED = Date.parse('2026-11-24T10:00:00Z');

describe('profileWriteTimestamp: no forward-dated write outlives an erasure', () => {
  it('is the event time (microseconds) for an event dated at or before its receipt', () => {
    assert.equal(profileWriteTimestamp(RECEIVED - 3_600_000, RECEIVED), (RECEIVED - 3_600_000) * 1000);
    assert.equal(profileWriteTimestamp(RECEIVED, RECEIVED), RECEIVED * 1000);
  });

  it('keeps the order of two changes a little ahead of the clock', () => {
    const a = profileWriteTimestamp(RECEIVED + 5_000, RECEIVED);
    const b = profileWriteTimestamp(RECEIVED + 9_000, RECEIVED);
    assert.ok(a < b);
  });

  it('clamps an event dated further ahead to MAX_WRITE_LEAD_MS after its receipt', () => {
    // Validation lets an event be dated up to five minutes ahead.
    assert.equal(profileWriteTimestamp(RECEIVED + 300_000, RECEIVED), (RECEIVED + MAX_WRITE_LEAD_MS) * 1000);
  });

  it('stays below the fence of an erasure that starts right after the receipt, with room for clock skew', () => {
    const erasureFence = (RECEIVED + ERASURE_FENCE_MS) * 1000;
    for (const ahead of [0, 1_000, 30_000, 60_000, 299_999, 10 * 86_400_000])
      assert.ok(profileWriteTimestamp(RECEIVED + ahead, RECEIVED) < erasureFence, `dated ${ahead} ms ahead`);
    assert.ok(ERASURE_FENCE_MS - MAX_WRITE_LEAD_MS >= 30_000, 'at least 30 s of skew between hosts');
  });
});
