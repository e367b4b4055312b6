import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketCapacity, drawTokens, TokenBucket, type SharedBucketState } from './rate-limit.js';

describe('TokenBucket', () => {
  it('allows a burst of one second (at least 10), then the rate, and says how long to wait', () => {
    const bucket = new TokenBucket(2, 0);
    for (let i = 0; i < 10; i++) assert.equal(bucket.take(0), 0, `request ${i}`);
    assert.equal(bucket.take(0), 500);
    assert.equal(bucket.take(250), 250);
    assert.equal(bucket.take(500), 0);
    assert.equal(bucket.take(500), 500);
  });
  it('refills up to its capacity only', () => {
    const bucket = new TokenBucket(100, 0);
    for (let i = 0; i < 100; i++) assert.equal(bucket.take(0), 0);
    assert.ok(bucket.take(0) > 0);
    let allowed = 0;
    while (bucket.take(60_000) === 0) allowed++;
    assert.equal(allowed, 100);
  });
});

describe('drawTokens (a bucket shared by replicas through a compare-and-set record)', () => {
  it('starts full, grants what is there, and says how long until the chunk asked for', () => {
    const first = drawTokens(undefined, 1_000, 100, 60);
    assert.deepEqual([first.granted, first.waitMs], [60, 0]);
    const second = drawTokens(first.next, 1_000, 100, 60);
    assert.deepEqual([second.granted, second.waitMs], [40, 600], 'the 40 left; 60 more take 0.6 s');
    const empty = drawTokens(second.next, 1_000, 100, 60);
    assert.deepEqual([empty.granted, empty.waitMs], [0, 600]);
    const later = drawTokens(empty.next, 1_300, 100, 60);
    assert.deepEqual([later.granted, later.waitMs], [30, 600], '0.3 s refilled 30');
    const skewed = drawTokens(later.next, 1_200, 100, 60);
    assert.deepEqual([skewed.granted, skewed.next.atMs], [0, 1_300], 'a clock behind refills nothing');
    const many = drawTokens(later.next, 1_300, 100, 500, 5);
    assert.deepEqual([many.granted, many.waitMs], [0, 50], 'the wait is until the chunk it comes back for');
  });

  it('never lets replicas together take more than the burst plus the rate, whatever the interleaving and clock skew', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    for (const rate of [5, 100, 2_000]) {
      let state: SharedBucketState | undefined;
      let taken = 0;
      const skewMs = [0, 40, -40]; // three replicas' clocks
      let trueMs = 0;
      for (let i = 0; i < 5_000; i++) {
        trueMs += random() * 5;
        const replica = Math.floor(random() * 3);
        const draw = drawTokens(state, trueMs + skewMs[replica], rate, Math.ceil(rate / 20));
        state = draw.next;
        taken += draw.granted;
      }
      const bound = bucketCapacity(rate) + (rate * (trueMs + 80)) / 1000;
      assert.ok(taken <= bound, `rate ${rate}: took ${taken}, bound ${bound}`);
      assert.ok(taken >= ((rate * trueMs) / 1000) * 0.9, `rate ${rate}: took ${taken}, far below the rate`);
    }
  });
});
