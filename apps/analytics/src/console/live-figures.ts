/**
 * The overview's live figures, computed from samples taken once a second (live-feed.ts): rates are
 * differences of counters between samples, and the event → offer percentiles are read from the difference
 * of two snapshots of the decision service's latency histogram, as Prometheus' histogram_quantile does.
 * Pure: samples in, figures out.
 */

/** One cumulative histogram bucket: `count` observations ≤ `le` (milliseconds; Infinity for +Inf). */
export interface Bucket {
  le: number;
  count: number;
}

/** What the service had counted at one instant (every count cumulative since some start). */
export interface LiveSample {
  /** epoch milliseconds */
  atMs: number;
  /** events counted, by channel */
  eventsByChannel: Record<string, number>;
  /** campaign decisions by outcome (offer, control, late), summed over campaigns */
  decisions: { offers: number; control: number; late: number };
  /** per campaign: decisions, offers, control, late (for the campaign page's live series) */
  campaigns: Record<string, { decisions: number; offers: number; control: number; late: number }>;
  /** DLQ entries by stage (whole stream); undefined when the DLQ could not be read */
  dlqByStage?: Record<string, number>;
  /** the decision service's event → offer histogram for offers; undefined when it could not be read */
  eventToOfferBuckets?: Bucket[];
}

export interface Percentiles {
  /** milliseconds */
  p50: number;
  /** milliseconds */
  p99: number;
  /** offers the percentiles are computed over */
  count: number;
}

export interface LiveFigures {
  /** epoch milliseconds of the newest sample */
  atMs: number;
  /** seconds the rates are averaged over (up to RATE_WINDOW_MS; 0 before two samples exist) */
  windowSeconds: number;
  eventsPerSecond: { total: number; byChannel: Record<string, number> };
  /** events counted since the service started, by channel */
  eventsTotal: Record<string, number>;
  /** event → offer over the last PERCENTILE_WINDOW_MS; null when the decision service's histogram is unreadable or has no offer in it */
  eventToOfferMs: Percentiles | null;
  decisions: { offers: number; control: number; late: number };
  /** null when the DLQ could not be read */
  dlq: { total: number; byStage: Record<string, number> } | null;
  /** one point per sample over the last SERIES_MS: events/s and decisions (cumulative) per campaign */
  series: Array<{
    atMs: number;
    eventsPerSecond: number;
    campaigns: Record<string, { decisions: number; offers: number; control: number; late: number }>;
  }>;
}

/** rates are averaged over this span, milliseconds */
export const RATE_WINDOW_MS = 10_000;
/** percentiles are computed over this span, milliseconds */
export const PERCENTILE_WINDOW_MS = 60_000;
/** samples kept (and drawn), milliseconds */
export const SERIES_MS = 10 * 60_000;

export function liveFigures(samples: readonly LiveSample[]): LiveFigures | undefined {
  const last = samples.at(-1);
  if (!last) return undefined;
  const rateFrom = earliestWithin(samples, last.atMs - RATE_WINDOW_MS);
  const seconds = (last.atMs - rateFrom.atMs) / 1000;
  const byChannel: Record<string, number> = {};
  for (const [channel, n] of Object.entries(last.eventsByChannel))
    byChannel[channel] =
      seconds > 0 ? Math.max(0, n - (rateFrom.eventsByChannel[channel] ?? 0)) / seconds : 0;
  const series = samples.map((s, i) => {
    const before = i > 0 ? samples[i - 1] : undefined;
    const dt = before ? (s.atMs - before.atMs) / 1000 : 0;
    return {
      atMs: s.atMs,
      eventsPerSecond:
        before && dt > 0 ? Math.max(0, sum(s.eventsByChannel) - sum(before.eventsByChannel)) / dt : 0,
      campaigns: s.campaigns,
    };
  });
  const percentileFrom = earliestWithin(samples, last.atMs - PERCENTILE_WINDOW_MS);
  return {
    atMs: last.atMs,
    windowSeconds: seconds,
    eventsPerSecond: { total: sum(byChannel), byChannel },
    eventsTotal: last.eventsByChannel,
    eventToOfferMs:
      last.eventToOfferBuckets === undefined
        ? null
        : percentilesOf(subtractBuckets(last.eventToOfferBuckets, percentileFrom.eventToOfferBuckets ?? [])),
    decisions: last.decisions,
    dlq: last.dlqByStage ? { total: sum(last.dlqByStage), byStage: last.dlqByStage } : null,
    series,
  };
}

/** p50 and p99 of a cumulative histogram, interpolated linearly inside a bucket; null when it is empty. */
export function percentilesOf(buckets: readonly Bucket[]): Percentiles | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const count = sorted.at(-1)?.count ?? 0;
  if (count <= 0) return null;
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), count };
}

/**
 * histogram_quantile's rule: find the bucket the rank falls in and interpolate between its bounds; a rank in
 * the +Inf bucket answers the highest finite bound (all one can say).
 */
function quantile(sorted: readonly Bucket[], q: number): number {
  const rank = q * sorted.at(-1)!.count;
  let lower = 0;
  let below = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lower;
      const inBucket = b.count - below;
      return inBucket > 0 ? lower + ((b.le - lower) * (rank - below)) / inBucket : b.le;
    }
    lower = b.le;
    below = b.count;
  }
  return lower;
}

/** `now − before`, bucket by bucket (a counter reset — fewer now — counts `now` alone). */
export function subtractBuckets(now: readonly Bucket[], before: readonly Bucket[]): Bucket[] {
  const earlier = new Map(before.map((b) => [b.le, b.count]));
  const reset = now.some((b) => b.count < (earlier.get(b.le) ?? 0));
  return now.map((b) => ({ le: b.le, count: reset ? b.count : b.count - (earlier.get(b.le) ?? 0) }));
}

/** The oldest sample taken at or after `sinceMs` (the newest one when none is older). */
function earliestWithin(samples: readonly LiveSample[], sinceMs: number): LiveSample {
  return samples.find((s) => s.atMs >= sinceMs) ?? samples.at(-1)!;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
