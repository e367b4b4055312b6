import { dayFromIndex } from '@nunchi/context-model';

/**
 * Local wall-clock time in an IANA time zone, from an epoch instant, with Intl only (pure: no clock).
 *
 * Intl formatting costs several microseconds, so the UTC offset is cached per zone and per 15-minute
 * block of UTC time: every zone offset in use since 1970 is a multiple of 15 minutes and changes at a
 * local quarter hour, so an offset cannot change inside such a block.
 */

const DAY_MS = 86_400_000;
const BLOCK_MS = 15 * 60_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, Map<number, number>>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when Intl knows the zone (e.g. "Asia/Seoul", "UTC"). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterOf(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Milliseconds to add to a UTC instant to get local wall-clock time in the zone. */
export function utcOffsetMs(timeZone: string, epochMs: number): number {
  const block = Math.floor(epochMs / BLOCK_MS);
  let zone = offsets.get(timeZone);
  if (zone === undefined) offsets.set(timeZone, (zone = new Map<number, number>()));
  const cached = zone.get(block);
  if (cached !== undefined) return cached;
  const at = block * BLOCK_MS;
  let y = 0,
    mo = 0,
    d = 0,
    h = 0,
    mi = 0,
    s = 0;
  for (const part of formatterOf(timeZone).formatToParts(at)) {
    switch (part.type) {
      case 'year':
        y = Number(part.value);
        break;
      case 'month':
        mo = Number(part.value);
        break;
      case 'day':
        d = Number(part.value);
        break;
      case 'hour':
        h = Number(part.value) % 24;
        break;
      case 'minute':
        mi = Number(part.value);
        break;
      case 'second':
        s = Number(part.value);
        break;
    }
  }
  const offsetMs = Date.UTC(y, mo - 1, d, h, mi, s) - at;
  // bounded: ~104 days of quarter hours per zone, then start over (simulations over long histories)
  if (zone.size >= 10_000) zone.clear();
  zone.set(block, offsetMs);
  return offsetMs;
}

/** Local days since 1970-01-01 (the local calendar day number). */
export function localDay(localMs: number): number {
  return Math.floor(localMs / DAY_MS);
}

/** 0 = Sunday … 6 = Saturday. 1970-01-01 was a Thursday. */
export function weekdayOfDay(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/** 'YYYY-MM-DD' of a day number (days since 1970-01-01): the same calendar arithmetic as daily rollups. */
export function isoOfDay(day: number): string {
  return dayFromIndex(day);
}

/** Day number of 'YYYY-MM-DD', or undefined when it is not a real calendar date. */
export function dayOfIso(iso: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) return undefined;
  const day = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS;
  return isoOfDay(day) === iso ? day : undefined;
}

export const MS_PER_DAY = DAY_MS;
