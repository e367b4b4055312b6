import type { Moments } from './confidence-sequence.js';

/**
 * Revenue per customer with its outliers capped (winsorised): one customer who buys a television must not
 * decide a campaign's revenue lift. The cap is the 99th percentile of the customers' non-zero revenue,
 * pooled over both groups, rounded up to a bucket edge of a log histogram (2^(1/8) ≈ 9 % apart). Because
 * the cap is a bucket edge, the capped moments are exact from the histogram alone: customers in buckets
 * above the cap count as the cap, the rest as themselves. Memory: one small record per occupied bucket.
 */

/** winsorise at this quantile of non-zero revenue */
export const WINSORISE_QUANTILE = 0.99;
const BUCKETS_PER_DOUBLING = 8;

interface Bucket {
  count: number;
  sum: number;
  sumSquares: number;
}

export class RevenueHistogram {
  /** customers with no revenue */
  zeros = 0;
  readonly buckets = new Map<number, Bucket>();

  add(revenue: number): void {
    if (!(revenue > 0)) {
      this.zeros++;
      return;
    }
    const k = bucketOf(revenue);
    const b = this.buckets.get(k) ?? { count: 0, sum: 0, sumSquares: 0 };
    b.count++;
    b.sum += revenue;
    b.sumSquares += revenue * revenue;
    this.buckets.set(k, b);
  }

  get customers(): number {
    let n = this.zeros;
    for (const b of this.buckets.values()) n += b.count;
    return n;
  }

  /** unwinsorised total, major currency unit */
  get total(): number {
    let s = 0;
    for (const b of this.buckets.values()) s += b.sum;
    return s;
  }

  /** Moments of min(revenue, cap) per customer (zeros included). */
  cappedMoments(cap: number): Moments {
    const m: Moments = { n: this.zeros, sum: 0, sumSquares: 0 };
    for (const [k, b] of this.buckets) {
      m.n += b.count;
      // cap is a bucket edge (winsorisationCap): a bucket lies wholly below it or wholly above it
      if (upperEdgeOf(k) <= cap * (1 + 1e-9)) {
        m.sum += b.sum;
        m.sumSquares += b.sumSquares;
      } else {
        m.sum += b.count * cap;
        m.sumSquares += b.count * cap * cap;
      }
    }
    return m;
  }
}

/** The cap: the upper edge of the bucket holding the WINSORISE_QUANTILE of the pooled non-zero revenue; Infinity when none. */
export function winsorisationCap(
  histograms: readonly RevenueHistogram[],
  quantile = WINSORISE_QUANTILE,
): number {
  const pooled = new Map<number, number>();
  let total = 0;
  for (const h of histograms)
    for (const [k, b] of h.buckets) {
      pooled.set(k, (pooled.get(k) ?? 0) + b.count);
      total += b.count;
    }
  if (total === 0) return Infinity;
  const rank = quantile * total;
  let seen = 0;
  for (const k of [...pooled.keys()].sort((a, b) => a - b)) {
    seen += pooled.get(k)!;
    if (seen >= rank) return upperEdgeOf(k);
  }
  return Infinity;
}

/** bucket k holds (2^(k/8), 2^((k+1)/8)] */
function bucketOf(x: number): number {
  return Math.ceil(Math.log2(x) * BUCKETS_PER_DOUBLING) - 1;
}
function upperEdgeOf(k: number): number {
  return 2 ** ((k + 1) / BUCKETS_PER_DOUBLING);
}
