import type { ProblemDetail } from '@nunchi/contracts/core';
import { WEEKDAYS, type CampaignSchedule } from './campaign.js';
import { MS_PER_DAY, dayOfIso, isValidTimeZone, isoOfDay, weekdayOfDay } from './local-time.js';

/**
 * A schedule reduced to numbers: day numbers, a weekday bit mask and minute-of-day windows.
 *
 * Semantics (docs/campaigns.md): `from`/`to` are inclusive local days; `hours` windows are
 * [start, end) in local minutes; a window with end < start runs over midnight and belongs to the day
 * it opened: "fri" + "22:00-02:00" covers Friday 22:00 to Saturday 02:00, and dates/weekdays are
 * checked against Friday for the part after midnight.
 */
export interface CompiledSchedule {
  readonly timezone: string;
  readonly fromDay: number;
  readonly toDay: number;
  /** bit n set = weekday n (0 = Sunday) allowed */
  readonly weekdayMask: number;
  /** [start, end) minute-of-day pairs, flat: [start0, end0, start1, end1, …]; empty = all day */
  readonly windows: readonly number[];
  /** windows.length / 2, and the first window inline (-1 when none): the common case reads no array */
  readonly windowCount: number;
  readonly start0: number;
  readonly end0: number;
  /** the schedule as written, for explanations */
  readonly text: string;
}

const ALL_WEEKDAYS = 0x7f;

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

function windowsOf(hours: string | undefined): number[] {
  if (!hours) return [];
  return hours.split(',').flatMap((w) => {
    const [a, b] = w.trim().split('-') as [string, string];
    return [minutesOf(a), minutesOf(b)];
  });
}

/** Problems a JSON Schema cannot see. `path` is the schedule's path ("schedule"). */
export function scheduleProblems(s: CampaignSchedule, path: string): ProblemDetail[] {
  const problems: ProblemDetail[] = [];
  if (typeof s.timezone === 'string' && !isValidTimeZone(s.timezone)) {
    problems.push({
      path: `${path}.timezone`,
      message: `unknown IANA time zone "${s.timezone}" (e.g. Asia/Seoul)`,
    });
  }
  const from = typeof s.from === 'string' ? dayOfIso(s.from) : undefined;
  const to = typeof s.to === 'string' ? dayOfIso(s.to) : undefined;
  if (typeof s.from === 'string' && from === undefined && /^\d{4}-\d{2}-\d{2}$/.test(s.from)) {
    problems.push({ path: `${path}.from`, message: `"${s.from}" is not a calendar date` });
  }
  if (typeof s.to === 'string' && to === undefined && /^\d{4}-\d{2}-\d{2}$/.test(s.to)) {
    problems.push({ path: `${path}.to`, message: `"${s.to}" is not a calendar date` });
  }
  if (from !== undefined && to !== undefined && from > to) {
    problems.push({ path: `${path}.to`, message: `ends (${s.to}) before it starts (${s.from})` });
  }
  if (typeof s.hours === 'string') {
    for (const w of s.hours.split(',')) {
      const m = /^\s*(\d\d):(\d\d)-(\d\d):(\d\d)\s*$/.exec(w);
      if (!m) continue; // the schema reports the pattern
      if (m[3] === '24' && m[4] !== '00')
        problems.push({ path: `${path}.hours`, message: `"${w.trim()}": 24:00 is the latest end` });
      else if (m[1] === m[3] && m[2] === m[4])
        problems.push({ path: `${path}.hours`, message: `"${w.trim()}" is empty (start = end)` });
    }
  }
  return problems;
}

export function compileSchedule(s: CampaignSchedule): CompiledSchedule {
  let weekdayMask = ALL_WEEKDAYS;
  if (s.weekdays) {
    weekdayMask = 0;
    for (const d of s.weekdays) weekdayMask |= 1 << WEEKDAYS.indexOf(d);
  }
  const windows = windowsOf(s.hours);
  const parts: string[] = [];
  if (s.from || s.to) parts.push(`${s.from ?? '…'} to ${s.to ?? '…'}`);
  if (s.weekdays) parts.push(s.weekdays.join(','));
  if (s.hours) parts.push(s.hours);
  parts.push(s.timezone);
  return {
    timezone: s.timezone,
    fromDay: s.from ? (dayOfIso(s.from) ?? -Infinity) : -Infinity,
    toDay: s.to ? (dayOfIso(s.to) ?? Infinity) : Infinity,
    weekdayMask,
    windows,
    windowCount: windows.length / 2,
    start0: windows.length > 0 ? windows[0] : -1,
    end0: windows.length > 0 ? windows[1] : -1,
    text: parts.join(' '),
  };
}

/** The parts of a schedule inSchedule reads (the campaign set keeps them inline, next to each other). */
export type ScheduleFields = Pick<
  CompiledSchedule,
  'fromDay' | 'toDay' | 'weekdayMask' | 'windows' | 'windowCount' | 'start0' | 'end0'
>;

/** Is local wall-clock time `localMs` (epoch ms shifted by the zone offset) inside the schedule? */
export function inSchedule(s: ScheduleFields, localMs: number): boolean {
  const day = Math.floor(localMs / MS_PER_DAY);
  const count = s.windowCount;
  if (count === 0) return dayAllowed(s, day);
  const minute = Math.floor((localMs - day * MS_PER_DAY) / 60_000);
  if (count === 1) return inWindow(s, s.start0, s.end0, minute, day) === 1;
  const windows = s.windows;
  for (let i = 0; i < windows.length; i += 2) {
    if (inWindow(s, windows[i], windows[i + 1], minute, day) === 1) return true;
  }
  return false;
}

/** 1 when `minute` of `day` is inside [start, end) on an allowed day (a window over midnight belongs to the day it opened), else 0. */
function inWindow(s: ScheduleFields, start: number, end: number, minute: number, day: number): number {
  if (start < end) return minute >= start && minute < end && dayAllowed(s, day) ? 1 : 0;
  if (minute >= start) return dayAllowed(s, day) ? 1 : 0;
  if (minute < end) return dayAllowed(s, day - 1) ? 1 : 0;
  return 0;
}

function dayAllowed(s: ScheduleFields, day: number): boolean {
  return day >= s.fromDay && day <= s.toDay && (s.weekdayMask & (1 << weekdayOfDay(day))) !== 0;
}

/** "Tue 2026-11-24 09:30 Asia/Seoul" — for loss details. */
export function describeLocal(localMs: number, timezone: string): string {
  const day = Math.floor(localMs / MS_PER_DAY);
  const minute = Math.floor((localMs - day * MS_PER_DAY) / 60_000);
  const wd = WEEKDAYS[weekdayOfDay(day)];
  const hh = String(Math.floor(minute / 60)).padStart(2, '0');
  const mm = String(minute % 60).padStart(2, '0');
  return `${wd[0].toUpperCase()}${wd.slice(1)} ${isoOfDay(day)} ${hh}:${mm} ${timezone}`;
}
