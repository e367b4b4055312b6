import { compareRows, type DailyRollup } from './daily-rollup.js';
import { dayIndex, parseDayIndex } from './day-index.js';
import { HORIZON_DAYS } from './windows.js';

/**
 * Update a customer's rows with freshly recomputed days (the hot in-memory tier, on write): every existing row
 * of a day present in `replacement` is dropped — including dims the day no longer touches — and the
 * replacement rows take their place. Result in `customer_daily` order (newest day first, dims ascending).
 * Inputs are not modified.
 */
export function mergeRows(
  existing: readonly DailyRollup[],
  replacement: readonly DailyRollup[],
): DailyRollup[] {
  if (replacement.length === 0) return [...existing];
  const days = new Set<string>();
  for (const r of replacement) days.add(r.day);
  const out: DailyRollup[] = [];
  for (const r of existing) if (!days.has(r.day)) out.push(r);
  for (const r of replacement) out.push(r);
  // Two sorted runs (already-sorted existing rows, then one day's rows): TimSort merges them in linear time.
  return out.sort(compareRows);
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
  return rows.filter((r) => parseDayIndex(r.day) >= oldest);
}
