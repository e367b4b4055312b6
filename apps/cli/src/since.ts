import { InvalidArgumentError } from 'commander';
import { localDayRange } from '@nunchi/context-model';

// Apart from options.ts: it needs the business time zone's days (libs/context-model), which `--help` need not load.

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/**
 * An instant from `--since`: a duration back from now (`30m`, `12h`, `7d`, `2w`), a local day in the
 * business time zone (`2026-11-24`: from its start), or an ISO-8601 instant with offset
 * (`2026-11-24T10:00:00+09:00`). Returns epoch milliseconds.
 */
export function parseSince(value: string, nowMs: number, timeZone: string): number {
  const text = value.trim();
  const duration = /^(\d+)\s*([mhdw])$/.exec(text);
  if (duration) return nowMs - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
  if (/^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`)))
    return localDayRange(text, timeZone).startMs;
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const at = Date.parse(text);
    if (!Number.isNaN(at)) return at;
  }
  throw new InvalidArgumentError(
    `"${value}" is neither a duration (30m, 12h, 7d, 2w), a day (YYYY-MM-DD) nor an ISO-8601 instant.`,
  );
}
