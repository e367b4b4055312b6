import { eventKey, type SealedField } from '@nunchi/contracts/core';
import type { AcceptedEvent, RecentEvent } from '@nunchi/contracts';
import {
  addDays,
  dayFromIndex,
  DIM_ALL,
  dayIndex,
  HORIZON_DAYS,
  localDay,
  localDayRange,
  openFromAt,
  RECENT_MAX,
  rollupEvents,
  toRecentEvent,
  type DailyRollup,
  type FoldOptions,
} from '@nunchi/context-model';
import { mapBounded, type BulkWrite } from '../bulk.js';
import type cassandra from 'cassandra-driver';
import type { DataKey } from '@nunchi/sealing';
import type { CqlClient } from '../client.js';
import type { CustomerKeyring } from '../customer-keyring.js';
import {
  anySealed,
  dayTotalsCell,
  eventBody,
  openDayTotals,
  openEventBody,
  parseEventBody,
} from '../sealed-history.js';
import { defineStatements, inGroupsOf, run, runAll, runAllByCustomer, statement } from '../statements.js';
import { weekOf } from '../event-packs.js';
import { WriteGroup, type BatchStatement } from '../write-group.js';

const Q = defineStatements({
  insertEvent: statement(
    'customer_events.insert',
    'INSERT INTO customer_events (customer_id, month, occurred_at, event_id, local_day, type, channel, store_id, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?',
  ),
  indexMonth: statement(
    'customer_event_months.insert',
    'INSERT INTO customer_event_months (customer_id, month) VALUES (?, ?) USING TTL ?',
  ),
  months: statement(
    'customer_event_months.list',
    'SELECT month FROM customer_event_months WHERE customer_id = ?',
  ),
  eventsFrom: statement(
    'customer_events.from',
    'SELECT body FROM customer_events WHERE customer_id = ? AND month = ? AND occurred_at >= ?',
  ),
  eventsBetween: statement(
    'customer_events.range',
    'SELECT event_id, local_day, body FROM customer_events WHERE customer_id = ? AND month = ? AND occurred_at >= ? AND occurred_at < ?',
  ),
  // Simulation on history: customers' events of a period, many customers and months in one request.
  eventsOfPeriod: statement(
    'customer_events.period',
    'SELECT customer_id, local_day, body FROM customer_events WHERE customer_id IN ? AND month IN ? AND occurred_at >= ? AND occurred_at < ?',
  ),
  eventsBefore: statement(
    'customer_events.before',
    'SELECT body FROM customer_events WHERE customer_id = ? AND month = ? AND occurred_at < ? LIMIT ?',
  ),
  // Simulation on history: the customers of a shard of the ring (token ranges of the month index), then
  // each customer's partitions.
  monthsInRange: statement(
    'customer_event_months.scan_range',
    'SELECT customer_id, month FROM customer_event_months WHERE token(customer_id) > ? AND token(customer_id) <= ?',
  ),
  monthsInTail: statement(
    'customer_event_months.scan_tail',
    'SELECT customer_id, month FROM customer_event_months WHERE token(customer_id) > ?',
  ),
  recentEvents: statement(
    'customer_events.recent',
    'SELECT body FROM customer_events WHERE customer_id = ? AND month = ? LIMIT ?',
  ),
  latestOfMonths: statement(
    'customer_events.latest_of_months',
    'SELECT month, body FROM customer_events WHERE customer_id = ? AND month IN ? PER PARTITION LIMIT ?',
  ),
  upsertDay: statement(
    'customer_days.upsert',
    'INSERT INTO customer_days (customer_id, day, totals) VALUES (?, ?, ?) USING TTL ? AND TIMESTAMP ?',
  ),
  deleteDay: statement(
    'customer_days.delete_day',
    'DELETE FROM customer_days USING TIMESTAMP ? WHERE customer_id = ? AND day = ?',
  ),
  deleteEvent: statement(
    'customer_events.delete',
    'DELETE FROM customer_events WHERE customer_id = ? AND month = ? AND occurred_at = ? AND event_id = ?',
  ),
  patternState: statement(
    'customer_patterns.get',
    'SELECT state FROM customer_patterns WHERE customer_id = ?',
  ),
  upsertPatterns: statement(
    'customer_patterns.upsert',
    'INSERT INTO customer_patterns (customer_id, state) VALUES (?, ?) USING TTL ? AND TIMESTAMP ?',
  ),
  insertTimer: statement(
    'pattern_timers.insert',
    'INSERT INTO pattern_timers (partition, minute, due_at, customer_id, pattern_key, anchor_event_id) VALUES (?, ?, ?, ?, ?, ?) USING TTL ?',
  ),
  deleteTimer: statement(
    'pattern_timers.delete',
    'DELETE FROM pattern_timers WHERE partition = ? AND minute = ? AND due_at = ? AND customer_id = ? AND pattern_key = ?',
  ),
  timersOfMinute: statement(
    'pattern_timers.minute',
    'SELECT due_at, customer_id, pattern_key, anchor_event_id FROM pattern_timers WHERE partition = ? AND minute = ?',
  ),
  timerCursor: statement(
    'pattern_timer_cursors.get',
    'SELECT minute FROM pattern_timer_cursors WHERE partition = ?',
  ),
  setTimerCursor: statement(
    'pattern_timer_cursors.set',
    'INSERT INTO pattern_timer_cursors (partition, minute) VALUES (?, ?)',
  ),
  daysSince: statement(
    'customer_days.since',
    'SELECT day, totals FROM customer_days WHERE customer_id = ? AND day >= ?',
  ),
  daysBetween: statement(
    'customer_days.between',
    'SELECT day, totals FROM customer_days WHERE customer_id = ? AND day >= ? AND day < ?',
  ),
  // Simulation on history: many customers' days before a period in one request.
  daysBetweenOfMany: statement(
    'customer_days.between_many',
    'SELECT customer_id, day, totals FROM customer_days WHERE customer_id IN ? AND day >= ? AND day < ?',
  ),
  // The same rows with the month list (a static column: one copy per partition, returned with every row).
  daysAndMonthsSince: statement(
    'customer_days.since_with_months',
    'SELECT day, totals, months FROM customer_days WHERE customer_id = ? AND day >= ?',
  ),
  listMonths: statement(
    'customer_days.list_months',
    'UPDATE customer_days USING TTL ? SET months = months + ? WHERE customer_id = ?',
  ),
  markActive: statement(
    'active_customers.insert',
    'INSERT INTO active_customers (partition, day, customer_id) VALUES (?, ?, ?)',
  ),
});

/** Days active_customers keeps (its table TTL is one day more): the most NUNCHI_PRELOAD_DAYS can ask. */
export const ACTIVE_DAYS_KEPT = 31;

/**
 * The write timestamp of a day's rollups (its `customer_days` row), in "microseconds": the day's number times
 * a million plus the number of events the rollups were computed from. Two writers recomputing the same day at once (a partition
 * handed over while its old owner finishes a message) each read a set of the day's events; the later
 * reader's set contains the earlier one's, so it holds more events and its row wins whatever order the
 * writes land in — a lost update cannot happen. The value is far below any wall-clock timestamp, so an
 * erasure (a deletion at the current time) always shadows the rows.
 */
export function dailyRowsTimestamp(day: string, eventCount: number, generation = 0): number {
  return generation * GENERATION_STEP + dayIndex(day) * 1_000_000 + Math.min(eventCount, 999_999);
}

/** The events of a day by its rows' write timestamp: the count dailyRowsTimestamp put in its last six digits. */
export function eventCountOfDayTimestamp(timestamp: number): number {
  return timestamp % 1_000_000;
}

/**
 * What one rollup generation adds to the write timestamp of a customer's days: above any day × 10⁶ + count
 * (day indexes stay below 10⁵ until the year 2243). An unlink (docs/identity.md) moves the survivor to the next
 * generation, so its days rebuilt from fewer events still win; ~17,000 generations stay below the wall-clock
 * timestamps of an erasure's deletions.
 */
export const GENERATION_STEP = 100_000_000_000;

/** The minute an absence timer is bucketed by: epoch minutes of its due time. */
export function timerMinute(dueMs: number): number {
  return Math.floor(dueMs / 60_000);
}

/** An absence timer armed (`set`) and/or cleared by one fold, for the customer's EVENTS partition. */
export interface TimerRowChange {
  partition: number;
  patternKey: string;
  set: { dueMs: number; anchorEventId: string } | null;
  cleared: { dueMs: number } | null;
}

export interface DueTimerRow {
  dueMs: number;
  customerId: string;
  patternKey: string;
  anchorEventId: string;
}

/** What writeFolded writes besides the event and its day. */
export interface FoldedWriteOptions {
  /** write the event's month into the month index (default true; false when known written) */
  indexMonth?: boolean;
  /**
   * months ('YYYY-MM') to add to the customer's month list: the event's when new, or every month of the
   * customer when the list was missing (StoredHistory.monthsListed false), so that a list present is complete
   */
  listMonths?: readonly string[];
  /** the generation the customer's days are written at (docs/identity.md) */
  generation?: number;
  /** the customer's pattern state after this event (JSON, docs/patterns.md), when patterns are active */
  patternState?: string;
  /** absence timers armed and cleared by this fold, with the customer's EVENTS partition */
  timers?: readonly TimerRowChange[];
  /**
   * the customer's EVENTS partition, when this is its first event of the day (`dayEventCount` 1): the day is
   * recorded in active_customers, which a replica gaining the partition preloads from
   */
  activeIn?: number;
  /**
   * the event's payload as EVENTS carried it, sealed: stored as it is when sealed for this customer under
   * their current data key (else the payload is sealed again)
   */
  sealedPayload?: SealedField;
}

/** A token range for a CQL range query: token > start and, unless `end` is undefined, token <= end. */
export interface TokenBounds {
  start: unknown;
  end: unknown;
}

/** A customer's stored history as context folds it: see storedHistory and libs/context-model openContext. */
export interface StoredHistory {
  rows: DailyRollup[];
  recent: RecentEvent[];
  /** first open day (day index) */
  openFrom: number;
  /** every stored event of the open days */
  openEvents: AcceptedEvent[];
  /** month buckets ('YYYY-MM') holding the customer's events, newest first */
  months: string[];
  /**
   * whether `months` came from customer_days' month list; false: from the month index, and the list is to be
   * written whole at the next write (writeFolded's `listMonths`), so that a list, once present, is complete
   */
  monthsListed: boolean;
}

/** Events per month bucket ('YYYY-MM'), as the daily rows of dim `all` count them. */
function eventsPerMonth(rows: readonly DailyRollup[]): Map<string, number> {
  const perMonth = new Map<string, number>();
  for (const r of rows)
    if (r.dim === DIM_ALL) perMonth.set(r.day.slice(0, 7), (perMonth.get(r.day.slice(0, 7)) ?? 0) + r.events);
  return perMonth;
}

/**
 * Which month buckets (newest first) hold a customer's latest RECENT_MAX events, and how many to read from
 * each, from the events counted in the daily rows of dim `all`.
 */
function recentPlan(rows: readonly DailyRollup[], months: readonly string[]): Array<[string, number]> {
  const perMonth = eventsPerMonth(rows);
  const plan: Array<[string, number]> = [];
  let needed = RECENT_MAX;
  for (const month of months) {
    if (needed <= 0) break;
    const n = perMonth.get(month) ?? 0;
    if (n === 0) break; // not accounted for by the rows: read from here on month by month
    plan.push([month, Math.min(n, needed)]);
    needed -= n;
  }
  return plan;
}

/** One customer's `customer_days` rows as stored (ContextRepository.daysBefore), still sealed. */
export type StoredDays = readonly cassandra.types.Row[];

/** customers whose events of a simulated period are read in one request (ContextRepository.periodBodies) */
const PERIOD_CUSTOMERS_A_REQUEST = 25;

/**
 * such requests of one batched read (periodBodies, daysBefore) in flight at once. Each asks the node for 25–50
 * partitions, queued in its read stage ahead of live reads: all of a chunk's at once (8, and the next chunk's
 * beside them) put hundreds there.
 * Measured with a single-partition probe read every 5 ms beside `bench:simulate`'s read phase (four
 * interleaved pairs): the probe's max 23–79 ms with all at once, 17–29 ms with two; the read as fast
 * (44,200–53,600 against 43,800–51,200 events/s).
 */
const PERIOD_REQUESTS_IN_FLIGHT = 2;

/**
 * A customer's history: events as wide rows bucketed by local month, and daily rollups — one `customer_days`
 * row per local day holding every dimension of it (encoded by day-totals.ts), so a cold load reads one row
 * per active day and a fold writes one. What is personal in them is sealed under the customer's data key
 * (sealed-history.ts): every write obtains the key (from memory on the hot path), every read opens with it.
 */
export class ContextRepository {
  /** the folds of many customers, one request (group commit) */
  private readonly writes: WriteGroup;

  constructor(
    private readonly client: CqlClient,
    /** seconds an event and its rollups are kept */
    private readonly ttlSeconds: number,
    /** customers' data keys: the rows are sealed under them */
    private readonly keys: CustomerKeyring,
  ) {
    this.writes = WriteGroup.unlogged(client);
  }

  /** The customer's data key, created on first use: for bulk loads (historyWrites). */
  dataKey(customerId: string): Promise<DataKey> {
    return this.keys.obtain(customerId);
  }

  /** One customer's stored event bodies, opened: the key is read only when one is sealed (then from memory). */
  private async openEvents(customerId: string, bodies: readonly string[]): Promise<AcceptedEvent[]> {
    const stored = bodies.map(parseEventBody);
    const key = anySealed(stored) ? await this.keys.find(customerId) : undefined;
    return stored.map((m) => openEventBody(customerId, m, key));
  }

  /** One customer's stored `customer_days` rows, opened and decoded, in the rows' order. */
  private async openDays(customerId: string, rows: readonly Row[]): Promise<DailyRollup[]> {
    const key = anySealed([], rows.map(totalsOf)) ? await this.keys.find(customerId) : undefined;
    const out: DailyRollup[] = [];
    for (const r of rows)
      for (const rollup of openDayTotals(customerId, r['day'] as string, totalsOf(r), key)) out.push(rollup);
    return out;
  }

  /**
   * seconds a month index row is kept: a month longer than its events, so that a row written once for the
   * month's first event (the live path skips months it knows) outlives the month's last event
   */
  private get monthIndexTtlSeconds(): number {
    return this.ttlSeconds + 32 * 86_400;
  }

  /** Stores the event and records its month bucket (both keyed upserts: safe to repeat). */
  async insertEvent(event: AcceptedEvent, localDay: string): Promise<void> {
    const month = localDay.slice(0, 7);
    const key = await this.keys.obtain(event.customerId);
    await Promise.all([
      run(this.client, Q.insertEvent, this.eventRowParams(event, localDay, key)),
      run(this.client, Q.indexMonth, [event.customerId, month, this.monthIndexTtlSeconds]),
    ]);
  }

  /**
   * Everything one folded event changes, in one unlogged batch, with other customers' folds written at the
   * same time (WriteGroup: one request for all of them; resolved once stored): the event row, its month index
   * row (unless the caller knows it is written: `indexMonth` false), the months to add to the customer's month
   * list, and the day's row of rollups recomputed from `dayEventCount` events (timestamped as
   * dailyRowsTimestamp says, so a stale writer's row loses). All keyed upserts: safe to repeat. Partitions:
   * the event's month bucket, the month index and the customer's days, all of one customer.
   */
  async writeFolded(
    event: AcceptedEvent,
    localDay: string,
    dayRows: readonly DailyRollup[],
    dayEventCount: number,
    options: FoldedWriteOptions = {},
  ): Promise<void> {
    const {
      indexMonth = true,
      listMonths = [],
      generation = 0,
      patternState,
      timers = [],
      activeIn,
      sealedPayload,
    } = options;
    const month = localDay.slice(0, 7);
    const timestamp = dailyRowsTimestamp(localDay, dayEventCount, generation);
    const key = await this.keys.obtain(event.customerId);
    const queries = [
      { query: Q.insertEvent.cql, params: this.eventRowParams(event, localDay, key, sealedPayload) },
      ...(indexMonth
        ? [{ query: Q.indexMonth.cql, params: [event.customerId, month, this.monthIndexTtlSeconds] }]
        : []),
      ...(listMonths.length
        ? [
            {
              query: Q.listMonths.cql,
              params: [this.monthIndexTtlSeconds, [...listMonths], event.customerId],
            },
          ]
        : []),
      {
        query: Q.upsertDay.cql,
        params: this.dayRowParams(event.customerId, localDay, dayRows, timestamp, key),
      },
      // Timestamped by the event's receipt: a stale owner's older fold loses (migration 0014).
      ...(patternState === undefined
        ? []
        : [
            {
              query: Q.upsertPatterns.cql,
              params: [event.customerId, patternState, this.ttlSeconds, event.receivedAtMs * 1000],
            },
          ]),
      ...timers.flatMap((t) => this.timerQueries(event.customerId, t)),
      ...(activeIn === undefined
        ? []
        : [{ query: Q.markActive.cql, params: [activeIn, localDay, event.customerId] }]),
    ];
    await this.writes.write(queries);
  }

  /** Writes absence timer changes alone (a timer fired: its row goes with the state that no longer has it). */
  async writePatternState(
    customerId: string,
    patternState: string,
    atMs: number,
    timers: readonly TimerRowChange[],
  ): Promise<void> {
    const queries = [
      { query: Q.upsertPatterns.cql, params: [customerId, patternState, this.ttlSeconds, atMs * 1000] },
      ...timers.flatMap((t) => this.timerQueries(customerId, t)),
    ];
    await this.writes.write(queries);
  }

  private timerQueries(customerId: string, t: TimerRowChange): BatchStatement[] {
    // the row's key: partition, minute, due_at, customer, pattern
    const key = (dueMs: number) => [
      t.partition,
      timerMinute(dueMs),
      new Date(dueMs),
      customerId,
      t.patternKey,
    ];
    const out: BatchStatement[] = [];
    if (t.cleared) out.push({ query: Q.deleteTimer.cql, params: key(t.cleared.dueMs) });
    if (t.set)
      out.push({
        query: Q.insertTimer.cql,
        params: [
          ...key(t.set.dueMs),
          t.set.anchorEventId,
          // kept a day past its time: a partition without an owner that long still finds it
          Math.max(1, Math.ceil((t.set.dueMs - Date.now()) / 1000) + 86_400),
        ],
      });
    return out;
  }

  /** The timers due in one minute of one partition. */
  async timersOfMinute(partition: number, minute: number): Promise<DueTimerRow[]> {
    const rows = await runAll(this.client, Q.timersOfMinute, [partition, minute]);
    return rows.map((r) => ({
      dueMs: (r['due_at'] as Date).getTime(),
      customerId: r['customer_id'] as string,
      patternKey: r['pattern_key'] as string,
      anchorEventId: r['anchor_event_id'] as string,
    }));
  }

  /** The first minute of the partition not yet fully fired, if recorded. */
  async timerCursor(partition: number): Promise<number | undefined> {
    const row = (await run(this.client, Q.timerCursor, [partition])).first();
    const minute = row?.['minute'] as { toNumber(): number } | null | undefined;
    return minute ? minute.toNumber() : undefined;
  }

  async setTimerCursor(partition: number, minute: number): Promise<void> {
    await run(this.client, Q.setTimerCursor, [partition, minute]);
  }

  /** The customer's stored pattern state (JSON, docs/patterns.md), or undefined when none was written. */
  async patternState(customerId: string): Promise<string | undefined> {
    const row = (await run(this.client, Q.patternState, [customerId])).first();
    return (row?.['state'] as string | null | undefined) ?? undefined;
  }

  /** Every stored event at or after `fromMs` in the given month buckets ('YYYY-MM'), in no particular order. */
  async eventsFrom(customerId: string, months: readonly string[], fromMs: number): Promise<AcceptedEvent[]> {
    const pages = await Promise.all(
      months.map((month) => runAll(this.client, Q.eventsFrom, [customerId, month, new Date(fromMs)])),
    );
    return this.openEvents(customerId, pages.flat().map(bodyOf));
  }

  /** Every stored event of one local day (the day's instants [startMs, endMs) lie in one month bucket). */
  async eventsOfDay(
    customerId: string,
    day: string,
    startMs: number,
    endMs: number,
  ): Promise<AcceptedEvent[]> {
    const rows = await runAll(this.client, Q.eventsBetween, [
      customerId,
      day.slice(0, 7),
      new Date(startMs),
      new Date(endMs),
    ]);
    return this.openEvents(customerId, rows.filter((r) => r['local_day'] === day).map(bodyOf));
  }

  /** Every stored event of a customer (a merge reads both histories whole: never a per-event path). */
  async allEvents(customerId: string): Promise<AcceptedEvent[]> {
    return this.eventsFrom(customerId, await this.months(customerId), 0);
  }

  /**
   * A merge's writes into the survivor (libs/context-model mergeHistories): the moved events (already under
   * the survivor's id) with their month index rows, and each day they touch rebuilt from both histories,
   * timestamped like any fold of that many events. Keyed upserts: safe to repeat.
   */
  async writeMerged(
    moved: readonly AcceptedEvent[],
    days: ReadonlyArray<{ day: string; rows: DailyRollup[]; eventCount: number }>,
    survivorId: string,
    timeZone: string,
    generation = 0,
  ): Promise<void> {
    await mapBounded(moved, 32, (e) => this.insertEvent(e, localDay(e.occurredAtMs, timeZone)));
    await mapBounded(days, 32, (d) => this.upsertDay(survivorId, d.day, d.rows, d.eventCount, generation));
    // The month list is written whole from the index (complete: the moved events' months were just indexed).
    const months = await this.months(survivorId);
    if (months.length) await run(this.client, Q.listMonths, [this.monthIndexTtlSeconds, months, survivorId]);
  }

  /** An unlink: the survivor's copies of the absorbed customer's events go (keyed deletions of immutable rows). */
  async deleteEvents(events: readonly AcceptedEvent[], timeZone: string): Promise<void> {
    // Rows are keyed by the event's key; rows written before keys, by its bare id: both go.
    const rows = events.flatMap((e) => [eventKey(e), e.id].map((column) => ({ e, column })));
    await mapBounded(rows, 32, ({ e, column }) =>
      run(this.client, Q.deleteEvent, [
        e.customerId,
        localDay(e.occurredAtMs, timeZone).slice(0, 7),
        new Date(e.occurredAtMs),
        column,
      ]),
    );
  }

  /** Month buckets ('YYYY-MM') holding the customer's events, newest first. */
  async months(customerId: string): Promise<string[]> {
    return (await runAll(this.client, Q.months, [customerId])).map((r) => r['month'] as string);
  }

  /** The newest `limit` events over the customer's month buckets (newest first; all of them by default), newest first. */
  async recentEvents(
    customerId: string,
    limit: number,
    months?: readonly string[],
  ): Promise<AcceptedEvent[]> {
    const out: AcceptedEvent[] = [];
    for (const month of months ?? (await this.months(customerId))) {
      if (out.length >= limit) break;
      const rows = (await run(this.client, Q.recentEvents, [customerId, month, limit - out.length])).rows;
      out.push(...(await this.openEvents(customerId, rows.map(bodyOf))));
    }
    return out;
  }

  /**
   * What a customer's context is folded from (libs/context-model openContext), as of `nowMs`: the daily rows
   * of the horizon, the recent events, and every event of the open days. Two round trips of one request
   * each, usually: the daily rows with the month list (customer_days' static `months`), then the newest
   * month buckets all at once (one multi-partition read, each bucket as deep as it needs). Only when the rows
   * do not account for the latest RECENT_MAX events (events older than the horizon) does it read further
   * back, month by month; only without a month list (no day in the horizon, or days from before migration
   * 0017) is the month index read.
   */
  async storedHistory(customerId: string, options: FoldOptions): Promise<StoredHistory> {
    const today = localDay(options.nowMs, options.timeZone);
    const openFrom = openFromAt(options);
    const openDay = dayFromIndex(openFrom);
    const openFromMs = localDayRange(openDay, options.timeZone).startMs;
    const openMonth = openDay.slice(0, 7);
    const days = await this.daysAndMonths(customerId, addDays(today, -(HORIZON_DAYS - 1)));
    const rows = days.rows;
    const months = days.months ?? (await this.months(customerId));
    // The buckets to read: those holding the latest RECENT_MAX events (as many as the rows count in each),
    // and the open months, from which every event since the open days began. An open bucket is read one
    // event deeper than the rows count there since then, so that reaching an older event proves it complete.
    const plan = recentPlan(rows, months);
    const openPerMonth = eventsPerMonth(rows.filter((r) => r.day >= openDay));
    const buckets = new Map<string, { recent: number; depth: number; open: boolean }>();
    for (const [month, limit] of plan) buckets.set(month, { recent: limit, depth: limit, open: false });
    for (const month of months.filter((m) => m >= openMonth)) {
      const recent = buckets.get(month)?.recent ?? 0;
      buckets.set(month, {
        recent,
        depth: Math.max(recent, (openPerMonth.get(month) ?? 0) + 1),
        open: true,
      });
    }
    const read = await this.latestOfMonths(customerId, buckets);
    const recent: AcceptedEvent[] = [];
    const openEvents: AcceptedEvent[] = [];
    for (const [month, bucket] of buckets) {
      const events = read.get(month) ?? [];
      recent.push(...events.slice(0, bucket.recent)); // plan order: newest month first
      if (!bucket.open) continue;
      const oldest = events.at(-1);
      const complete =
        events.length < bucket.depth || (oldest !== undefined && oldest.occurredAtMs < openFromMs);
      // A count that fell short (rows written after the read of them) costs the exact read, never an event.
      openEvents.push(
        ...(complete
          ? events.filter((e) => e.occurredAtMs >= openFromMs)
          : await this.eventsFrom(customerId, [month], openFromMs)),
      );
    }
    const rest = months.filter((m) => !plan.some(([planned]) => planned === m));
    if (recent.length < RECENT_MAX && rest.length)
      recent.push(...(await this.recentEvents(customerId, RECENT_MAX - recent.length, rest)));
    return {
      rows,
      recent: recent.map(toRecentEvent),
      openFrom,
      openEvents,
      months,
      monthsListed: days.months !== null,
    };
  }

  /**
   * The newest `depth` events of each month bucket given, newest first, in one request (a read of several
   * partitions of customer_events: the coordinator gathers them). Buckets keep the map's order.
   */
  private async latestOfMonths(
    customerId: string,
    buckets: ReadonlyMap<string, { depth: number }>,
  ): Promise<Map<string, AcceptedEvent[]>> {
    const out = new Map<string, AcceptedEvent[]>();
    const wanted = [...buckets].filter(([, b]) => b.depth > 0);
    if (!wanted.length) return out;
    const deepest = Math.max(...wanted.map(([, b]) => b.depth));
    const rows = await runAll(this.client, Q.latestOfMonths, [customerId, wanted.map(([m]) => m), deepest]);
    const kept = new Map<string, number>();
    const months: string[] = [];
    const bodies: string[] = [];
    for (const r of rows) {
      const month = r['month'] as string;
      const n = kept.get(month) ?? 0;
      if (n >= (buckets.get(month)?.depth ?? 0)) continue;
      kept.set(month, n + 1);
      months.push(month);
      bodies.push(bodyOf(r));
    }
    const events = await this.openEvents(customerId, bodies);
    for (const [i, month] of months.entries()) {
      const ofMonth = out.get(month);
      if (ofMonth) ofMonth.push(events[i]);
      else out.set(month, [events[i]]);
    }
    return out;
  }

  /**
   * The token ranges of shard `index` (0-based) of `count`: every range of the ring (the driver's token-range
   * metadata, unwrapped) split evenly in `count` pieces, piece `index` of each. The shards of one count
   * cover the ring exactly once, so every partition — every customer of a table keyed by customer_id — is in
   * exactly one shard, and each shard has about 1/count of the ring.
   */
  shardRanges(index: number, count: number): TokenBounds[] {
    const ranges = [...this.client.metadata.getTokenRanges()]
      .flatMap((r) => r.unwrap())
      .sort((a, b) => a.compare(b));
    return ranges.flatMap((range) => {
      const piece = count === 1 ? range : range.splitEvenly(count)[index];
      // Unwrapped, only a range that ends at the ring's minimum token has start >= end: it runs to the end of
      // the ring (one node without vnodes: the whole ring).
      const tail = piece.start.compare(piece.end) >= 0;
      return [
        {
          start: piece.start.getValue() as unknown,
          end: tail ? undefined : (piece.end.getValue() as unknown),
        },
      ];
    });
  }

  /**
   * Every customer with stored events in the token ranges given (shardRanges), with the month buckets
   * ('YYYY-MM', newest first) holding their events, read from the month index one range at a time (a few in
   * parallel, paged): for simulation on history, never a live path. `onRange` is told after each range;
   * `beforePage`, when given, is awaited before each page is asked for (a simulation waits there for live traffic).
   */
  async customersInRanges(
    ranges: readonly TokenBounds[],
    onRange?: (done: number, total: number) => void,
    beforePage?: () => Promise<unknown>,
  ): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    let done = 0;
    const scan = async (range: TokenBounds) => {
      const [stmt, params] =
        range.end === undefined
          ? [Q.monthsInTail, [range.start]]
          : [Q.monthsInRange, [range.start, range.end]];
      let pageState: string | undefined;
      do {
        await beforePage?.();
        const page = await run(this.client, stmt, params, { fetchSize: 10_000, pageState });
        for (const r of page.rows) {
          const id = r['customer_id'] as string;
          const months = out.get(id);
          if (months) months.push(r['month'] as string);
          else out.set(id, [r['month'] as string]);
        }
        pageState = page.pageState ?? undefined;
      } while (pageState);
      onRange?.(++done, ranges.length);
    };
    let next = 0;
    const worker = async () => {
      while (next < ranges.length) await scan(ranges[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(4, ranges.length) }, worker));
    return out;
  }

  /**
   * Simulation on history: reads the data keys of `customerIds` into memory, 50 customers a request
   * (CustomerKeyring.preload), ahead of reading their rows one customer at a time — rather than one request
   * for each customer's key. Customers without a key, or with one this process cannot unwrap, are left for
   * their own read to find (and say why).
   */
  async prefetchKeys(customerIds: readonly string[]): Promise<void> {
    await this.keys.preload(customerIds);
  }

  /** Simulation on history: forgets the data keys of customers read (their rows are opened). */
  forgetKeys(customerIds: readonly string[]): void {
    this.keys.evict(customerIds);
  }

  /**
   * Simulation on history, for one customer: every event that occurred in [start of local day `day`,
   * `endMs`), opened. `months`: the customer's month buckets, newest first (customersInRanges). As
   * periodBodies then openBodies.
   */
  async periodEvents(
    customerId: string,
    months: readonly string[],
    day: string,
    endMs: number,
    timeZone: string,
  ): Promise<AcceptedEvent[]> {
    const bodies = await this.periodBodies([{ customerId, months }], day, endMs, timeZone);
    return this.openBodies(customerId, bodies.get(customerId) ?? []);
  }

  /**
   * Simulation on history, for many customers: the stored bodies of every event that occurred in [start of
   * local day `day` — or of the customer's `fromDay` —, `endMs`), by customer (none: not in the map), not opened
   * — openBodies opens a customer's; those of the customer's `skipWeeks` (Mondays: weeks read from their packs,
   * event-packs.ts) left out. `months`: each customer's month buckets (customersInRanges). One request per
   * PERIOD_CUSTOMERS_A_REQUEST customers of one start (`customer_id IN ? AND month IN ?`: their month buckets
   * of the period, every pair; a pair without a partition costs next to nothing), where one a customer cost
   * ~50 µs of this process and more of Cassandra's.
   */
  async periodBodies(
    customers: ReadonlyArray<{
      customerId: string;
      months: readonly string[];
      fromDay?: string;
      skipWeeks?: ReadonlySet<string>;
    }>,
    day: string,
    endMs: number,
    timeZone: string,
  ): Promise<Map<string, string[]>> {
    const lastMonth = localDay(endMs - 1, timeZone).slice(0, 7);
    const byStart = new Map<string, (typeof customers)[number][]>();
    for (const c of customers) {
      const from = c.fromDay ?? day;
      const firstMonth = from.slice(0, 7);
      if (!c.months.some((m) => m >= firstMonth && m <= lastMonth)) continue;
      const group = byStart.get(from);
      if (group) group.push(c);
      else byStart.set(from, [c]);
    }
    const requests = [...byStart].flatMap(([from, group]) =>
      inGroupsOf(group, PERIOD_CUSTOMERS_A_REQUEST).map((g) => ({ from, group: g })),
    );
    const skipping = new Map(
      customers.filter((c) => c.skipWeeks?.size).map((c) => [c.customerId, c.skipWeeks!]),
    );
    const out = new Map<string, string[]>();
    await mapBounded(requests, PERIOD_REQUESTS_IN_FLIGHT, async ({ from, group }) => {
      const firstMonth = from.slice(0, 7);
      const inPeriod = (m: string) => m >= firstMonth && m <= lastMonth;
      const months = [...new Set(group.flatMap((c) => c.months.filter(inPeriod)))].sort();
      const rows = await runAll(this.client, Q.eventsOfPeriod, [
        group.map((c) => c.customerId),
        months,
        new Date(localDayRange(from, timeZone).startMs),
        new Date(endMs),
      ]);
      for (const r of rows) {
        const id = r['customer_id'] as string;
        if (skipping.get(id)?.has(weekOf(r['local_day'] as string))) continue;
        const bodies = out.get(id);
        if (bodies) bodies.push(bodyOf(r));
        else out.set(id, [bodyOf(r)]);
      }
    });
    return out;
  }

  /**
   * Simulation on history, for many customers: the daily rows historyBefore reads (the horizon's before local
   * day `day`), PERIOD_CUSTOMERS_A_REQUEST customers a request, by customer (none: not in the map), not
   * opened — historyBefore takes a customer's.
   */
  async daysBefore(customerIds: readonly string[], day: string): Promise<Map<string, StoredDays>> {
    return runAllByCustomer(
      this.client,
      Q.daysBetweenOfMany,
      customerIds,
      [addDays(day, -HORIZON_DAYS), day],
      {
        perRequest: PERIOD_CUSTOMERS_A_REQUEST,
        inFlight: PERIOD_REQUESTS_IN_FLIGHT,
      },
    );
  }

  /** Stored event bodies of one customer (periodBodies), opened with the customer's data key. */
  openBodies(customerId: string, bodies: readonly string[]): Promise<AcceptedEvent[]> {
    return this.openEvents(customerId, bodies);
  }

  /**
   * Simulation on history, for one customer: what came before local day `day`, as stored now — the rollup
   * rows of the horizon before it and the newest events (short form) that occurred before it began, read
   * from the months before, newest first, until RECENT_MAX are found (skipping those the rows show to hold
   * none). `months`: as periodEvents.
   */
  async historyBefore(
    customerId: string,
    months: readonly string[],
    day: string,
    timeZone: string,
    /** the customer's rows of daysBefore, when read with others' (else read here) */
    storedDays?: StoredDays,
  ): Promise<{ rows: DailyRollup[]; recent: RecentEvent[] }> {
    const startMs = localDayRange(day, timeZone).startMs;
    const firstMonth = day.slice(0, 7);
    const horizonDay = addDays(day, -HORIZON_DAYS);
    // the horizon's rows before `day` only: the replay rebuilds the days from `day` on from their events
    const rows = await this.openDays(
      customerId,
      storedDays ?? (await runAll(this.client, Q.daysBetween, [customerId, horizonDay, day], 10_000)),
    );
    const recent: RecentEvent[] = [];
    // A month wholly inside the rows' horizon with no event counted in them before `day` has none to read: a
    // day's row is written with its events (and expires with them). Older months are read as they come.
    const counted = eventsPerMonth(rows);
    const horizonMonth = horizonDay.slice(0, 7);
    for (const month of months.filter((m) => m <= firstMonth)) {
      if (recent.length >= RECENT_MAX) break;
      if (month > horizonMonth && !counted.has(month)) continue;
      const page = await run(this.client, Q.eventsBefore, [
        customerId,
        month,
        new Date(startMs),
        RECENT_MAX - recent.length,
      ]);
      for (const e of await this.openEvents(customerId, page.rows.map(bodyOf))) recent.push(toRecentEvent(e));
    }
    return { rows, recent };
  }

  /**
   * Replaces one day's rollups (its `customer_days` row), recomputed from `eventCount` events of that day. See
   * dailyRowsTimestamp for why the timestamp.
   */
  async upsertDay(
    customerId: string,
    day: string,
    rows: DailyRollup[],
    eventCount: number,
    generation = 0,
  ): Promise<void> {
    const timestamp = dailyRowsTimestamp(day, eventCount, generation);
    // A day left with no events (an unlink took them all) is deleted at the timestamp it would be written at.
    if (!rows.length) {
      if (generation > 0) await run(this.client, Q.deleteDay, [timestamp, customerId, day]);
      return;
    }
    const key = await this.keys.obtain(customerId);
    await run(this.client, Q.upsertDay, this.dayRowParams(customerId, day, rows, timestamp, key));
  }

  /**
   * The rows the live path would have written for a customer's whole history — events, month index and
   * list, daily rollups with their timestamps — as bulk writes (writeBatched): for backfills and benchmarks.
   * `events` must be all of one customer's events: the month list written is theirs.
   */
  historyWrites(
    events: readonly AcceptedEvent[],
    /** the customer's data key (CustomerKeyring.obtain; a bulk load may create and store keys itself) */
    key: DataKey,
    timeZone: string,
    /** the customer's EVENTS partition: its days of the last ACTIVE_DAYS_KEPT are recorded as the live path does */
    partition?: number,
    nowMs = Date.now(),
  ): BulkWrite[] {
    const writes: BulkWrite[] = [];
    const customerId = events[0]?.customerId;
    if (customerId === undefined) return writes;
    const months = new Set<string>();
    const perDay = new Map<string, number>();
    for (const e of events) {
      const day = localDay(e.occurredAtMs, timeZone);
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
      if (!months.has(`${e.customerId}/${day.slice(0, 7)}`)) {
        months.add(`${e.customerId}/${day.slice(0, 7)}`);
        writes.push({
          query: Q.indexMonth.cql,
          params: [e.customerId, day.slice(0, 7), this.monthIndexTtlSeconds],
        });
      }
      writes.push({ query: Q.insertEvent.cql, params: this.eventRowParams(e, day, key) });
    }
    if (months.size)
      writes.push({
        query: Q.listMonths.cql,
        params: [
          this.monthIndexTtlSeconds,
          [...months].map((m) => m.slice(m.lastIndexOf('/') + 1)),
          customerId,
        ],
      });
    const rows = rollupEvents(events, timeZone); // newest day first
    const activeSince = addDays(localDay(nowMs, timeZone), -(ACTIVE_DAYS_KEPT - 1));
    for (let i = 0; i < rows.length;) {
      const day = rows[i].day;
      let end = i;
      while (end < rows.length && rows[end].day === day) end++;
      const timestamp = dailyRowsTimestamp(day, perDay.get(day) ?? 0);
      writes.push({
        query: Q.upsertDay.cql,
        params: this.dayRowParams(customerId, day, rows.slice(i, end), timestamp, key),
      });
      if (partition !== undefined && day >= activeSince)
        writes.push({ query: Q.markActive.cql, params: [partition, day, customerId] });
      i = end;
    }
    return writes;
  }

  /** Parameters of Q.insertEvent for one event, in column order. */
  private eventRowParams(
    event: AcceptedEvent,
    localDay: string,
    key: DataKey,
    sealedPayload?: SealedField,
  ): unknown[] {
    return [
      event.customerId,
      localDay.slice(0, 7),
      new Date(event.occurredAtMs),
      // the event's key (channel and id): two channels' events with one id and instant are two rows
      eventKey(event),
      localDay,
      event.type,
      event.channel,
      event.storeId ?? null,
      eventBody(event, key, sealedPayload),
      this.ttlSeconds,
    ];
  }

  /** Parameters of Q.upsertDay: one day's rollup rows (every dim), encoded into one cell. */
  private dayRowParams(
    customerId: string,
    day: string,
    rows: readonly DailyRollup[],
    timestamp: number,
    key: DataKey,
  ): unknown[] {
    return [customerId, day, dayTotalsCell(customerId, day, rows, key), this.ttlSeconds, timestamp];
  }

  /**
   * dailySince with the customer's month list (newest first), or null without one: no day since `fromDay`
   * (a static column comes only with a row), or days written before migration 0017.
   */
  private async daysAndMonths(
    customerId: string,
    fromDay: string,
  ): Promise<{ rows: DailyRollup[]; months: string[] | null }> {
    const rows = await runAll(this.client, Q.daysAndMonthsSince, [customerId, fromDay], 10_000);
    const listed = rows.find((r) => r['months'])?.['months'] as string[] | undefined;
    return {
      rows: await this.openDays(customerId, rows),
      months: listed ? [...listed].sort().reverse() : null,
    };
  }

  /** The rollup rows of the days from `fromDay` on: newest day first, dims ascending (as stored). */
  async dailySince(customerId: string, fromDay: string): Promise<DailyRollup[]> {
    return this.openDays(customerId, await runAll(this.client, Q.daysSince, [customerId, fromDay], 10_000));
  }
}

type Row = cassandra.types.Row;
const bodyOf = (row: Row): string => row['body'] as string;
const totalsOf = (row: Row): Buffer => row['totals'] as Buffer;
