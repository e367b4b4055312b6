import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket } from './rate-limit.js';

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
