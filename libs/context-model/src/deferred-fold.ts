/**
 * The fold of fold.ts with its derived parts computed when read: for a replay (simulation on history) that
 * folds every event but reads a customer's context for few of them (most events trigger nothing that reads
 * `ctx`). The live fold rebuilds the event's day rows from all of that day's events and copies the row and
 * recent lists on every event; here a fold only records the event — its day marked stale, its recent entry
 * pending — and `context()` brings the rows and recent list up to date: each stale day rolled up once from
 * all its events (rollupDay, as foldEvent does on each), spliced and pruned at the last fold's instant
 * (replaceDayAndPrune), the pending events pushed in fold order (pushRecent).
 *
 * The result is the context foldEvent and foldIntoClosedDay would have built, event after event (a day's
 * rows are a pure function of its events; pruning at non-decreasing instants keeps what the last one
 * keeps; the recent list is the same pushes in the same order): deferred-fold.spec.ts compares them on
 * random histories. A replay folds in the order events were received, so fold instants do not go back;
 * one that does first brings the context up to date at the instants before it (then the same holds).
 */
import { eventKey } from '@nunchi/contracts/core';
import type { AcceptedEvent, CustomerProfile, RecentEvent } from '@nunchi/contracts';
import { rollupDay, type DailyRollup } from './daily-rollup.js';
import { dayFromIndex } from './day-index.js';
import { localDayIndex } from './local-day.js';
import { replaceDayAndPrune } from './merge-rows.js';
import { pushRecent } from './recent.js';
import { OPEN_DAYS, withProfileUpdate, type CustomerContext } from './fold.js';

/** What a fold did: as FoldResult's kinds; 'before' for a day older than the replayed ones (not folded). */
export type DeferredFold = 'applied' | 'duplicate' | 'before';

export class DeferredContext {
  #profile: CustomerProfile | null;
  #rows: readonly DailyRollup[];
  #recent: readonly RecentEvent[];
  #openFrom: number;
  /** every event of the open days, in fold order (what CustomerContext.openEvents holds) */
  #openEvents: AcceptedEvent[] = [];
  /** the day index of each of #openEvents */
  #openEventDays: number[] = [];
  /** eventKey → the day indexes of the events applied with that key (the duplicates foldEvent would see) */
  readonly #applied = new Map<string, number[]>();
  /** day index → every event folded into that day (the replayed days' "stored" events) */
  readonly #days = new Map<number, AcceptedEvent[]>();
  /** days whose rows are not rebuilt yet */
  readonly #stale = new Set<number>();
  /** folded events not yet in #recent, in fold order */
  #pending: AcceptedEvent[] = [];
  #lastFoldMs = -Infinity;
  #folds = 0;

  constructor(
    base: {
      profile: CustomerProfile | null;
      /** rollup rows of the days before `firstDay`, stored order */
      rows: readonly DailyRollup[];
      recent: readonly RecentEvent[];
    },
    private readonly options: {
      timeZone: string;
      /** day index of the first replayed day: events of earlier days are in `base` and are not folded */
      firstDay: number;
    },
  ) {
    this.#profile = base.profile;
    this.#rows = base.rows;
    this.#recent = base.recent;
    this.#openFrom = options.firstDay;
  }

  /** events applied so far: a context read is of the state after that many */
  get folds(): number {
    return this.#folds;
  }

  /** the profile after the folds so far (profile_update events applied at once: it is read on every decision) */
  get profile(): CustomerProfile | null {
    return this.#profile;
  }

  /**
   * Folds an event at `nowMs` (its processing instant), as foldEvent, then foldIntoClosedDay for a closed
   * day given every event folded into that day, would. Days before `firstDay` are not folded ('before').
   */
  fold(event: AcceptedEvent, nowMs: number): DeferredFold {
    // The rows are pruned at the last fold's instant: exact while instants do not go back.
    if (nowMs < this.#lastFoldMs) this.context();
    const tz = this.options.timeZone;
    // closeOldDays, kept only when the event is applied (as foldEvent's context is)
    const openFrom = Math.max(this.#openFrom, localDayIndex(nowMs, tz) - (OPEN_DAYS - 1));
    const index = localDayIndex(event.occurredAtMs, tz);
    const key = eventKey(event);
    // foldEvent's duplicates: an event of the same key among a closed day's stored events, or among the open
    // days' events. Every applied event of a day >= openFrom is among the open days' (openFrom never goes
    // back), and a closed day's stored events are the events applied to it.
    const twins = this.#applied.get(key);
    if (index < openFrom) {
      if (index < this.options.firstDay) return 'before';
      if (twins?.includes(index)) return 'duplicate';
    } else if (twins?.some((day) => day >= openFrom)) return 'duplicate';
    if (openFrom > this.#openFrom) {
      this.#openFrom = openFrom;
      const events: AcceptedEvent[] = [];
      const days: number[] = [];
      this.#openEventDays.forEach((day, i) => {
        if (day >= openFrom) {
          events.push(this.#openEvents[i]);
          days.push(day);
        }
      });
      this.#openEvents = events;
      this.#openEventDays = days;
    }
    if (index >= openFrom) {
      this.#openEvents.push(event);
      this.#openEventDays.push(index);
    }
    if (twins) twins.push(index);
    else this.#applied.set(key, [index]);
    let dayEvents = this.#days.get(index);
    if (!dayEvents) this.#days.set(index, (dayEvents = []));
    dayEvents.push(event);
    if (event.type === 'profile_update') this.#profile = withProfileUpdate(this.#profile, event);
    this.#stale.add(index);
    this.#pending.push(event);
    this.#lastFoldMs = nowMs;
    this.#folds++;
    return 'applied';
  }

  /** The context after the folds so far: what foldEvent's last 'applied' result held. */
  context(): CustomerContext {
    if (this.#stale.size > 0) {
      const tz = this.options.timeZone;
      const today = dayFromIndex(localDayIndex(this.#lastFoldMs, tz));
      let rows = this.#rows;
      for (const index of this.#stale) {
        const day = dayFromIndex(index);
        rows = replaceDayAndPrune(rows, rollupDay(this.#days.get(index)!, day, tz), today);
      }
      this.#rows = rows;
      this.#stale.clear();
    }
    if (this.#pending.length > 0) {
      let recent = this.#recent;
      for (const e of this.#pending) recent = pushRecent(recent, e);
      this.#recent = recent;
      this.#pending = [];
    }
    return {
      profile: this.#profile,
      rows: this.#rows,
      recent: this.#recent,
      openFrom: this.#openFrom,
      openEvents: this.#openEvents.slice(),
    };
  }
}
