import { DAYS_A_WEEK, weekOf, weeksBetween, type PackedWeeksCount } from '@nunchi/cassandra';
import { addDays, localDay } from '@nunchi/context-model';
import { MissingKekError, SealedDataError } from '@nunchi/sealing';
import { forEachBounded } from '../bounded.js';
import { BadInputError } from '../campaigns/errors.js';
import type { CampaignPorts } from '../campaigns/ports.js';

export interface PackHistoryOptions {
  /**
   * the closed weeks to pack, counted back from the last (the week before this one, local time): a daily run
   * needs 2 (late events of the last week, and the one closed since); default every week the events are kept
   * (NUNCHI_EVENT_TTL_DAYS)
   */
  weeks?: number;
  /** told after each customer */
  report?: (done: number, total: number) => void;
}

export interface PackHistoryResult extends PackedWeeksCount {
  /** Mondays of the first and last week considered */
  fromWeek: string;
  toWeek: string;
  /** customers with events in those weeks */
  customers: number;
  /**
   * customers left as they are: their history does not open here (a data key under an identity key this
   * process lacks, or erased meanwhile), with the first reason
   */
  unreadable: { customers: number; reason?: string };
}

/** customers packed at once: each reads its days and its packs, then each week to pack */
const CUSTOMERS_IN_FLIGHT = 16;

/**
 * `nunchi history pack`: packs every customer's closed weeks of events (docs/campaigns.md, "Packed weeks"),
 * so that a simulation reads one sealed cell a customer-week instead of a row an event. Customers from the
 * month index (the whole ring); a week whose pack is current is left as it is, so a run after the first
 * writes only the weeks closed or changed since. Safe beside live traffic and to run again.
 */
export async function packHistory(
  ports: Pick<CampaignPorts, 'history' | 'packs' | 'domain' | 'now'>,
  options: PackHistoryOptions = {},
): Promise<PackHistoryResult> {
  const { history, packs, domain } = ports;
  const kept = Math.ceil(domain.eventTtlDays / DAYS_A_WEEK) + 1;
  const weeks = options.weeks ?? kept;
  if (!Number.isInteger(weeks) || weeks < 1)
    throw new BadInputError(`--weeks must be a whole number of weeks, 1 or more, not ${weeks}`, 'weeks');
  const toWeek = addDays(weekOf(localDay(ports.now(), domain.timeZone)), -DAYS_A_WEEK);
  const fromWeek = addDays(toWeek, -DAYS_A_WEEK * (Math.min(weeks, kept) - 1));
  const mondays = weeksBetween(fromWeek, toWeek);
  const firstMonth = fromWeek.slice(0, 7);
  const lastMonth = addDays(toWeek, DAYS_A_WEEK - 1).slice(0, 7);
  const monthsOf = await history.customersInRanges(history.shardRanges(0, 1));
  const ids = [...monthsOf]
    .filter(([, months]) => months.some((m) => m >= firstMonth && m <= lastMonth))
    .map(([id]) => id);
  const total: PackHistoryResult = {
    fromWeek,
    toWeek,
    customers: ids.length,
    packed: 0,
    current: 0,
    skipped: 0,
    events: 0,
    unreadable: { customers: 0 },
  };
  let done = 0;
  options.report?.(0, ids.length);
  await forEachBounded(ids, CUSTOMERS_IN_FLIGHT, async (id) => {
    try {
      const count = await packs.packWeeks(id, monthsOf.get(id)!, mondays);
      total.packed += count.packed;
      total.current += count.current;
      total.skipped += count.skipped;
      total.events += count.events;
    } catch (error) {
      // As a simulation leaves such a customer out: the others are packed, and the run says who was not.
      if (!(error instanceof SealedDataError || error instanceof MissingKekError)) throw error;
      total.unreadable.customers++;
      total.unreadable.reason ??= error.message;
    }
    options.report?.(++done, ids.length);
  });
  return total;
}
