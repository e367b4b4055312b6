/**
 * Folding one event into a customer's context: the one definition of how context follows events, shared by
 * the live context service, the campaign dry run and simulation on history.
 *
 * A day's rollup rows are always recomputed from all of that day's events (rollupDay), never incremented, so
 * the result is exact under duplicates, redelivery and late or out-of-order events. What changes is where the
 * day's events come from:
 * - **open days** (local days from `openFrom` on: today and yesterday for a live customer) keep every event
 *   in memory (`openEvents`): the fold needs no storage at all, and a repeated id is recognised there;
 * - **closed days** (older): the caller reads that day's stored events and calls foldIntoClosedDay. Only late
 *   events land there.
 * Pure: no clock, no I/O; `nowMs` comes in as a parameter.
 */
import { eventKey } from '@nunchi/contracts/core';
import type { AcceptedEvent, CustomerProfile, RecentEvent } from '@nunchi/contracts';
import { rollupDay, rollupEvents, type DailyRollup } from './daily-rollup.js';
import { dayFromIndex, parseDayIndex } from './day-index.js';
import { localDayIndex } from './local-day.js';
import { mergeRows, replaceDayAndPrune } from './merge-rows.js';
import { pushRecent } from './recent.js';

/** local days kept open by default: today and yesterday (late-evening events processed after midnight) */
export const OPEN_DAYS = 2;

/** What context knows of one customer: enough to fold the next event and build a snapshot. Never mutated. */
export interface CustomerContext {
  profile: CustomerProfile | null;
  /** daily rollup rows within the horizon, stored order (newest day first, dims ascending) */
  rows: readonly DailyRollup[];
  /** newest first, at most RECENT_MAX */
  recent: readonly RecentEvent[];
  /** first open local day (day index, business time zone): every event of it and later days is in openEvents */
  openFrom: number;
  /** every event of the open days, in the order folded */
  openEvents: readonly AcceptedEvent[];
}

export interface FoldOptions {
  /** the business IANA time zone all rollups use */
  timeZone: string;
  /** epoch ms of the fold (processing time): days older than OPEN_DAYS before its local day close */
  nowMs: number;
  /** @default OPEN_DAYS */
  openDays?: number;
}

export type FoldResult =
  /**
   * the event's id was folded before: the context is unchanged; `dayRows` are its day as it stands, for a
   * caller that rewrites them (a redelivery after a write that may have been cut short)
   */
  | {
      kind: 'duplicate';
      context: CustomerContext;
      day: string;
      dayRows: DailyRollup[];
      dayEventCount: number;
    }
  /** folded: `dayRows` are the event's day rebuilt from `dayEventCount` events (what to store) */
  | {
      kind: 'applied';
      context: CustomerContext;
      /** 'YYYY-MM-DD', the event's local day */
      day: string;
      dayRows: DailyRollup[];
      dayEventCount: number;
    }
  /** the event's day is closed: read its stored events and call foldIntoClosedDay */
  | { kind: 'closed-day'; context: CustomerContext; day: string };

/**
 * A context from what storage holds: the open days' rows are recomputed from their events (so rows stored
 * by a write that was cut short cannot disagree with the events), older days' rows are taken as stored.
 */
export function openContext(input: {
  profile: CustomerProfile | null;
  /** stored rollup rows, any order */
  rows: readonly DailyRollup[];
  /** stored recent events (short form), any order */
  recent: readonly RecentEvent[];
  openFrom: number;
  /** every stored event of the days from openFrom on (extra older ones are ignored) */
  openEvents: readonly AcceptedEvent[];
  timeZone: string;
}): CustomerContext {
  const openEvents = uniqueOpen(input.openEvents, input.openFrom, input.timeZone);
  const closedRows = input.rows.filter((r) => parseDayIndex(r.day) < input.openFrom);
  let recent: readonly RecentEvent[] = [...input.recent];
  for (const e of openEvents) recent = pushRecent(recent, e);
  return {
    profile: input.profile,
    rows: mergeRows(closedRows, rollupEvents(openEvents, input.timeZone)),
    recent,
    openFrom: input.openFrom,
    openEvents,
  };
}

/** An empty context whose open days start at `nowMs`'s local day minus (openDays − 1). */
export function newContext(profile: CustomerProfile | null, options: FoldOptions): CustomerContext {
  return {
    profile,
    rows: [],
    recent: [],
    openFrom: openFromAt(options),
    openEvents: [],
  };
}

/** The first open day at `nowMs`. */
export function openFromAt(options: FoldOptions): number {
  return localDayIndex(options.nowMs, options.timeZone) - ((options.openDays ?? OPEN_DAYS) - 1);
}

/** Folds one event; see FoldResult. */
export function foldEvent(context: CustomerContext, event: AcceptedEvent, options: FoldOptions): FoldResult {
  const current = closeOldDays(context, options);
  const index = localDayIndex(event.occurredAtMs, options.timeZone);
  const day = dayFromIndex(index);
  if (index < current.openFrom) return { kind: 'closed-day', context: current, day };
  const ofDay = (events: readonly AcceptedEvent[]) =>
    events.filter((e) => localDayIndex(e.occurredAtMs, options.timeZone) === index);
  const key = eventKey(event);
  if (current.openEvents.some((e) => e.id === event.id && eventKey(e) === key))
    return duplicate(current, day, ofDay(current.openEvents), options);
  const openEvents = [...current.openEvents, event];
  return applied(current, event, day, ofDay(openEvents), openEvents, options);
}

/**
 * Folds an event of a closed day, given every event stored for that day (read from storage). Duplicate when
 * the stored day already has it (an earlier attempt stored it).
 */
export function foldIntoClosedDay(
  context: CustomerContext,
  event: AcceptedEvent,
  storedDayEvents: readonly AcceptedEvent[],
  options: FoldOptions,
): FoldResult {
  const current = closeOldDays(context, options);
  const index = localDayIndex(event.occurredAtMs, options.timeZone);
  const day = dayFromIndex(index);
  const key = eventKey(event);
  if (storedDayEvents.some((e) => e.id === event.id && eventKey(e) === key)) {
    const result = duplicate(current, day, storedDayEvents, options);
    // The stored day is the truth for a closed day: the context takes its rows as they now are.
    return { ...result, context: { ...current, rows: withDay(current.rows, result.dayRows, options) } };
  }
  const dayEvents = [...storedDayEvents, event];
  return applied(current, event, day, dayEvents, current.openEvents, options);
}

function duplicate(
  context: CustomerContext,
  day: string,
  dayEvents: readonly AcceptedEvent[],
  options: FoldOptions,
): Extract<FoldResult, { kind: 'duplicate' }> {
  const dayRows = rollupDay(dayEvents, day, options.timeZone);
  return { kind: 'duplicate', context, day, dayRows, dayEventCount: dayEvents.length };
}

/** Rows with one day replaced, pruned to the horizon at nowMs. */
function withDay(rows: readonly DailyRollup[], dayRows: readonly DailyRollup[], options: FoldOptions) {
  const today = dayFromIndex(localDayIndex(options.nowMs, options.timeZone));
  return replaceDayAndPrune(rows, dayRows, today);
}

function applied(
  context: CustomerContext,
  event: AcceptedEvent,
  day: string,
  dayEvents: readonly AcceptedEvent[],
  openEvents: readonly AcceptedEvent[],
  options: FoldOptions,
): FoldResult {
  const dayRows = rollupDay(dayEvents, day, options.timeZone);
  return {
    kind: 'applied',
    context: {
      profile: event.type === 'profile_update' ? withProfileUpdate(context.profile, event) : context.profile,
      rows: withDay(context.rows, dayRows, options),
      recent: pushRecent(context.recent, event),
      openFrom: context.openFrom,
      openEvents,
    },
    day,
    dayRows,
    dayEventCount: dayEvents.length,
  };
}

/** The context with days before (today − openDays + 1) closed: their events leave memory, their rows stay. */
export function closeOldDays(context: CustomerContext, options: FoldOptions): CustomerContext {
  const openFrom = openFromAt(options);
  if (openFrom <= context.openFrom) return context;
  return {
    ...context,
    openFrom,
    openEvents: context.openEvents.filter((e) => localDayIndex(e.occurredAtMs, options.timeZone) >= openFrom),
  };
}

/** The profile fields a profile_update names (validated by ingestion) replace the current ones; the rest stay. */
export function withProfileUpdate(profile: CustomerProfile | null, event: AcceptedEvent): CustomerProfile {
  const p = event.payload as Partial<CustomerProfile>;
  const next: CustomerProfile = { ...(profile ?? { id: event.customerId, attributes: {} }) };
  if (p.age !== undefined) next.age = p.age;
  if (p.gender !== undefined) next.gender = p.gender;
  if (p.region !== undefined) next.region = p.region;
  if (p.creditTier !== undefined) next.creditTier = p.creditTier;
  if (p.marketingConsent !== undefined) next.marketingConsent = p.marketingConsent;
  if (p.channelConsent !== undefined) next.channelConsent = { ...next.channelConsent, ...p.channelConsent };
  if (p.attributes !== undefined) next.attributes = { ...next.attributes, ...p.attributes };
  return next;
}

function uniqueOpen(events: readonly AcceptedEvent[], openFrom: number, timeZone: string): AcceptedEvent[] {
  const keys = new Set<string>();
  const out: AcceptedEvent[] = [];
  for (const e of events) {
    const key = eventKey(e);
    if (keys.has(key) || localDayIndex(e.occurredAtMs, timeZone) < openFrom) continue;
    keys.add(key);
    out.push(e);
  }
  return out;
}
