import type { AcceptedEvent } from '@nunchi/contracts';
import { addDays, localDayRange } from '@nunchi/context-model';
import { openCell, SealedDataError, sealCell } from '@nunchi/sealing';
import type cassandra from 'cassandra-driver';
import { mapBounded } from '../bulk.js';
import type { CqlClient } from '../client.js';
import type { CustomerKeyring } from '../customer-keyring.js';
import {
  DAYS_A_WEEK,
  daysOfWeek,
  packedDaysOf,
  planPeriodRead,
  weekOf,
  type PeriodReadPlan,
  type StoredPack,
} from '../event-packs.js';
import { defineStatements, inGroupsOf, run, runAll, statement } from '../statements.js';
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

/** customers whose packs (and days) one request asks for */
const PACK_CUSTOMERS_A_REQUEST = 50;
/** such requests of one batched read in flight at once (as ContextRepository's simulation reads) */
const PACK_REQUESTS_IN_FLIGHT = 2;

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
   * cost one IN request per PACK_CUSTOMERS_A_REQUEST and are read row by row from `firstDay`; only those with
   * packs have their days read too.
   */
  async planPeriod(
    customerIds: readonly string[],
    firstDay: string,
    lastDay: string,
  ): Promise<Map<string, PeriodReadPlan>> {
    const firstWeek = weekOf(firstDay);
    const lastWeek = weekOf(lastDay);
    const packs = await this.manyByCustomer(Q.packsOfMany, customerIds, firstWeek, lastWeek);
    const withPacks = customerIds.filter((id) => packs.has(id));
    const days = await this.manyByCustomer(
      Q.daysWritten,
      withPacks,
      firstWeek,
      addDays(lastWeek, DAYS_A_WEEK - 1),
    );
    const out = new Map<string, PeriodReadPlan>();
    for (const id of customerIds) {
      const stored = packs.get(id);
      out.set(
        id,
        stored
          ? planPeriodRead(writtenByDay(days.get(id) ?? []), stored.map(packOf), firstDay, lastDay)
          : { packs: [], packedWeeks: new Set(), rowsFrom: firstDay },
      );
    }
    return out;
  }

  /** The events of a pack (planPeriod), opened with the customer's data key. */
  async openPack(customerId: string, pack: StoredPack): Promise<AcceptedEvent[]> {
    const key = await this.keys.find(customerId);
    if (!key)
      throw new SealedDataError(
        `customer ${customerId} has a packed week of events and no data key (erased, or the key was lost): it cannot be read`,
      );
    return JSON.parse(
      openCell(customerId, key, packPlace(pack.week), pack.events).toString('utf8'),
    ) as AcceptedEvent[];
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
    for (const week of sorted) {
      const withRows = daysOfWeek(week).filter((day) => written.has(day));
      if (withRows.length === 0) continue; // no event that week
      const days = packedDaysOf(written, week);
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
      const cell = sealCell(customerId, key, packPlace(week), Buffer.from(JSON.stringify(events), 'utf8'));
      await run(this.client, Q.writePack, [customerId, week, days, cell, ttl]);
      count.packed++;
      count.events += events.length;
    }
    return count;
  }

  /** `stmt` (customer_id IN ?, then a range) over many customers, by customer. */
  private async manyByCustomer(
    stmt: (typeof Q)[keyof typeof Q],
    customerIds: readonly string[],
    from: string,
    to: string,
  ): Promise<Map<string, Row[]>> {
    const out = new Map<string, Row[]>();
    await mapBounded(
      inGroupsOf(customerIds, PACK_CUSTOMERS_A_REQUEST),
      PACK_REQUESTS_IN_FLIGHT,
      async (group) => {
        for (const r of await runAll(this.client, stmt, [group, from, to], 10_000)) {
          const id = r['customer_id'] as string;
          const rows = out.get(id);
          if (rows) rows.push(r);
          else out.set(id, [r]);
        }
      },
    );
    return out;
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
