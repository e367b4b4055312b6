/**
 * Attribution: which purchases count as a decision's (or an exposure's) conversion, and the write
 * timestamps that make the stored result independent of processing order. Pure: rows in, figures out.
 */

/** A purchase is a conversion of a decision when it happens this long after it, days. */
export const DEFAULT_ATTRIBUTION_WINDOW_DAYS = 7;
/** The longest attribution window a campaign may set, days (purchases are kept 90 days for attribution). */
export const MAX_ATTRIBUTION_WINDOW_DAYS = 30;
const DAY_MS = 86_400_000;

export interface PurchaseFact {
  /** epoch milliseconds */
  occurredAtMs: number;
  /** major currency unit */
  amount: number;
}

export interface Attribution {
  /** at least one purchase in (start, start + window] */
  converted: boolean;
  /** the sum of those purchases, major currency unit */
  revenue: number;
  /** how many purchases fell in the window: the information the result was computed from */
  purchases: number;
}

/**
 * The purchases after `startMs` (the decision instant, or a customer's first exposure) and at most
 * `windowDays` later. The purchase that triggered a decision happened before it, so it never counts.
 */
export function attribute(
  startMs: number,
  windowDays: number,
  purchases: readonly PurchaseFact[],
): Attribution {
  const endMs = startMs + windowDays * DAY_MS;
  let revenue = 0;
  let count = 0;
  for (const p of purchases)
    if (p.occurredAtMs > startMs && p.occurredAtMs <= endMs) {
      revenue += p.amount;
      count++;
    }
  return { converted: count > 0, revenue, purchases: count };
}

/** The time range to read purchases from for an attribution starting at startMs, epoch milliseconds (exclusive, inclusive). */
export function attributionRange(startMs: number, windowDays: number): { afterMs: number; untilMs: number } {
  return { afterMs: startMs, untilMs: startMs + windowDays * DAY_MS };
}

/** A campaign's attribution window in days: its `attributionWindowDays`, else the default, clamped to 1..MAX. */
export function attributionWindowOf(definition: { attributionWindowDays?: unknown } | undefined): number {
  const days = definition?.attributionWindowDays;
  if (typeof days !== 'number' || !Number.isInteger(days)) return DEFAULT_ATTRIBUTION_WINDOW_DAYS;
  return Math.min(MAX_ATTRIBUTION_WINDOW_DAYS, Math.max(1, days));
}

/**
 * Write timestamp (microseconds) of a decision's conversion cells: 1 + the purchases seen in its window.
 * Purchases are only ever added, so a later computation that saw more of them wins, and a redelivery
 * (same purchases) writes the same value at the same timestamp: the stored cell is exact in any order.
 */
export function conversionWriteTimestamp(purchasesSeen: number): number {
  return 1 + Math.min(purchasesSeen, 999_999);
}

/** Larger than any epoch millisecond analytics will see (year 2109). */
const EPOCH_CEILING_MS = 2 ** 42;

/**
 * Write timestamp (microseconds) of an exposure's cells: earlier exposures win (the timestamp falls as
 * firstAtMs grows), and for the same first exposure, the conversion computed from more purchases wins.
 * The identifying cells (first_at, group, offer) use purchasesSeen = 0.
 */
export function exposureWriteTimestamp(firstAtMs: number, purchasesSeen: number): number {
  return (EPOCH_CEILING_MS - firstAtMs) * 1_000 + Math.min(purchasesSeen, 999);
}

/**
 * Above every timestamp exposureWriteTimestamp can give: an erasure deletes a customer's exposures with it, so
 * no exposure write, however late, brings the row back.
 */
export const EXPOSURE_WRITE_TIMESTAMP_CEILING = EPOCH_CEILING_MS * 1_000 + 1_000;

/** Shards of a campaign's exposures partition, and a customer's shard (FNV-1a of its analytics pseudonym). */
export const EXPOSURE_SHARDS = 16;
export function exposureShardOf(pseudonym: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < pseudonym.length; i++) {
    h ^= pseudonym.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % EXPOSURE_SHARDS;
}
