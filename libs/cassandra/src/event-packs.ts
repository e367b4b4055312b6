import { addDays, dayFromIndex, dayIndex } from '@nunchi/context-model';

/*
 * Packed weeks (`customer_event_packs`, migration 0024; docs/campaigns.md "Packed weeks"): a customer's events
 * of one closed local week in one sealed cell, for simulation on history. What is pure about them: which week
 * a day is in, what a pack records of the days it was made from, and — from that record and the
 * `customer_days` rows of now — which packs a reader may use and which days it must still read event by event.
 */

/** Days of a packed week: Monday to Sunday. */
export const DAYS_A_WEEK = 7;

/** The Monday ('YYYY-MM-DD') of the week of local day `day` (day index 0, 1970-01-01, was a Thursday). */
export function weekOf(day: string): string {
  const index = dayIndex(day);
  return dayFromIndex(index - ((index + 3) % DAYS_A_WEEK));
}

/** The Mondays of the weeks from the week of `firstDay` to that of `lastDay`, ascending. */
export function weeksBetween(firstDay: string, lastDay: string): string[] {
  const out: string[] = [];
  for (let week = weekOf(firstDay); week <= lastDay; week = addDays(week, DAYS_A_WEEK)) out.push(week);
  return out;
}

/** The seven local days of `week` (its Monday first). */
export function daysOfWeek(week: string): string[] {
  const monday = dayIndex(week);
  return Array.from({ length: DAYS_A_WEEK }, (_, k) => dayFromIndex(monday + k));
}

/**
 * What a pack records of the days it holds (`customer_event_packs.days`): each day of `week` with a
 * `customer_days` row, and that row's write timestamp, as 'YYYY-MM-DD=timestamp' comma-separated, ascending;
 * '' for a week without rows. `written`: a customer's write timestamps of `totals` by day (any days).
 */
export function packedDaysOf(written: ReadonlyMap<string, number>, week: string): string {
  return daysOfWeek(week)
    .filter((day) => written.has(day))
    .map((day) => `${day}=${written.get(day)}`)
    .join(',');
}

/** A stored pack, as a reader finds it. */
export interface StoredPack<Cell = Buffer> {
  /** its Monday */
  week: string;
  /** what it was made from (packedDaysOf) */
  days: string;
  /** the sealed events */
  events: Cell;
}

/** How one customer's events of a period are read (planPeriodRead). */
export interface PeriodReadPlan<Cell = Buffer> {
  /** the packs to open: current (their days as now), each of a week with a day in the period */
  packs: Array<StoredPack<Cell>>;
  /** the weeks of those packs: rows of these weeks are not read again */
  packedWeeks: Set<string>;
  /**
   * the first day of the period whose events must be read row by row (a day with events in a week without a
   * current pack); undefined: none, the packs hold all of the period's events
   */
  rowsFrom: string | undefined;
}

/**
 * Which of a customer's packs hold the period's events as they are now, and from which day the rest must be
 * read event by event. `written`: the customer's `customer_days` write timestamps by day over at least every
 * day of the period's weeks; `packs`: the customer's stored packs of those weeks. A pack is current when the
 * days it records are exactly the week's days of now. A customer with no `customer_days` row in the period is
 * read row by row from `firstDay`, as without packs: its rows are the authority, whatever the days say.
 */
export function planPeriodRead<Cell>(
  written: ReadonlyMap<string, number>,
  packs: ReadonlyArray<StoredPack<Cell>>,
  firstDay: string,
  lastDay: string,
): PeriodReadPlan<Cell> {
  const current = packs.filter((p) => p.days !== '' && p.days === packedDaysOf(written, p.week));
  const packedWeeks = new Set(current.map((p) => p.week));
  let rowsFrom: string | undefined;
  let anyDay = false;
  for (const day of written.keys()) {
    if (day < firstDay || day > lastDay) continue;
    anyDay = true;
    if (!packedWeeks.has(weekOf(day)) && (rowsFrom === undefined || day < rowsFrom)) rowsFrom = day;
  }
  if (!anyDay) return { packs: [], packedWeeks: new Set(), rowsFrom: firstDay };
  return { packs: current, packedWeeks, rowsFrom };
}
