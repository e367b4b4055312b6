/**
 * Instants → local calendar days in an IANA time zone.
 *
 * Intl.DateTimeFormat is the only source of time-zone rules (Node ships full ICU), but it costs 1–3 µs a call,
 * and this runs for every event. So per zone we cache the UTC offset of each UTC hour: an hour whose first
 * and last millisecond have the same offset has that offset throughout (tz rules never change the offset
 * twice within an hour), and the local day is then plain arithmetic. Hours that contain a transition are
 * marked and always asked of Intl. After warm-up a call is a Map lookup and a division.
 */
import { DAY_MS, dayFromIndex, dayIndex, daysFromCivil } from './day-index.js';

const HOUR_MS = 3_600_000;
/** cached hours per zone before the cache is reset: ~11 years of distinct hours */
const MAX_CACHED_HOURS = 100_000;
/** cached zones before the zone cache is reset (zones come from configuration, so a handful) */
const MAX_ZONES = 256;

interface ZoneState {
  readonly fmt: Intl.DateTimeFormat;
  /** UTC hour number → offset in ms for the whole hour, or NaN when the offset changes within it */
  readonly offsets: Map<number, number>;
  /** one-entry memo of dayFromIndex: consecutive calls are nearly always on the same day */
  lastIndex: number;
  lastDay: string;
}

const zones = new Map<string, ZoneState>();

function zoneState(timeZone: string): ZoneState {
  let z = zones.get(timeZone);
  if (z === undefined) {
    const fmt = new Intl.DateTimeFormat('en-US', {
      timeZone, // throws RangeError for an unknown zone
      calendar: 'gregory',
      numberingSystem: 'latn',
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    z = { fmt, offsets: new Map(), lastIndex: NaN, lastDay: '' };
    if (zones.size >= MAX_ZONES) zones.clear();
    zones.set(timeZone, z);
  }
  return z;
}

/** The zone's UTC offset at an instant (local wall-clock minus UTC), in ms, at whole-second resolution. Slow path. */
function intlOffset(z: ZoneState, epochMs: number): number {
  let y = 0;
  let mo = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  let s = 0;
  for (const p of z.fmt.formatToParts(epochMs)) {
    switch (p.type) {
      case 'year':
        y = +p.value;
        break;
      case 'month':
        mo = +p.value;
        break;
      case 'day':
        d = +p.value;
        break;
      case 'hour':
        h = +p.value % 24; // some ICU versions print midnight as 24
        break;
      case 'minute':
        mi = +p.value;
        break;
      case 'second':
        s = +p.value;
        break;
    }
  }
  const wall = daysFromCivil(y, mo, d) * DAY_MS + h * HOUR_MS + mi * 60_000 + s * 1000;
  const wholeSecond = epochMs - (((epochMs % 1000) + 1000) % 1000);
  return wall - wholeSecond;
}

function offsetOf(z: ZoneState, epochMs: number): number {
  const hour = Math.floor(epochMs / HOUR_MS);
  let off = z.offsets.get(hour);
  if (off === undefined) {
    const first = intlOffset(z, hour * HOUR_MS);
    const last = intlOffset(z, hour * HOUR_MS + HOUR_MS - 1);
    off = first === last ? first : NaN;
    if (z.offsets.size >= MAX_CACHED_HOURS) z.offsets.clear();
    z.offsets.set(hour, off);
  }
  return Number.isNaN(off) ? intlOffset(z, epochMs) : off;
}

function checkInstant(epochMs: number): void {
  if (!Number.isFinite(epochMs)) throw new RangeError(`not an instant (epoch ms): ${epochMs}`);
}

/** The zone's UTC offset at an instant, in milliseconds (Asia/Seoul: +32_400_000). */
export function zoneOffsetMs(epochMs: number, timeZone: string): number {
  checkInstant(epochMs);
  return offsetOf(zoneState(timeZone), epochMs);
}

/** The day index (see day-index.ts) of the local day an instant falls on in `timeZone`. */
export function localDayIndex(epochMs: number, timeZone: string): number {
  checkInstant(epochMs);
  const z = zoneState(timeZone);
  return Math.floor((epochMs + offsetOf(z, epochMs)) / DAY_MS);
}

/**
 * The local day 'YYYY-MM-DD' an instant falls on in an IANA time zone.
 * localDay(Date.parse('2026-11-24T15:30Z'), 'Asia/Seoul') === '2026-11-25' (it is 00:30 there).
 * @throws RangeError for a non-finite instant or an unknown time zone
 */
export function localDay(epochMs: number, timeZone: string): string {
  checkInstant(epochMs);
  const z = zoneState(timeZone);
  const index = Math.floor((epochMs + offsetOf(z, epochMs)) / DAY_MS);
  if (index !== z.lastIndex) {
    z.lastDay = dayFromIndex(index);
    z.lastIndex = index;
  }
  return z.lastDay;
}

/** Whether Intl knows the zone (for validating configuration at boot). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    zoneState(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Half-open interval of instants [startMs, endMs) that fall on one local day. */
export interface LocalDayRange {
  /** epoch ms of the first instant of the day */
  startMs: number;
  /** epoch ms of the first instant of the next day (exclusive) */
  endMs: number;
}

/** First instant whose local day index is ≥ `index`. */
function dayStart(z: ZoneState, index: number): number {
  const dayOf = (t: number): number => Math.floor((t + offsetOf(z, t)) / DAY_MS);
  const midnightUtc = index * DAY_MS;
  // Local midnight is midnightUtc − offset(at local midnight); two rounds of that settle it except when a
  // transition sits at midnight itself (e.g. America/Santiago skips 00:00–00:59), hence the check.
  const c1 = midnightUtc - offsetOf(z, midnightUtc);
  const c2 = midnightUtc - offsetOf(z, c1);
  for (const c of c1 <= c2 ? [c1, c2] : [c2, c1]) {
    if (dayOf(c) >= index && dayOf(c - 1) < index) return c;
  }
  // Fallback: binary search (offsets lie within ±26 h).
  let lo = midnightUtc - 26 * HOUR_MS; // dayOf(lo) < index
  let hi = midnightUtc + 26 * HOUR_MS; // dayOf(hi) >= index
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (dayOf(mid) >= index) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The instants of a local day: use it to read one local day's events back from storage
 * (`occurred_at >= startMs AND occurred_at < endMs`). A day is 24 h, or 23 h / 25 h on DST changes.
 */
export function localDayRange(day: string, timeZone: string): LocalDayRange {
  const index = dayIndex(day);
  const z = zoneState(timeZone);
  return { startMs: dayStart(z, index), endMs: dayStart(z, index + 1) };
}
