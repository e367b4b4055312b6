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

/**
 * A token bucket shared by every replica, as one keyed record (SharedBucketState) that replicas draw from by
 * compare-and-set: what holds a limit across replicas, whichever replica a message reaches. Replicas draw a
 * chunk of tokens at a time (drawTokens), so the record is written once per chunk, not per message.
 */
export interface SharedBucketState {
  /** tokens left at `atMs` (may be fractional) */
  tokens: number;
  /** epoch ms of the last draw, by the clock of the replica that drew (never moved backwards) */
  atMs: number;
}

export interface Draw {
  /** the record to write back (compare-and-set on the revision read) */
  next: SharedBucketState;
  /** whole tokens taken, 0 … want */
  granted: number;
  /** when granted < want: milliseconds until `comeBackFor` tokens will be there again; 0 otherwise */
  waitMs: number;
}

/** Burst of a bucket of `ratePerSecond`: one second's worth, at least 10 (as TokenBucket). */
export const bucketCapacity = (ratePerSecond: number): number => Math.max(10, ratePerSecond);

/**
 * Takes up to `want` whole tokens from a shared bucket (`state` undefined: none written yet, full). Pure.
 *
 * Replicas' clocks differ: the refill counts only time after the record's `atMs`, and `atMs` never moves
 * backwards, so a clock ahead by s can add at most s × rate tokens once, never repeatedly.
 */
export function drawTokens(
  state: SharedBucketState | undefined,
  nowMs: number,
  /** tokens per second, > 0 */
  ratePerSecond: number,
  want: number,
  /** how many the drawer will come back for when it gets fewer than `want` (its usual chunk) */
  comeBackFor: number = want,
): Draw {
  const capacity = bucketCapacity(ratePerSecond);
  const atMs = Math.max(nowMs, state?.atMs ?? nowMs);
  const elapsed = state ? Math.max(0, nowMs - state.atMs) : 0;
  const available = state
    ? Math.min(capacity, Math.max(0, state.tokens) + (elapsed * ratePerSecond) / 1000)
    : capacity;
  const granted = Math.max(0, Math.min(Math.floor(available), Math.floor(want)));
  const left = available - granted;
  const waitMs =
    granted < want
      ? Math.ceil(((Math.max(1, Math.min(comeBackFor, capacity)) - left) * 1000) / ratePerSecond)
      : 0;
  return { next: { tokens: left, atMs }, granted, waitMs };
}
