import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RevenueHistogram, winsorisationCap } from './winsorised-revenue.js';

describe('winsorised revenue', () => {
  it('caps the top 1 % of non-zero revenue at a bucket edge; moments exact from the histogram', () => {
    const h = new RevenueHistogram();
    for (let i = 0; i < 99; i++) h.add(10_000);
    h.add(5_000_000); // one television
    h.add(0);
    const cap = winsorisationCap([h]);
    // the 99th percentile lies in 10,000's bucket: its upper edge, within 9 % above 10,000
    assert.ok(cap >= 10_000 && cap < 10_000 * 2 ** (1 / 8), String(cap));
    const m = h.cappedMoments(cap);
    assert.equal(m.n, 101);
    assert.equal(m.sum, 99 * 10_000 + cap);
    assert.equal(m.sumSquares, 99 * 10_000 ** 2 + cap * cap);
    assert.equal(h.total, 99 * 10_000 + 5_000_000);
  });

  it('no revenue: no cap, zeros counted', () => {
    const h = new RevenueHistogram();
    h.add(0);
    h.add(0);
    assert.equal(winsorisationCap([h]), Infinity);
    assert.deepEqual(h.cappedMoments(Infinity), { n: 2, sum: 0, sumSquares: 0 });
  });

  it('pools groups for the cap', () => {
    const a = new RevenueHistogram();
    const b = new RevenueHistogram();
    for (let i = 0; i < 50; i++) a.add(100);
    for (let i = 0; i < 50; i++) b.add(1_000);
    const cap = winsorisationCap([a, b], 0.5);
    assert.ok(cap >= 100 && cap < 110, String(cap));
    assert.equal(b.cappedMoments(cap).sum, 50 * cap);
    assert.equal(a.cappedMoments(cap).sum, 5_000);
  });
});
