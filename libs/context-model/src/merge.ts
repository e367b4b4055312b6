/**
 * Merging two customers (docs/identity.md): what the survivor's history becomes when the absorbed customer's
 * events join it. The rows of a day are a pure function of that day's events (rollupDay), so the merged
 * context is the one the customer would have had with one identifier from the start: the union of both
 * histories, under the survivor's id, folded the same way. Pure: no clock, no I/O.
 */
import { eventKey } from '@nunchi/contracts/core';
import type { AcceptedEvent, CustomerProfile } from '@nunchi/contracts';
import { rollupDay, type DailyRollup } from './daily-rollup.js';
import { dayFromIndex } from './day-index.js';
import { localDayIndex } from './local-day.js';

/** One local day of the survivor rebuilt from both histories: what to store for it. */
export interface MergedDay {
  /** 'YYYY-MM-DD' */
  day: string;
  rows: DailyRollup[];
  /** events of the day in the union (the rows' write timestamp counts them) */
  eventCount: number;
}

export interface MergedHistory {
  /** the absorbed customer's events not already in the survivor's history, under the survivor's id */
  moved: AcceptedEvent[];
  /** every day the moved events fall on, rebuilt from the union of that day's events (newest day first) */
  days: MergedDay[];
}

/** The survivor's surviving choice between two customer ids: the smaller (code-unit order), so any replica agrees. */
export function survivorOf(a: string, b: string): { survivorId: string; absorbedId: string } {
  return a <= b ? { survivorId: a, absorbedId: b } : { survivorId: b, absorbedId: a };
}

/**
 * The absorbed customer's events moved under the survivor's id, and the survivor's days they touch rebuilt
 * from both histories. An event (its channel and id) present in both (the linking event itself, a redelivery) counts once.
 */
export function mergeHistories(
  survivorId: string,
  survivorEvents: readonly AcceptedEvent[],
  absorbedEvents: readonly AcceptedEvent[],
  timeZone: string,
): MergedHistory {
  const known = new Set(survivorEvents.map(eventKey));
  const moved: AcceptedEvent[] = [];
  for (const e of absorbedEvents) {
    const key = eventKey(e);
    if (known.has(key)) continue;
    known.add(key);
    moved.push(asCustomer(e, survivorId));
  }
  const byDay = new Map<number, AcceptedEvent[]>();
  for (const e of moved) byDay.set(localDayIndex(e.occurredAtMs, timeZone), []);
  for (const e of [...survivorEvents, ...moved]) byDay.get(localDayIndex(e.occurredAtMs, timeZone))?.push(e);
  const days = [...byDay.entries()]
    .sort(([a], [b]) => b - a)
    .map(([index, events]) => {
      const day = dayFromIndex(index);
      return { day, rows: rollupDay(events, day, timeZone), eventCount: events.length };
    });
  return { moved, days };
}

/** An event as if it had been accepted for `customerId` (what the survivor's history stores). */
export function asCustomer(event: AcceptedEvent, customerId: string): AcceptedEvent {
  if (event.customerId === customerId) return event;
  const moved = { ...event, customerId };
  delete moved.link;
  return moved;
}

/**
 * The profile fields the absorbed customer gives the survivor: those the survivor does not have (an imported
 * loyalty member keeps their profile; an anonymous device's profile_update fills what is missing), and
 * attributes the survivor does not have.
 */
export function profileGaps(
  survivor: CustomerProfile | null,
  absorbed: CustomerProfile | null,
): Omit<Partial<CustomerProfile>, 'id'> {
  if (!absorbed) return {};
  const s: Partial<CustomerProfile> = survivor ?? {};
  const gaps: Omit<Partial<CustomerProfile>, 'id'> = {};
  if (s.age === undefined && absorbed.age !== undefined) gaps.age = absorbed.age;
  if (s.gender === undefined && absorbed.gender !== undefined) gaps.gender = absorbed.gender;
  if (s.region === undefined && absorbed.region !== undefined) gaps.region = absorbed.region;
  if (s.creditTier === undefined && absorbed.creditTier !== undefined) gaps.creditTier = absorbed.creditTier;
  if (s.marketingConsent === undefined && absorbed.marketingConsent !== undefined)
    gaps.marketingConsent = absorbed.marketingConsent;
  const consent = Object.entries(absorbed.channelConsent ?? {}).filter(
    ([k]) => !(k in (s.channelConsent ?? {})),
  );
  if (consent.length) gaps.channelConsent = Object.fromEntries(consent);
  const attributes = Object.entries(absorbed.attributes ?? {}).filter(([k]) => !(k in (s.attributes ?? {})));
  if (attributes.length) gaps.attributes = Object.fromEntries(attributes);
  return gaps;
}
