import type { AcceptedEvent } from '@nunchi/contracts';
import { addDays, localDayRange } from '@nunchi/context-model';
import { openCell, SealedDataError, sealCell } from '@nunchi/sealing';
import type cassandra from 'cassandra-driver';
import type { CqlClient } from '../client.js';
import type { CustomerKeyring } from '../customer-keyring.js';
import {
  DAYS_A_WEEK,
  daysOfWeek,
  decodePackEvents,
  encodePackEvents,
  packedDaysByWeek,
  planPeriodRead,
  weekOf,
  type PeriodReadPlan,
  type StoredPack,
} from '../event-packs.js';
import { defineStatements, run, runAll, runAllByCustomer, statement } from '../statements.js';
import { eventCountOfDayTimestamp, type ContextRepository } from './context.repository.js';

const Q = defineStatements({
  // what each day's row was written as (its timestamp encodes the day's event count: dailyRowsTimestamp)
  daysWritten: statement(
    'customer_days.written_many',
    'SELECT customer_id, day, writetime(totals) AS written, ttl(totals) AS ttl FROM customer_days WHERE customer_id IN ? AND day >= ? AND day <= ?',
  ),
  packsOfMany: statement(
    'customer_event_packs.of_many',
    'SELECT customer_id, week, days, events FROM customer_event_packs WHERE customer_id IN ? AND week >= ? AND week <= ?',
  ),
  packedDays: statement(
    'customer_event_packs.days',
    'SELECT week, days FROM customer_event_packs WHERE customer_id = ? AND week >= ? AND week <= ?',
  ),
  writePack: statement(
    'customer_event_packs.insert',
    'INSERT INTO customer_event_packs (customer_id, week, days, events) VALUES (?, ?, ?, ?) USING TTL ?',
  ),
});

/**
 * Customers' packs (and days) read many a request: 50 customers a request, two such requests in flight at
 * once (as ContextRepository's simulation reads)
 */
const BATCHED = { perRequest: 50, inFlight: 2 };

/** What packing one customer's weeks did (packWeeks). */
export interface PackedWeeksCount {
  /** weeks packed (again) */
  packed: number;
  /** weeks whose pack was current already */
  current: number;
  /**
   * weeks left unpacked: their rows and their days disagree (an event being written, or expired before its
   * day's row), or the customer has no data key
   */
  skipped: number;
  /** events put into packs */
  events: number;
}

/**
 * Packed weeks of customers' events (migration 0024, event-packs.ts): written by `nunchi history pack` from
 * `customer_events`, read by simulation on history in place of a week's rows when current.
 */
export class EventPackRepository {
  constructor(
    private readonly client: CqlClient,
    /** the customers' data keys: packs are sealed under them (the keyring of `history`) */
    private readonly keys: CustomerKeyring,
    /** the rows packs are made from */
    private readonly history: ContextRepository,
    private readonly timeZone: string,
  ) {}

  /**
   * Simulation on history, for many customers: how each one's events of the local days [firstDay, lastDay]
   * are to be read (planPeriodRead) — the current packs, and from which day rows. Customers without any pack
   * cost one IN request per 50 and are read row by row from `firstDay`; only those with packs have their days
   * read too.
   */
  async planPeriod(
    customerIds: readonly string[],
    firstDay: string,
    lastDay: string,
  ): Promise<Map<string, PeriodReadPlan>> {
    const firstWeek = weekOf(firstDay);
    const lastWeek = weekOf(lastDay);
    const packs = await runAllByCustomer(
      this.client,
      Q.packsOfMany,
      customerIds,
      [firstWeek, lastWeek],
      BATCHED,
    );
    // only customers with packs have their days read: without, planPeriodRead reads rows from firstDay
    const days = await runAllByCustomer(
      this.client,
      Q.daysWritten,
      customerIds.filter((id) => packs.has(id)),
      [firstWeek, addDays(lastWeek, DAYS_A_WEEK - 1)],
      BATCHED,
    );
    return new Map(
      customerIds.map((id) => [
        id,
        planPeriodRead(
          writtenByDay(days.get(id) ?? []),
          (packs.get(id) ?? []).map(packOf),
          firstDay,
          lastDay,
        ),
      ]),
    );
  }

  /** The events of a pack (planPeriod), opened with the customer's data key. */
  async openPack(customerId: string, pack: StoredPack): Promise<AcceptedEvent[]> {
    const key = await this.keys.find(customerId);
    if (!key)
      throw new SealedDataError(
        `customer ${customerId} has a packed week of events and no data key (erased, or the key was lost): it cannot be read`,
      );
    return decodePackEvents(openCell(customerId, key, packPlace(pack.week), pack.events));
  }

  /**
   * Packs the customer's `weeks` (Mondays) that have events and no current pack: reads the week's events row by
   * row, checks them against the week's `customer_days` rows (the count each row's timestamp records), and
   * writes them sealed, with what they were made from. A week being written to meanwhile disagrees and is
   * skipped (the next run packs it); a late event after the pack makes it stale, and readers ignore it.
   * Keyed upserts: safe to run again, and beside the live path. `months`: the customer's month buckets.
   */
  async packWeeks(
    customerId: string,
    months: readonly string[],
    weeks: readonly string[],
  ): Promise<PackedWeeksCount> {
    const count: PackedWeeksCount = { packed: 0, current: 0, skipped: 0, events: 0 };
    if (weeks.length === 0) return count;
    const sorted = [...weeks].sort();
    const first = sorted[0];
    const last = sorted.at(-1)!;
    const [dayRows, packRows] = await Promise.all([
      runAll(this.client, Q.daysWritten, [[customerId], first, addDays(last, DAYS_A_WEEK - 1)]),
      runAll(this.client, Q.packedDays, [customerId, first, last]),
    ]);
    const written = writtenByDay(dayRows);
    const ttlOf = new Map(dayRows.map((r) => [r['day'] as string, Number(r['ttl'] ?? 0)]));
    const packed = new Map(packRows.map((r) => [r['week'] as string, r['days'] as string]));
    const records = packedDaysByWeek(written);
    for (const week of sorted) {
      const days = records.get(week);
      if (days === undefined) continue; // no event that week
      const withRows = daysOfWeek(week).filter((day) => written.has(day));
      if (packed.get(week) === days) {
        count.current++;
        continue;
      }
      const endMs = localDayRange(addDays(week, DAYS_A_WEEK), this.timeZone).startMs;
      const events = await this.history.periodEvents(customerId, months, week, endMs, this.timeZone);
      const expected = withRows.reduce((n, day) => n + eventCountOfDayTimestamp(written.get(day)!), 0);
      // The pack expires with the first of its days: it never outlives a row it was made from.
      const ttl = Math.min(...withRows.map((day) => ttlOf.get(day) ?? 0));
      const key = await this.keys.find(customerId);
      if (events.length !== expected || ttl <= 0 || !key) {
        count.skipped++;
        continue;
      }
      const cell = sealCell(customerId, key, packPlace(week), encodePackEvents(events));
      await run(this.client, Q.writePack, [customerId, week, days, cell, ttl]);
      count.packed++;
      count.events += events.length;
    }
    return count;
  }
}

type Row = cassandra.types.Row;

/** A customer's `customer_days` write timestamps by day (microseconds: the driver's Long, as a number). */
function writtenByDay(rows: readonly Row[]): Map<string, number> {
  return new Map(rows.map((r) => [r['day'] as string, Number(r['written'])]));
}

const packOf = (r: Row): StoredPack => ({
  week: r['week'] as string,
  days: r['days'] as string,
  events: r['events'] as Buffer,
});

/** what a pack's seal is bound to, with the customer id (a pack moved to another week does not open) */
const packPlace = (week: string) => `customer_event_packs.events/${week}`;
