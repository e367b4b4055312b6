/**
 * The one-time copy of daily rollups from `customer_daily` (one row per day and dim, before migration 0010)
 * into `customer_days` (one row per day), run by the migration runner right after 0010's statements.
 *
 * Each (customer, day) becomes one row, with its remaining TTL, written at the timestamp the live path gives a
 * day computed from that many events (dailyRowsTimestamp; the `all` row counts every event of the day). So the
 * copy is safe to run while context replicas write, and to run again: a day the new code has already written
 * (from at least as many events) keeps the newer row, whatever order the writes land in; an erasure's
 * deletion (timestamped at wall-clock time) shadows any copy. customer_daily itself is left as it is (see cql/0010_customer_days.cql).
 */
import type { DailyRollup } from '@nunchi/context-model';
import { writeBatched, type BulkWrite } from './bulk.js';
import type { CqlClient } from './client.js';
import { encodeDayTotals } from './day-totals.js';
import { dailyRowsTimestamp } from './repositories/context.repository.js';
import { defineStatements, run, statement } from './statements.js';

const Q = defineStatements({
  // The whole table, one token range of the ring at a time (a partition lies in one range, rows in order).
  scanRange: statement(
    'customer_daily.scan_range',
    'SELECT customer_id, day, dim, spend, purchases, visits, items, events, last_visit_at, last_purchase_at, TTL(events) AS ttl FROM customer_daily WHERE token(customer_id) > ? AND token(customer_id) <= ?',
  ),
  scanTail: statement(
    'customer_daily.scan_tail',
    'SELECT customer_id, day, dim, spend, purchases, visits, items, events, last_visit_at, last_purchase_at, TTL(events) AS ttl FROM customer_daily WHERE token(customer_id) > ?',
  ),
  copyDay: statement(
    'customer_days.copy',
    'INSERT INTO customer_days (customer_id, day, totals) VALUES (?, ?, ?) USING TTL ? AND TIMESTAMP ?',
  ),
});

export interface BackfillReport {
  customers: number;
  /** customer_days rows written (one per customer and day) */
  days: number;
  /** customer_daily rows read */
  rows: number;
}

/** days per unlogged batch: one customer's partition, well under the 50 KiB batch size limit */
const DAYS_PER_BATCH = 20;

/** Copies every day of customer_daily into customer_days; see the file comment. */
export async function backfillCustomerDays(
  client: CqlClient,
  log: (line: string) => void = () => undefined,
): Promise<BackfillReport> {
  const ranges = [...client.metadata.getTokenRanges()].flatMap((r) => r.unwrap());
  const report: BackfillReport = { customers: 0, days: 0, rows: 0 };
  let done = 0;
  let logged = 0;

  const copyRange = async (range: (typeof ranges)[number]) => {
    // Unwrapped, only a range that ends at the ring's minimum token has start >= end: it runs to the end.
    const [stmt, params] =
      range.start.compare(range.end) >= 0
        ? [Q.scanTail, [range.start.getValue()]]
        : [Q.scanRange, [range.start.getValue(), range.end.getValue()]];
    let customer: string | undefined;
    let day: DayBeingRead | undefined;
    let writes: BulkWrite[] = [];
    const groups: BulkWrite[][] = [];
    const endDay = () => {
      if (day === undefined) return;
      writes.push({
        query: Q.copyDay.cql,
        params: [
          day.customerId,
          day.day,
          encodeDayTotals(day.day, day.rows),
          day.ttl,
          dailyRowsTimestamp(day.day, day.events),
        ],
      });
      report.days++;
      if (writes.length >= DAYS_PER_BATCH) endGroup();
      day = undefined;
    };
    const endGroup = () => {
      if (writes.length) groups.push(writes);
      writes = [];
    };
    let pageState: string | undefined;
    do {
      const page = await run(client, stmt, params, { fetchSize: 5_000, pageState });
      for (const r of page.rows) {
        report.rows++;
        const customerId = r['customer_id'] as string;
        const rowDay = r['day'] as string;
        if (customerId !== customer) {
          endDay();
          endGroup();
          customer = customerId;
          report.customers++;
        } else if (rowDay !== day?.day) endDay();
        day ??= { customerId, day: rowDay, rows: [], events: 0, ttl: 0 };
        const rollup = rollupOf(rowDay, r);
        day.rows.push(rollup);
        // Every event of the day counts on `all`, so its count is the largest (any other dim's is a part).
        day.events = Math.max(day.events, rollup.events);
        // The day's TTL is the soonest to expire of its rows (0: none).
        const ttl = (r['ttl'] as number | null) ?? 0;
        if (ttl > 0) day.ttl = day.ttl === 0 ? ttl : Math.min(day.ttl, ttl);
      }
      pageState = page.pageState ?? undefined;
      // Write what the page completed before reading on: memory holds about a page at a time.
      if (!pageState) {
        endDay();
        endGroup();
      }
      if (groups.length) {
        const failed = await writeBatched(client, groups.splice(0), { groupsPerBatch: 1, concurrency: 16 });
        if (failed.length)
          throw new Error(
            `copying customer_daily: ${failed.length} batches failed: ${failed[0].error.message}`,
          );
      }
    } while (pageState);
    done++;
    if (done * 10 >= (logged + 1) * ranges.length) {
      logged = Math.floor((done * 10) / ranges.length);
      log(
        `customer_daily → customer_days: ${done}/${ranges.length} token ranges, ${report.days} days copied`,
      );
    }
  };

  let next = 0;
  const worker = async () => {
    while (next < ranges.length) await copyRange(ranges[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(4, ranges.length) }, worker));
  return report;
}

interface DayBeingRead {
  customerId: string;
  day: string;
  rows: DailyRollup[];
  /** events the day's rollups were computed from */
  events: number;
  /** seconds; 0 = no TTL */
  ttl: number;
}

function rollupOf(day: string, r: Record<string, unknown>): DailyRollup {
  const rollup: DailyRollup = {
    day,
    dim: r['dim'] as string,
    spend: (r['spend'] as number | null) ?? 0,
    purchases: (r['purchases'] as number | null) ?? 0,
    visits: (r['visits'] as number | null) ?? 0,
    items: (r['items'] as number | null) ?? 0,
    events: (r['events'] as number | null) ?? 0,
  };
  if (r['last_visit_at']) rollup.lastVisitMs = (r['last_visit_at'] as Date).getTime();
  if (r['last_purchase_at']) rollup.lastPurchaseMs = (r['last_purchase_at'] as Date).getTime();
  return rollup;
}
