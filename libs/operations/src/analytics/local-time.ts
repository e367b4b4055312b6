import { localDay, zoneOffsetMs } from '@nunchi/context-model';

/** The business-local day (YYYY-MM-DD) and hour (0..23) of an instant: analytics' day and hour buckets. */
export function localDayAndHour(epochMs: number, timeZone: string): { day: string; hour: number } {
  const local = epochMs + zoneOffsetMs(epochMs, timeZone);
  return { day: localDay(epochMs, timeZone), hour: Math.floor((local % 86_400_000) / 3_600_000) };
}
