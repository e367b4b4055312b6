import { eventKey } from '@nunchi/contracts/core';
import type { AcceptedEvent, RecentEvent } from '@nunchi/contracts';

/** how many recent events a snapshot carries */
export const RECENT_MAX = 20;

/**
 * A RecentEvent that also carries its instant, so ordering needs no date parsing.
 * (Proposed for the contract; until then it is an extra field the contract type tolerates.)
 */
export type TimedRecentEvent = RecentEvent & {
  /** epoch milliseconds of occurredAt */
  occurredAtMs: number;
};

/** The short form of an event kept in a snapshot's `recent` list. */
export function toRecentEvent(e: AcceptedEvent): TimedRecentEvent {
  const r: TimedRecentEvent = {
    id: e.id,
    type: e.type,
    channel: e.channel,
    occurredAt: e.occurredAt,
    occurredAtMs: e.occurredAtMs,
  };
  if (e.storeId !== undefined) r.storeId = e.storeId;
  if (e.type === 'purchase') {
    const amount = e.payload['amount'];
    if (typeof amount === 'number' && Number.isFinite(amount)) r.amount = amount;
  }
  return r;
}

/** epoch ms of a recent event: the carried field, else parsed from occurredAt; unparseable sorts oldest */
function instantOf(e: RecentEvent): number {
  const ms = (e as Partial<TimedRecentEvent>).occurredAtMs;
  if (typeof ms === 'number') return ms;
  const parsed = Date.parse(e.occurredAt);
  return Number.isNaN(parsed) ? -Infinity : parsed;
}

function isAccepted(e: AcceptedEvent | RecentEvent): e is AcceptedEvent {
  return 'payload' in e && 'customerId' in e;
}

/** One event: the same channel and id (eventKey), compared without building the key. */
const sameEvent = (a: RecentEvent, b: RecentEvent): boolean => a.id === b.id && a.channel === b.channel;

/** Ties of instant: by id, then channel (two channels' events may share an id). */
function compareIds(a: RecentEvent, b: RecentEvent): number {
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0;
}

/**
 * Order recent events newest first (by instant, then id ascending), drop repeated events (the same channel
 * and id; the first occurrence in the input wins) and keep at most `max`. Returns a new array; the events
 * themselves are not copied.
 */
export function sortRecent(recent: readonly RecentEvent[], max: number = RECENT_MAX): RecentEvent[] {
  const seen = new Set<string>();
  const keyed: Array<{ e: RecentEvent; ms: number }> = [];
  for (const e of recent) {
    const key = eventKey(e);
    if (seen.has(key)) continue;
    seen.add(key);
    keyed.push({ e, ms: instantOf(e) });
  }
  keyed.sort((a, b) => (a.ms !== b.ms ? b.ms - a.ms : compareIds(a.e, b.e)));
  const n = Math.min(keyed.length, Math.max(0, max));
  const out = new Array<RecentEvent>(n);
  for (let i = 0; i < n; i++) out[i] = keyed[i].e;
  return out;
}

/**
 * Add an event to a recent list (for the hot in-memory tier): a redelivered event replaces its earlier copy,
 * newest first, at most `max`. An event older than all of a full list simply does not make it in.
 */
export function pushRecent(
  recent: readonly RecentEvent[],
  e: AcceptedEvent | RecentEvent,
  max: number = RECENT_MAX,
): readonly RecentEvent[] {
  const item = isAccepted(e) ? toRecentEvent(e) : e;
  // The common case (every fold): the newest event joins a list already in order. The result is the one
  // sortRecent gives, without its set and its sort. A list this function returned is in order already:
  // only its head and the ids are read.
  if (max >= 1 && (inOrder.has(recent) ? isNewerThanAll(recent, item) : isOrderedBelow(recent, item))) {
    const n = Math.min(recent.length, max - 1);
    const out = new Array<RecentEvent>(n + 1);
    out[0] = item;
    for (let i = 0; i < n; i++) out[i + 1] = recent[i];
    inOrder.add(out);
    return out;
  }
  const out = sortRecent([item, ...recent], max);
  inOrder.add(out);
  return out;
}

/** Lists pushRecent returned (read-only, as a context holds them): as sortRecent orders them. */
const inOrder = new WeakSet<readonly RecentEvent[]>();

/** `item` sorts before the head of a list in order, and is not in it. */
function isNewerThanAll(recent: readonly RecentEvent[], item: RecentEvent): boolean {
  if (recent.length > 0) {
    const head = recent[0];
    const ms = instantOf(item);
    const headMs = instantOf(head);
    if (!(ms > headMs || (ms === headMs && compareIds(item, head) < 0))) return false;
  }
  for (let i = 0; i < recent.length; i++) if (sameEvent(recent[i], item)) return false;
  return true;
}

/**
 * Whether `recent` is what sortRecent returns (newest first, ties by id, no repeated id) and `item` sorts
 * strictly before all of it and is not in it. Linear in a list of at most RECENT_MAX.
 */
function isOrderedBelow(recent: readonly RecentEvent[], item: RecentEvent): boolean {
  let prevMs = instantOf(item);
  let prev: RecentEvent = item;
  for (let i = 0; i < recent.length; i++) {
    const e = recent[i];
    const ms = instantOf(e);
    if (!(ms < prevMs || (ms === prevMs && compareIds(e, prev) > 0))) return false;
    if (sameEvent(e, item)) return false;
    for (let k = 0; k < i; k++) if (sameEvent(recent[k], e)) return false;
    prevMs = ms;
    prev = e;
  }
  return true;
}
