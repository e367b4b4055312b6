/**
 * A token bucket per caller: `ratePerSecond` requests a second on average, bursts up to one second's worth
 * (at least 10). Pure: the caller passes the clock. One bucket per process: with N replicas behind a load
 * balancer a caller gets up to N times the rate, which is the point (the limit protects each replica).
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;
  readonly capacity: number;

  constructor(
    /** requests per second, > 0 */
    readonly ratePerSecond: number,
    nowMs: number,
  ) {
    this.capacity = Math.max(10, ratePerSecond);
    this.tokens = this.capacity;
    this.lastMs = nowMs;
  }

  /** Takes one token: 0 when allowed, else the milliseconds until one is available. */
  take(nowMs: number): number {
    const elapsed = Math.max(0, nowMs - this.lastMs);
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    this.lastMs = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }
}
