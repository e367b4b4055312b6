import type { WindowTotals, Windows } from '@nunchi/contracts';

/** Length in local days of each rolling window; each ends with (and includes) today. */
export const WINDOW_DAYS = { d7: 7, d30: 30, d90: 90, d365: 365 } as const;

/** the longest window: rows and events older than this many days (today included) are ignored */
export const HORIZON_DAYS = WINDOW_DAYS.d365;

export function emptyTotals(): WindowTotals {
  return { spend: 0, purchases: 0, visits: 0, items: 0, events: 0 };
}

export function emptyWindows(): Windows {
  return { d7: emptyTotals(), d30: emptyTotals(), d90: emptyTotals(), d365: emptyTotals() };
}
