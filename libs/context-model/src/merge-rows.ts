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
 * Row arrays replaceDayAndPrune returned from a splice: in stored order by construction, and read-only (typed so; nothing
 * writes a context's rows). Their order is not checked again: checking it touches every row object, and
 * with a year of rows per customer, scattered in memory, that was most of the fold's cost in simulation.
 */
const inStoredOrder = new WeakSet<readonly DailyRollup[]>();

/**
 * mergeRows then pruneRows (the fold, every event), without checking the order twice or copying twice: when
 * one day's rows replace a day of rows in stored order, the result is in order by construction, and only
 * its last (oldest) row can tell whether anything left the horizon. Rows it returned before are trusted to
 * be in order: only the rows down to the replaced day are read, the rest is copied as references.
 */
export function replaceDayAndPrune(
  existing: readonly DailyRollup[],
  replacement: readonly DailyRollup[],
  today: string,
  keepDays: number = HORIZON_DAYS,
): readonly DailyRollup[] {
  const day = replacement[0]?.day;
  const oneDay = day !== undefined && replacement.every((r) => r.day === day);
  let spliced: DailyRollup[] | undefined;
  if (oneDay && inStoredOrder.has(existing)) {
    let a = 0;
    while (a < existing.length && existing[a].day > day) a++;
    let b = a;
    while (b < existing.length && existing[b].day === day) b++;
    spliced = existing.slice(0, a);
    for (const r of [...replacement].sort(compareRows)) spliced.push(r);
    for (let i = b; i < existing.length; i++) spliced.push(existing[i]);
  } else if (oneDay) spliced = spliceDay(existing, day, replacement);
  // Not one day, or rows out of order: the general path (its result is in order only if a sort ran).
  if (!spliced) return pruneRows(mergeRows(existing, replacement), today, keepDays);
  const last = spliced[spliced.length - 1];
  const out =
    last === undefined || parseDayIndex(last.day) >= dayIndex(today) - keepDays + 1
      ? spliced
      : pruneRows(spliced, today, keepDays);
  inStoredOrder.add(out);
  return out;
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
