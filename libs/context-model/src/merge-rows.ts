import { compareRows, type DailyRollup } from './daily-rollup.js';
import { dayIndex, parseDayIndex } from './day-index.js';
import { HORIZON_DAYS } from './windows.js';

/**
 * Update a customer's rows with freshly recomputed days (the hot in-memory tier, on write): every existing row
 * of a day present in `replacement` is dropped — including dims the day no longer touches — and the
 * replacement rows take their place. Result in stored order (newest day first, dims ascending).
 * Inputs are not modified.
 */
export function mergeRows(
  existing: readonly DailyRollup[],
  replacement: readonly DailyRollup[],
): DailyRollup[] {
  if (replacement.length === 0) return [...existing];
  const day = replacement[0].day;
  if (replacement.every((r) => r.day === day)) {
    const spliced = spliceDay(existing, day, replacement);
    if (spliced) return spliced;
  }
  const days = new Set<string>();
  for (const r of replacement) days.add(r.day);
  const out: DailyRollup[] = [];
  for (const r of existing) if (!days.has(r.day)) out.push(r);
  for (const r of replacement) out.push(r);
  // Two sorted runs (already-sorted existing rows, then one day's rows): TimSort merges them in linear time.
  return out.sort(compareRows);
}

/**
 * mergeRows then pruneRows (the fold, every event), without checking the order twice or copying twice: when
 * one day's rows replace a day of rows in stored order, the result is in order by construction, and only
 * its last (oldest) row can tell whether anything left the horizon.
 */
export function replaceDayAndPrune(
  existing: readonly DailyRollup[],
  replacement: readonly DailyRollup[],
  today: string,
  keepDays: number = HORIZON_DAYS,
): DailyRollup[] {
  const day = replacement[0]?.day;
  const spliced =
    day !== undefined && replacement.every((r) => r.day === day)
      ? spliceDay(existing, day, replacement)
      : undefined;
  if (!spliced) return pruneRows(mergeRows(existing, replacement), today, keepDays);
  const last = spliced[spliced.length - 1];
  if (last === undefined || parseDayIndex(last.day) >= dayIndex(today) - keepDays + 1) return spliced;
  return pruneRows(spliced, today, keepDays);
}

/**
 * One day's rows replaced in rows already in stored order (the live fold, every event): the rows
 * before the day, the day's new rows, the rows after — a copy, no sort. Undefined when `existing` turns out
 * not to be ordered by day (the caller then sorts).
 */
function spliceDay(
  existing: readonly DailyRollup[],
  day: string,
  replacement: readonly DailyRollup[],
): DailyRollup[] | undefined {
  const out: DailyRollup[] = [];
  // Rows of one day come together and usually share one day string: the order is checked where the day
  // changes, not on every row (the fold does this on every event, over up to a year of rows).
  let i = 0;
  let prev: string | undefined;
  for (; i < existing.length; i++) {
    const d = existing[i].day;
    if (d !== prev) {
      if (d <= day) break;
      if (prev !== undefined && d > prev) return undefined;
      prev = d;
    }
    out.push(existing[i]);
  }
  for (const r of [...replacement].sort(compareRows)) out.push(r);
  while (i < existing.length && existing[i].day === day) i++;
  prev = day;
  for (; i < existing.length; i++) {
    const d = existing[i].day;
    if (d !== prev) {
      if (d > prev) return undefined;
      prev = d;
    }
    out.push(existing[i]);
  }
  return out;
}

/**
 * Drop rows that have left the longest window: keep days within `keepDays` of `today` (today included) and
 * any later days. Rows with an unparseable day are dropped.
 */
export function pruneRows(
  rows: readonly DailyRollup[],
  today: string,
  keepDays: number = HORIZON_DAYS,
): DailyRollup[] {
  const oldest = dayIndex(today) - keepDays + 1;
  // Rows in stored order end with the oldest day: nothing to drop is the common case, and costs one look.
  const last = rows[rows.length - 1];
  if (last === undefined || (parseDayIndex(last.day) >= oldest && isByDayDesc(rows))) return [...rows];
  return rows.filter((r) => parseDayIndex(r.day) >= oldest);
}

function isByDayDesc(rows: readonly DailyRollup[]): boolean {
  let prev = rows[0]?.day;
  for (let i = 1; i < rows.length; i++) {
    const d = rows[i].day;
    if (d === prev) continue; // rows of one day share a day string: compared once per day
    if (d > prev) return false;
    prev = d;
  }
  return true;
}
