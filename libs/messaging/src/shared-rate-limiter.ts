import { drawTokens, TokenBucket, type SharedBucketState } from '@nunchi/access';

/** Keyed records with compare-and-set (JetStreamRecords on LEASES). */
export interface BucketStore {
  get(key: string): Promise<{ value: SharedBucketState; revision: number } | undefined>;
  /** 'conflict' when the key's latest revision is not expectedRevision (0: no record) */
  put(key: string, value: SharedBucketState, expectedRevision: number): Promise<number | 'conflict'>;
}

export type RateAnswer = { ok: true } | { ok: false; retryAfterMs: number };

export interface SharedRateLimiterOptions {
  /** the record of a scope in the store, e.g. `ingestion.rate.pos` */
  keyOf: (scope: string) => string;
  /** the clock, epoch ms */
  now?: () => number;
  /** the store could not be read or written: the limiter falls back to a bucket of this replica's own */
  onStoreError?: (scope: string, error: Error) => void;
}

/** Pre-paid tokens unused for this long are dropped (they were taken from the shared bucket: none is made up). */
const POCKET_TTL_MS = 1_000;
/** The store is tried again this long after it failed; meanwhile the replica's own bucket decides. */
const STORE_RETRY_MS = 1_000;
/** A draw raced by other replicas is retried this often before the replica falls back to its own bucket. */
const MAX_CONFLICTS = 8;
/** scopes kept in memory at most */
const MAX_SCOPES = 10_000;
/** A draw is a chunk of this share of a second's rate: one record write per chunk, not per message. */
const CHUNK_SECONDS = 0.05;

interface Scope {
  /** tokens drawn from the shared bucket and not used yet */
  pocket: number;
  pocketUntilMs: number;
  /** the shared bucket said it is empty: refuse here, without asking, until then */
  emptyUntilMs: number;
  /** a draw in flight */
  drawing?: Promise<void>;
  /** messages waiting for that draw, in arrival order */
  waiting: Array<(answer: RateAnswer) => void>;
  /** while the store is unreachable: this replica's own bucket at the whole rate, until storeRetryAtMs */
  fallback?: TokenBucket;
  storeRetryAtMs: number;
}

/**
 * A rate limit per scope (an adapter) that holds across replicas: one token bucket per scope, kept as a
 * record that every replica draws from by compare-and-set, a chunk of tokens at a time (≈ 50 ms of the rate).
 * Whichever replica a message reaches — NATS queue groups pick a member at random, and prefer one on the
 * publisher's own server in a cluster, so a replica's share of an adapter's traffic is not known — the
 * replicas together admit at most the burst plus the rate.
 *
 * Cheap on the hot path: a message spends a pre-paid token in memory; the record is written once per chunk,
 * and the next chunk is drawn while about half of the current one is left, so in steady state no message
 * waits. Over the limit, the bucket says how long until a chunk is there again and the replica refuses
 * locally until then, so a flood costs no store round trip per message. A message that must wait for a draw
 * waits behind the scope's earlier ones (answers keep arrival order). If the store cannot be reached, the
 * replica limits the scope to the whole rate on its own (N replicas: up to N times the rate) and tries the
 * store again after a second: a limiter must not stop events the event store would take.
 */
export class SharedRateLimiter {
  private readonly scopes = new Map<string, Scope>();
  private readonly now: () => number;

  constructor(
    private readonly store: BucketStore,
    private readonly options: SharedRateLimiterOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Admits one message of the scope, or says when to retry; a promise only when it waits for a draw.
   * @param rate the scope's limit, messages per second; 0: not limited
   */
  admit(scope: string, rate: number): RateAnswer | Promise<RateAnswer> {
    if (!(rate > 0)) return { ok: true };
    const nowMs = this.now();
    const s = this.scopeOf(scope);
    if (s.waiting.length) return this.wait(scope, s, rate);
    if (s.storeRetryAtMs > nowMs) return this.ownBucket(s, rate, nowMs);
    if (s.pocketUntilMs <= nowMs) s.pocket = 0;
    if (s.pocket >= 1) {
      s.pocket -= 1;
      // The next chunk while half of this one is left — unless the bucket said it is empty for now.
      if (s.pocket < chunkOf(rate) / 2 && !s.drawing && s.emptyUntilMs <= nowMs)
        void this.draw(scope, s, rate);
      return { ok: true };
    }
    if (s.emptyUntilMs > nowMs) return { ok: false, retryAfterMs: s.emptyUntilMs - nowMs };
    return this.wait(scope, s, rate);
  }

  private scopeOf(scope: string): Scope {
    let s = this.scopes.get(scope);
    if (!s) {
      // Bounded: scopes no message used for a while are forgotten (their pre-paid tokens with them).
      if (this.scopes.size >= MAX_SCOPES)
        for (const [name, old] of this.scopes)
          if (!old.drawing && !old.waiting.length) this.scopes.delete(name);
      s = { pocket: 0, pocketUntilMs: 0, emptyUntilMs: 0, waiting: [], storeRetryAtMs: 0 };
      this.scopes.set(scope, s);
    }
    return s;
  }

  private wait(scope: string, s: Scope, rate: number): Promise<RateAnswer> {
    const answer = new Promise<RateAnswer>((resolve) => s.waiting.push(resolve));
    if (!s.drawing) void this.draw(scope, s, rate);
    return answer;
  }

  private ownBucket(s: Scope, rate: number, nowMs: number): RateAnswer {
    if (!s.fallback || s.fallback.ratePerSecond !== rate) s.fallback = new TokenBucket(rate, nowMs);
    const waitMs = s.fallback.take(nowMs);
    return waitMs === 0 ? { ok: true } : { ok: false, retryAfterMs: waitMs };
  }

  /** One draw of a chunk (more when more messages wait), then the waiting messages are answered in order. */
  private draw(scope: string, s: Scope, rate: number): Promise<void> {
    const run = async () => {
      try {
        await this.drawOnce(scope, s, rate);
      } catch (error) {
        s.storeRetryAtMs = this.now() + STORE_RETRY_MS;
        this.options.onStoreError?.(scope, error as Error);
      }
      s.drawing = undefined;
      this.answerWaiting(scope, s, rate);
    };
    s.drawing = run();
    return s.drawing;
  }

  private async drawOnce(scope: string, s: Scope, rate: number): Promise<void> {
    const key = this.options.keyOf(scope);
    const want = Math.max(chunkOf(rate), s.waiting.length);
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      const record = await this.store.get(key);
      const nowMs = this.now();
      // Over the limit, the wait named is until one chunk is there again (not until every waiter's token).
      const draw = drawTokens(record?.value, nowMs, rate, want, chunkOf(rate));
      if (draw.granted === 0 && record) {
        // Nothing to take: nothing to write either.
        s.emptyUntilMs = nowMs + draw.waitMs;
        return;
      }
      if ((await this.store.put(key, draw.next, record?.revision ?? 0)) === 'conflict') continue;
      if (s.pocketUntilMs <= nowMs) s.pocket = 0;
      s.pocket += draw.granted;
      s.pocketUntilMs = nowMs + POCKET_TTL_MS;
      if (draw.granted < want) s.emptyUntilMs = nowMs + draw.waitMs;
      return;
    }
    throw new Error(`${MAX_CONFLICTS} draws in a row raced by other replicas`);
  }

  private answerWaiting(scope: string, s: Scope, rate: number): void {
    while (s.waiting.length) {
      const nowMs = this.now();
      if (s.storeRetryAtMs > nowMs) {
        s.waiting.shift()!(this.ownBucket(s, rate, nowMs));
      } else if (s.pocket >= 1) {
        s.pocket -= 1;
        s.waiting.shift()!({ ok: true });
      } else if (s.emptyUntilMs > nowMs) {
        s.waiting.shift()!({ ok: false, retryAfterMs: s.emptyUntilMs - nowMs });
      } else {
        // Granted fewer than waited and the bucket has refilled meanwhile: draw again for the rest.
        void this.draw(scope, s, rate);
        return;
      }
    }
  }
}

/** Tokens per draw: 50 ms of the rate, at least one. */
const chunkOf = (rate: number): number => Math.max(1, Math.ceil(rate * CHUNK_SECONDS));
