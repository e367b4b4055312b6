import type { AcceptedEvent } from '@nunchi/contracts';
import { addDays, dayFromIndex, dayIndex } from '@nunchi/context-model';
import { Packr } from 'msgpackr';

/*
 * Packed weeks (`customer_event_packs`, migration 0024; docs/campaigns.md "Packed weeks"): a customer's events
 * of one closed local week in one sealed cell, for simulation on history. What is pure about them: which week
 * a day is in, what a pack records of the days it was made from, and — from that record and the
 * `customer_days` rows of now — which packs a reader may use and which days it must still read event by event.
 */

/** Days of a packed week: Monday to Sunday. */
export const DAYS_A_WEEK = 7;

/** The Monday ('YYYY-MM-DD') of the week of local day `day` (day index 0, 1970-01-01, was a Thursday). */
export function weekOf(day: string): string {
  const index = dayIndex(day);
  return dayFromIndex(index - ((index + 3) % DAYS_A_WEEK));
}

/** The Mondays of the weeks from the week of `firstDay` to that of `lastDay`, ascending. */
export function weeksBetween(firstDay: string, lastDay: string): string[] {
  const out: string[] = [];
  for (let week = weekOf(firstDay); week <= lastDay; week = addDays(week, DAYS_A_WEEK)) out.push(week);
  return out;
}

/** The seven local days of `week` (its Monday first). */
export function daysOfWeek(week: string): string[] {
  const monday = dayIndex(week);
  return Array.from({ length: DAYS_A_WEEK }, (_, k) => dayFromIndex(monday + k));
}

/**
 * What a pack records of the days it holds (`customer_event_packs.days`), for every week with a day in
 * `written` (a customer's write timestamps of `totals` by day, any days): each day of the week with a
 * `customer_days` row, and that row's write timestamp, as 'YYYY-MM-DD=timestamp' comma-separated, ascending.
 * Monday → its record; a week without rows has none ('' as a pack records it).
 */
export function packedDaysByWeek(written: ReadonlyMap<string, number>): Map<string, string> {
  const records = new Map<string, string>();
  for (const day of [...written.keys()].sort()) {
    const week = weekOf(day);
    const entry = `${day}=${written.get(day)}`;
    const before = records.get(week);
    records.set(week, before === undefined ? entry : `${before},${entry}`);
  }
  return records;
}

/** A stored pack, as a reader finds it. */
export interface StoredPack<Cell = Buffer> {
  /** its Monday */
  week: string;
  /** what it was made from (packedDaysByWeek) */
  days: string;
  /** the sealed events */
  events: Cell;
}

/** How one customer's events of a period are read (planPeriodRead). */
export interface PeriodReadPlan<Cell = Buffer> {
  /** the packs to open: current (their days as now), each of a week with a day in the period */
  packs: Array<StoredPack<Cell>>;
  /** the weeks of those packs: rows of these weeks are not read again */
  packedWeeks: Set<string>;
  /**
   * the first day of the period whose events must be read row by row (a day with events in a week without a
   * current pack); undefined: none, the packs hold all of the period's events
   */
  rowsFrom: string | undefined;
}

/**
 * Which of a customer's packs hold the period's events as they are now, and from which day the rest must be
 * read event by event. `written`: the customer's `customer_days` write timestamps by day over at least every
 * day of the period's weeks; `packs`: the customer's stored packs of those weeks. A pack is current when the
 * days it records are exactly the week's days of now. A customer with no `customer_days` row in the period is
 * read row by row from `firstDay`, as without packs: its rows are the authority, whatever the days say.
 */
export function planPeriodRead<Cell>(
  written: ReadonlyMap<string, number>,
  packs: ReadonlyArray<StoredPack<Cell>>,
  firstDay: string,
  lastDay: string,
): PeriodReadPlan<Cell> {
  const ofPeriod = [...written.keys()].filter((day) => day >= firstDay && day <= lastDay);
  if (ofPeriod.length === 0) return { packs: [], packedWeeks: new Set(), rowsFrom: firstDay };
  const records = packedDaysByWeek(written);
  const current = packs.filter((p) => p.days !== '' && p.days === records.get(p.week));
  const packedWeeks = new Set(current.map((p) => p.week));
  let rowsFrom: string | undefined;
  for (const day of ofPeriod)
    if (!packedWeeks.has(weekOf(day)) && (rowsFrom === undefined || day < rowsFrom)) rowsFrom = day;
  return { packs: current, packedWeeks, rowsFrom };
}

/**
 * The first byte of a pack's events as encodePackEvents writes them (opened, before decoding): MessagePack
 * records follow. Packs written before it hold a JSON array, whose first byte is '['.
 */
export const PACK_FORMAT_RECORDS = 0x02;
const JSON_ARRAY_START = 0x5b; // '['

/**
 * MessagePack with records (msgpackr): each object shape's keys written once per pack, not once per event —
 * the events take ~43 % of their JSON's bytes: less to seal, store and fetch (sealed bytes do not compress).
 * Decoding takes about JSON.parse's time in the simulation's read (docs/campaigns.md, "Packed weeks"). No
 * structures shared between packs: a pack decodes on its own, in any process.
 */
const packr = new Packr({ useRecords: true });

/**
 * A week's events as a pack holds them (before sealing): PACK_FORMAT_RECORDS, then the events as MessagePack
 * records. They decode (decodePackEvents) to the same values, keys in the same order, as JSON gives.
 */
export function encodePackEvents(events: readonly AcceptedEvent[]): Buffer {
  return Buffer.concat([Buffer.from([PACK_FORMAT_RECORDS]), packr.pack(events)]);
}

/** A pack's events (opened): encodePackEvents' format, or a JSON array (packs written before it). */
export function decodePackEvents(bytes: Buffer): AcceptedEvent[] {
  if (bytes[0] === PACK_FORMAT_RECORDS) return packr.unpack(bytes.subarray(1)) as AcceptedEvent[];
  if (bytes[0] === JSON_ARRAY_START) return JSON.parse(bytes.toString('utf8')) as AcceptedEvent[];
  throw new Error(
    `a pack of events in an unknown format (first byte 0x${(bytes[0] ?? 0).toString(16)}): written by a later version of Nunchi?`,
  );
}
