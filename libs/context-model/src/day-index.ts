/**
 * Calendar arithmetic on local-day strings ('YYYY-MM-DD').
 *
 * A day string is converted once to a *day index* — whole days since 1970-01-01 on the proleptic Gregorian
 * calendar — and windows are then plain integer comparisons. The arithmetic is on the calendar date only
 * (no instants, no time zone), so there is nothing for DST to break: the zone matters only when an instant
 * is mapped to its local day (see local-day.ts).
 */

/** milliseconds in a calendar day (of the day-index arithmetic, not of a local day, which DST can stretch) */
export const DAY_MS = 86_400_000;

const DASH = 45; // '-'
const ZERO = 48; // '0'

function digits(s: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const d = s.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days from 1970-01-01 to y-m-d (Gregorian). H. Hinnant's days_from_civil; avoids Date.UTC's 0–99 → 19xx quirk. */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The day index of a 'YYYY-MM-DD' string, or NaN when it is not a valid calendar date. Never throws. */
export function parseDayIndex(day: string): number {
  if (day.length !== 10 || day.charCodeAt(4) !== DASH || day.charCodeAt(7) !== DASH) return NaN;
  const y = digits(day, 0, 4);
  const m = digits(day, 5, 2);
  const d = digits(day, 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1) return NaN;
  if (d > (m === 2 && isLeap(y) ? 29 : MONTH_DAYS[m - 1])) return NaN;
  return daysFromCivil(y, m, d);
}

/** The day index (whole days since 1970-01-01) of a 'YYYY-MM-DD' string. @throws RangeError when malformed */
export function dayIndex(day: string): number {
  const i = parseDayIndex(day);
  if (Number.isNaN(i)) throw new RangeError(`not a calendar day (YYYY-MM-DD): ${JSON.stringify(day)}`);
  return i;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** The 'YYYY-MM-DD' string of a day index (years 0000–9999). H. Hinnant's civil_from_days. */
export function dayFromIndex(index: number): string {
  if (!Number.isInteger(index)) throw new RangeError(`day index must be an integer: ${index}`);
  const z = index + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  if (y < 0 || y > 9999) throw new RangeError(`day index out of range (years 0000-9999): ${index}`);
  return `${y < 1000 ? `${y}`.padStart(4, '0') : y}-${pad2(m)}-${pad2(d)}`;
}

/** The day `days` calendar days after `day` (negative: before). */
export function addDays(day: string, days: number): string {
  return dayFromIndex(dayIndex(day) + days);
}

/** Calendar days from `from` to `to`: positive when `to` is later. daysBetween('2026-11-18', '2026-11-24') = 6. */
export function daysBetween(from: string, to: string): number {
  return dayIndex(to) - dayIndex(from);
}
