import cassandra from 'cassandra-driver';
import type { CqlClient } from './client.js';

/** One statement of an unlogged batch, as the driver takes it. */
export interface BatchStatement {
  query: string;
  params: unknown[];
}

/** How large one grouped request may grow. */
export interface WriteGroupLimits {
  /** statements per request (default 128) */
  maxStatements: number;
  /**
   * estimated bytes of values per request (default 24 KiB): under Cassandra's `batch_size_warn_threshold` in
   * this project's configurations (64 KiB, docs/infrastructure.md "Grouped writes") and under half of a stock
   * node's `batch_size_fail_threshold` (50 KiB), which counts more than the values
   */
  maxBytes: number;
}

const DEFAULT_LIMITS: WriteGroupLimits = { maxStatements: 128, maxBytes: 24 * 1024 };

interface Waiter {
  statements: readonly BatchStatement[];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for idempotent writes (keyed upserts and deletes) of many partitions: one request to Cassandra
 * carries what many concurrent callers write. Most of what a small write costs the node is per request
 * (decoding it, waking its executors: docs/architecture.md, "Cost per event, whole system"), so the hot
 * path's writes of many customers — a context fold, a decision record, analytics' rows — go together.
 *
 * At most one request is in flight: a write arriving while one is goes in the next, sent as soon as the first
 * returns. So nothing waits for a timer — alone, a write goes at once, as before — and the busier the
 * node, the larger the groups. Each caller's promise settles when the request holding its statements does:
 * resolved, its writes are stored (acknowledge after that, never before). A request the node refuses for
 * what it holds (an invalid statement, a batch too large) is sent again one caller at a time, so one caller's
 * bad statement fails that caller only; a request that fails for the node's or the network's sake (a
 * timeout, no replica up) fails every caller in it at once — sent again, it would only fail again, later.
 *
 * Only for writes that are safe to repeat and need no order among callers: the statements of one caller
 * stay together and in order, but an unlogged batch applies its partitions independently.
 */
export class WriteGroup {
  private readonly limits: WriteGroupLimits;
  private waiting: Waiter[] = [];
  private inFlight = false;

  constructor(
    /** sends one group's statements as one request */
    private readonly send: (statements: BatchStatement[]) => Promise<unknown>,
    /** whether a failed request is to be sent again caller by caller (the request's content was refused) */
    private readonly refusedForContent: (error: unknown) => boolean,
    limits: Partial<WriteGroupLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Groups sent as unlogged batches of idempotent statements through `client`. */
  static unlogged(client: CqlClient, limits: Partial<WriteGroupLimits> = {}): WriteGroup {
    return new WriteGroup(
      (statements) => client.batch(statements, { prepare: true, logged: false, isIdempotent: true }),
      refusedStatement,
      limits,
    );
  }

  /** Stores `statements` (one caller's, kept together): resolves once the request carrying them succeeded. */
  write(statements: readonly BatchStatement[]): Promise<void> {
    if (statements.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ statements, bytes: estimatedBytes(statements), resolve, reject });
      if (!this.inFlight) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.waiting.length > 0) {
        const group = this.take();
        try {
          await this.send(group.flatMap((w) => w.statements));
          for (const w of group) w.resolve();
        } catch (error) {
          if (group.length > 1 && this.refusedForContent(error)) await this.oneByOne(group);
          else for (const w of group) w.reject(error);
        }
      }
    } finally {
      this.inFlight = false;
    }
  }

  /** The next group: waiters in arrival order, as many as the limits allow (always at least one). */
  private take(): Waiter[] {
    let statements = 0;
    let bytes = 0;
    let n = 0;
    for (const w of this.waiting) {
      if (
        n > 0 &&
        (statements + w.statements.length > this.limits.maxStatements ||
          bytes + w.bytes > this.limits.maxBytes)
      )
        break;
      statements += w.statements.length;
      bytes += w.bytes;
      n++;
    }
    return this.waiting.splice(0, n);
  }

  private async oneByOne(group: readonly Waiter[]): Promise<void> {
    await Promise.all(
      group.map((w) =>
        this.send([...w.statements]).then(
          () => w.resolve(),
          (error: unknown) => w.reject(error),
        ),
      ),
    );
  }
}

const { responseErrorCodes: codes } = cassandra.types;
/** What the node answers about a request's content, not about its own state or the network's. */
const CONTENT_ERRORS: ReadonlySet<number> = new Set([
  codes.syntaxError,
  codes.invalid,
  codes.unauthorized,
  codes.configError,
  codes.functionFailure,
  codes.serverError,
]);

/** A request Cassandra refused for what it holds (an invalid value, a batch too large, a grant missing). */
export function refusedStatement(error: unknown): boolean {
  return error instanceof cassandra.errors.ResponseError && CONTENT_ERRORS.has(error.code);
}

/** Roughly the bytes of the statements' values: strings as UTF-8, buffers by size, collections 16 an item, else 8. */
function estimatedBytes(statements: readonly BatchStatement[]): number {
  let bytes = 0;
  for (const s of statements)
    for (const p of s.params) {
      if (typeof p === 'string') bytes += Buffer.byteLength(p);
      else if (Buffer.isBuffer(p)) bytes += p.length;
      else if (Array.isArray(p)) bytes += 16 * p.length;
      else bytes += 8;
    }
  return bytes;
}
