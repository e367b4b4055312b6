import { eventKey, SYSTEM_CHANNEL } from '@nunchi/contracts/core';
import type { AcceptedEvent } from '@nunchi/contracts';
import { localDay } from '@nunchi/context-model';
import { CelEvent } from '../cel-environment.js';
import { stepMatches, type StatefulPattern } from './compile-pattern.js';
import { ABSENCE_EVENT_TYPE } from './pattern.js';

/**
 * A customer's partial matches: the state the stateful patterns (sequence, count, absence) keep between
 * events, folded by foldPatterns. Pure: a function of the events folded, in their order, and of the
 * patterns; plain data, so it is stored as it is (JSON) with the customer's context.
 *
 * Bounded per customer without a limit to configure: a sequence keeps one start per step (at most 4), a
 * count its `nth` latest times (at most 100), an absence one timer. Slots of patterns no longer active, and
 * partial matches older than their window, are dropped on the next fold.
 */
export interface PatternState {
  /** pattern key (CompiledPattern.key) → its partial matches */
  readonly slots: Readonly<Record<string, PatternSlot>>;
  /** the last SEEN_MAX events folded (their keys: channel and id), oldest first, with the patterns each completed: a repeat gets the same */
  readonly seen: readonly SeenEvent[];
}

export type PatternSlot = SequenceSlot | CountSlot | AbsenceSlot;

export interface SequenceSlot {
  readonly kind: 'sequence';
  /**
   * per step i (0 … steps − 2): the latest first-event time (epoch ms, event time) among partial matches that
   * have reached step i, or null. The latest start is the only one that matters: any event that would
   * extend an older partial match extends it too, and it expires last.
   */
  readonly starts: readonly (number | null)[];
  /** the id of that partial match's first event, per step */
  readonly firstIds: readonly (string | null)[];
}

export interface CountSlot {
  readonly kind: 'count';
  /** event times (epoch ms) of the latest `nth` counted events, ascending */
  readonly times: readonly number[];
}

export interface AbsenceSlot {
  readonly kind: 'absence';
  readonly timer: AbsenceTimer | null;
}

/** A pending absence timer: it fires at `dueMs` unless an expected event comes first. */
export interface AbsenceTimer {
  /** epoch ms: anchor + within */
  readonly dueMs: number;
  /** event time (epoch ms) of the latest `after` event */
  readonly anchorMs: number;
  readonly anchorEventId: string;
}

export interface SeenEvent {
  /** the event's key (eventKey: channel and id) */
  readonly id: string;
  /** campaign ids whose pattern this event completed */
  readonly matched: readonly string[];
}

/** A pattern completed by an event (sequence, count) or by a timer (absence). */
export interface PatternMatch {
  readonly campaignId: string;
  readonly kind: StatefulPattern['kind'];
  /** why, for the decision's explanation: "app product_view at 10:02, then visit within 2h" */
  readonly reason: string;
}

/** Timer changes the fold asks the durable timer store for (absence patterns only). */
export interface TimerChange {
  readonly patternKey: string;
  readonly campaignId: string;
  /** the timer now pending, if any */
  readonly set: AbsenceTimer | null;
  /** the timer it replaces or cancels, if any (its time bucket row goes) */
  readonly cleared: AbsenceTimer | null;
}

export interface PatternFold {
  readonly state: PatternState;
  /** campaign ids whose pattern this event completed (for DecisionInput.patterns) */
  readonly matched: readonly string[];
  readonly matches: readonly PatternMatch[];
  readonly timers: readonly TimerChange[];
  /** the event was folded before: state unchanged, `matched` as the first time (if still remembered) */
  readonly duplicate: boolean;
}

export const SEEN_MAX = 32;

export const EMPTY_PATTERN_STATE: PatternState = Object.freeze({
  slots: Object.freeze({}),
  seen: Object.freeze([]),
});

/**
 * Folds one event into the customer's partial matches. `patterns` are the active stateful patterns; slots
 * of others are dropped. Events are taken in the order given (arrival order, live; replay order in
 * simulation); windows are measured in event time (occurredAtMs). See docs/patterns.md.
 */
export function foldPatterns(
  state: PatternState,
  event: AcceptedEvent,
  patterns: readonly StatefulPattern[],
): PatternFold {
  const key = eventKey(event);
  const repeat = state.seen.find((s) => s.id === key);
  if (repeat) return { state, matched: repeat.matched, matches: [], timers: [], duplicate: true };
  const t = event.occurredAtMs;
  const celEvent = new CelEvent(event);
  const slots: Record<string, PatternSlot> = {};
  const matches: PatternMatch[] = [];
  const timers: TimerChange[] = [];
  for (const p of patterns) {
    const before = state.slots[p.key];
    let after: PatternSlot | null;
    if (p.kind === 'sequence') {
      const r = foldSequence(p, before?.kind === 'sequence' ? before : undefined, event, celEvent);
      after = r.slot;
      if (r.match) matches.push(r.match);
    } else if (p.kind === 'count') {
      const r = foldCount(p, before?.kind === 'count' ? before : undefined, event, celEvent);
      after = r.slot;
      if (r.match) matches.push(r.match);
    } else {
      const old = before?.kind === 'absence' ? before.timer : null;
      let timer = old;
      if (timer && t >= timer.anchorMs && stepMatches(p.expect, event, celEvent)) timer = null;
      // the latest anchor wins: "no purchase for 30 days after the last one"
      if (stepMatches(p.after, event, celEvent) && (!timer || t >= timer.anchorMs))
        timer = { dueMs: t + p.withinMs, anchorMs: t, anchorEventId: event.id };
      if (timer !== old)
        timers.push({ patternKey: p.key, campaignId: p.campaignId, set: timer, cleared: old });
      after = timer ? { kind: 'absence', timer } : null;
    }
    if (after) slots[p.key] = after;
  }
  const matched = matches.map((m) => m.campaignId);
  const seen = [...state.seen.slice(-(SEEN_MAX - 1)), { id: key, matched }];
  return { state: { slots, seen }, matched, matches, timers, duplicate: false };
}

function foldSequence(
  p: Extract<StatefulPattern, { kind: 'sequence' }>,
  slot: SequenceSlot | undefined,
  event: AcceptedEvent,
  celEvent: CelEvent,
): { slot: SequenceSlot | null; match?: PatternMatch } {
  const t = event.occurredAtMs;
  const n = p.steps.length;
  const starts: (number | null)[] = slot ? [...slot.starts] : new Array<number | null>(n - 1).fill(null);
  const firstIds: (string | null)[] = slot ? [...slot.firstIds] : new Array<string | null>(n - 1).fill(null);
  // expire partial matches that can no longer complete (event time)
  for (let i = 0; i < n - 1; i++)
    if (starts[i] !== null && t - starts[i]! > p.withinMs) starts[i] = firstIds[i] = null;
  if (p.unless && stepMatches(p.unless, event, celEvent)) return { slot: null };
  let match: PatternMatch | undefined;
  // last step first, so that one event advances a partial match by one step only
  for (let i = n - 1; i >= 1; i--) {
    const from = starts[i - 1];
    if (from === null || t < from || !stepMatches(p.steps[i], event, celEvent)) continue;
    if (i === n - 1) {
      match = {
        campaignId: p.campaignId,
        kind: 'sequence',
        reason: `${p.steps.map((s) => s.text).join(', then ')} within ${formatMs(p.withinMs)} (first event ${firstIds[i - 1]}, ${formatMs(t - from)} before)`,
      };
      // a match consumes every partial match of the pattern: no overlapping matches (docs/patterns.md)
      return { slot: null, match };
    }
    if (starts[i] === null || from > starts[i]!) {
      starts[i] = from;
      firstIds[i] = firstIds[i - 1];
    }
  }
  if (stepMatches(p.steps[0], event, celEvent) && (starts[0] === null || t >= starts[0])) {
    starts[0] = t;
    firstIds[0] = event.id;
  }
  return { slot: starts.some((s) => s !== null) ? { kind: 'sequence', starts, firstIds } : null };
}

function foldCount(
  p: Extract<StatefulPattern, { kind: 'count' }>,
  slot: CountSlot | undefined,
  event: AcceptedEvent,
  celEvent: CelEvent,
): { slot: CountSlot | null; match?: PatternMatch } {
  const t = event.occurredAtMs;
  const kept = (slot?.times ?? []).filter((x) => x > t - p.withinMs);
  if (!stepMatches(p.of, event, celEvent))
    return { slot: kept.length > 0 ? { kind: 'count', times: kept } : null };
  // the window ending at this event: (t − within, t]
  const inWindow = kept.filter((x) => x > t - p.withinMs && x <= t).length + 1;
  const times = insertSorted(kept, t).slice(-p.nth);
  const match: PatternMatch | undefined =
    inWindow === p.nth
      ? {
          campaignId: p.campaignId,
          kind: 'count',
          reason: `${ordinal(p.nth)} ${p.of.text} within ${formatMs(p.withinMs)}`,
        }
      : undefined;
  return { slot: { kind: 'count', times }, match };
}

/** Pending absence timers of a state, with their pattern keys. */
export function pendingTimers(state: PatternState): { patternKey: string; timer: AbsenceTimer }[] {
  const out: { patternKey: string; timer: AbsenceTimer }[] = [];
  for (const [patternKey, slot] of Object.entries(state.slots))
    if (slot.kind === 'absence' && slot.timer) out.push({ patternKey, timer: slot.timer });
  return out;
}

/**
 * Fires the absence timer of `pattern` if it is due at `nowMs` and still the one pending (a timer cancelled or
 * re-armed meanwhile does not fire): the state without it, and the synthetic event that goes to decision.
 * Its id is derived from the pattern and the anchor event, so firing twice (a crash after the publish,
 * a takeover) yields the same event, which decision decides once.
 */
export function fireAbsence(
  state: PatternState,
  customerId: string,
  pattern: Extract<StatefulPattern, { kind: 'absence' }>,
  nowMs: number,
  timeZone: string,
): { state: PatternState; event: AcceptedEvent; match: PatternMatch } | undefined {
  const slot = state.slots[pattern.key];
  if (slot?.kind !== 'absence' || !slot.timer || slot.timer.dueMs > nowMs) return undefined;
  const timer = slot.timer;
  const since = localDay(timer.anchorMs, timeZone);
  const reason = `no ${pattern.expectText} since ${since}`;
  const event = absenceEvent(customerId, pattern, timer, reason, since);
  const slots = { ...state.slots };
  delete slots[pattern.key];
  return {
    state: { ...state, slots },
    event,
    match: { campaignId: pattern.campaignId, kind: 'absence', reason },
  };
}

/** The synthetic event of a fired absence timer (type ABSENCE_EVENT_TYPE, channel 'system'). */
export function absenceEvent(
  customerId: string,
  pattern: Extract<StatefulPattern, { kind: 'absence' }>,
  timer: AbsenceTimer,
  reason: string,
  since: string,
): AcceptedEvent {
  return {
    id: absenceEventId(pattern.key, timer.anchorEventId),
    // Not an adapter's event type: ingestion never accepts it; only absence campaigns trigger on it.
    type: ABSENCE_EVENT_TYPE as AcceptedEvent['type'],
    channel: SYSTEM_CHANNEL,
    occurredAt: new Date(timer.dueMs).toISOString(),
    occurredAtMs: timer.dueMs,
    receivedAtMs: timer.dueMs,
    customerId,
    payload: { campaignId: pattern.campaignId, since, reason, anchorEventId: timer.anchorEventId },
  };
}

/** ≤ 128 characters (the envelope's id limit): the anchor id is cut, the pattern key's fingerprint kept. */
export function absenceEventId(patternKey: string, anchorEventId: string): string {
  return `absence:${patternKey}:${anchorEventId}`.slice(0, 128);
}

function insertSorted(xs: readonly number[], x: number): number[] {
  const out = [...xs];
  let i = out.length;
  while (i > 0 && out[i - 1] > x) i--;
  out.splice(i, 0, x);
  return out;
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
}

function formatMs(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)}m`;
  return `${Math.round(ms / 1000)}s`;
}
