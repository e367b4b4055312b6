/**
 * foldEvent as the live context service uses it, against a model store: random histories with late events,
 * repeats, redeliveries and crashes (before or after the write) must leave the stored rollups and the folded
 * context equal to the rollups of the distinct events, computed in one go.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcceptedEvent } from '@nunchi/contracts';
import { compareRows, rollupDay, rollupEvents, type DailyRollup } from './daily-rollup.js';
import { dayFromIndex, dayIndex } from './day-index.js';
import { event, prng, purchase } from './fixtures.js';
import { localDay, localDayIndex, localDayRange } from './local-day.js';
import {
  foldEvent,
  foldIntoClosedDay,
  newContext,
  openContext,
  openFromAt,
  type CustomerContext,
  type FoldOptions,
  type FoldResult,
} from './fold.js';
import { pruneRows } from './merge-rows.js';

const TZ = 'Asia/Seoul';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.parse('2026-03-01T09:00:00+09:00');

/** What Cassandra keeps: event rows by id, daily rows by (day, dim) with the write timestamp that won. */
class ModelStore {
  readonly events = new Map<string, AcceptedEvent>();
  readonly rows = new Map<string, { row: DailyRollup; ts: number }>();

  write(event: AcceptedEvent, day: string, dayRows: readonly DailyRollup[], count: number): void {
    this.events.set(event.id, event);
    const ts = dayIndex(day) * 1_000_000 + count; // dailyRowsTimestamp
    for (const row of dayRows) {
      const key = `${row.day}|${row.dim}`;
      const current = this.rows.get(key);
      if (!current || ts >= current.ts) this.rows.set(key, { row, ts });
    }
  }

  eventsOfDay(day: string): AcceptedEvent[] {
    return [...this.events.values()].filter((e) => localDay(e.occurredAtMs, TZ) === day);
  }

  /** A cold load, as ContextRepository.storedHistory reads it. */
  load(options: FoldOptions): CustomerContext {
    const openFrom = openFromAt(options);
    const openFromMs = localDayRange(dayFromIndex(openFrom), TZ).startMs;
    return openContext({
      profile: null,
      rows: [...this.rows.values()].map((r) => r.row),
      recent: [],
      openFrom,
      openEvents: [...this.events.values()].filter((e) => e.occurredAtMs >= openFromMs),
      timeZone: TZ,
    });
  }

  sortedRows(): DailyRollup[] {
    return [...this.rows.values()].map((r) => r.row).sort(compareRows);
  }
}

/** The context service's handling of one delivery, as ApplyEventUseCase does it. */
function handle(
  store: ModelStore,
  context: CustomerContext,
  e: AcceptedEvent,
  redelivered: boolean,
  options: FoldOptions,
  crash: 'none' | 'before-write' | 'mid-write',
): CustomerContext {
  let result: FoldResult = foldEvent(context, e, options);
  if (result.kind === 'closed-day')
    result = foldIntoClosedDay(result.context, e, store.eventsOfDay(result.day), options);
  if (result.kind === 'closed-day') throw new Error('unreachable');
  if (result.kind === 'duplicate' && !redelivered) return result.context;
  if (crash === 'before-write') return result.context;
  // An unlogged batch is atomic per partition only: the event row may land without the day's rows.
  if (crash === 'mid-write') store.events.set(e.id, e);
  if (crash !== 'none') return result.context;
  store.write(e, result.day, result.dayRows, result.dayEventCount);
  return result.context;
}

function randomEvent(random: () => number, i: number, procMs: number): AcceptedEvent {
  // Most events happen just before they are processed; some are days late.
  const lateMs = random() < 0.15 ? random() * 9 * DAY : random() * 10 * 60_000;
  const at = new Date(procMs - lateMs).toISOString();
  const storeId = `s${Math.floor(random() * 3)}`;
  if (random() < 0.5)
    return purchase({
      id: `e${i}`,
      at,
      storeId,
      lines: [
        [['beer', 'milk', 'infant_formula'][Math.floor(random() * 3)], 1 + Math.floor(random() * 3), 1000],
      ],
    });
  return event({ id: `e${i}`, at, storeId, type: random() < 0.5 ? 'visit' : 'app_open', channel: 'pos' });
}

describe('foldEvent (how context follows events, live and in simulation)', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`stores and folds exactly the rollups of the distinct events (seed ${seed})`, () => {
      const random = prng(seed);
      const store = new ModelStore();
      let nowMs = START;
      let context = newContext(null, { timeZone: TZ, nowMs });
      const sent: AcceptedEvent[] = [];
      for (let i = 0; i < 300; i++) {
        nowMs += random() * 3 * HOUR; // processing time moves on: days close
        const options = { timeZone: TZ, nowMs };
        const repeat = sent.length > 0 && random() < 0.1;
        const e = repeat ? sent[Math.floor(random() * sent.length)] : randomEvent(random, i, nowMs);
        if (!repeat) sent.push(e);
        const fate = random();
        if (fate < 0.05) {
          // Killed before the write: the new owner loads from storage and gets the redelivery.
          handle(store, context, e, false, options, 'before-write');
          context = handle(store, store.load(options), e, true, options, 'none');
        } else if (fate < 0.1) {
          // Killed half-way through the write: the event row stored, the day's rows not.
          handle(store, context, e, false, options, 'mid-write');
          context = handle(store, store.load(options), e, true, options, 'none');
        } else if (fate < 0.15) {
          // Killed after the write, before the acknowledgement.
          handle(store, context, e, false, options, 'none');
          context = handle(store, store.load(options), e, true, options, 'none');
        } else {
          context = handle(store, context, e, false, options, 'none');
        }
      }
      const today = localDay(nowMs, TZ);
      const expected = pruneRows(rollupEvents(sent, TZ), today);
      assert.deepEqual(pruneRows(store.sortedRows(), today), expected, 'stored rows');
      assert.deepEqual([...context.rows], expected, 'folded rows');
      assert.deepEqual(store.load({ timeZone: TZ, nowMs }).rows, expected, 'a cold load');
      assert.ok(
        context.openEvents.every((e) => localDayIndex(e.occurredAtMs, TZ) >= context.openFrom),
        'only open days in memory',
      );
    });
  }

  it('knows a repeat of an open day from memory, and sends a closed day to storage', () => {
    const nowMs = Date.parse('2026-03-10T12:00:00+09:00');
    const options = { timeZone: TZ, nowMs };
    const a = event({ id: 'a', at: '2026-03-10T11:00:00+09:00', storeId: 's1' });
    const first = foldEvent(newContext(null, options), a, options);
    assert.equal(first.kind, 'applied');
    const again = foldEvent(first.context, a, options);
    assert.equal(again.kind, 'duplicate');
    assert.deepEqual(again.kind === 'duplicate' && again.dayRows, rollupDay([a], '2026-03-10', TZ));
    const yesterday = event({ id: 'y', at: '2026-03-09T23:30:00+09:00' });
    assert.equal(foldEvent(first.context, yesterday, options).kind, 'applied', 'yesterday is open');
    const old = event({ id: 'o', at: '2026-03-08T23:30:00+09:00' });
    const closed = foldEvent(first.context, old, options);
    assert.deepEqual([closed.kind, closed.kind === 'closed-day' && closed.day], ['closed-day', '2026-03-08']);
    const folded = foldIntoClosedDay(closed.context, old, [], options);
    assert.equal(folded.kind, 'applied');
    assert.equal(foldIntoClosedDay(closed.context, old, [old], options).kind, 'duplicate');
  });

  it("takes two channels' events with one id as two events (ids are scoped per channel), a repeat of either as a repeat", () => {
    const nowMs = Date.parse('2026-03-10T12:00:00+09:00');
    const options = { timeZone: TZ, nowMs };
    const at = '2026-03-10T11:00:00+09:00';
    const pos = event({ id: 'e-1', at, channel: 'pos', storeId: 's1' });
    const web = event({ id: 'e-1', at, channel: 'web' });
    const first = foldEvent(newContext(null, options), pos, options);
    const second = foldEvent(first.context, web, options);
    assert.equal(second.kind, 'applied', "the web adapter's e-1 is not the till's");
    assert.equal(second.kind === 'applied' && second.dayEventCount, 2);
    assert.deepEqual(
      second.context.recent.map((r) => `${r.channel}:${r.id}`).sort(),
      ['pos:e-1', 'web:e-1'],
      'both in the recent events',
    );
    assert.equal(foldEvent(second.context, web, options).kind, 'duplicate');
    assert.equal(foldEvent(second.context, pos, options).kind, 'duplicate');
    // A closed day: the stored events are told apart the same way.
    const later = { timeZone: TZ, nowMs: nowMs + 3 * DAY };
    const closed = foldEvent(newContext(null, later), web, later);
    assert.equal(closed.kind, 'closed-day');
    assert.equal(foldIntoClosedDay(closed.context, web, [pos], later).kind, 'applied');
    assert.equal(foldIntoClosedDay(closed.context, web, [pos, web], later).kind, 'duplicate');
    // The day's rollups count both (rollupDay keeps one copy per channel and id).
    const all = rollupDay([pos, web, pos], '2026-03-10', TZ).find((r) => r.dim === 'all');
    assert.equal(all?.events, 2);
  });

  it('applies a profile_update to the profile: named fields replace, attributes merge', () => {
    const nowMs = Date.parse('2026-03-10T12:00:00+09:00');
    const options = { timeZone: TZ, nowMs };
    const start = newContext({ id: 'c-000042', age: 33, region: 'Bundang', attributes: { a: '1' } }, options);
    const update = event({
      id: 'p',
      type: 'profile_update',
      at: '2026-03-10T11:00:00+09:00',
      payload: { region: 'Seoul', attributes: { b: '2' } },
    });
    const result = foldEvent(start, update, options);
    assert.deepEqual(result.context.profile, {
      id: 'c-000042',
      age: 33,
      region: 'Seoul',
      attributes: { a: '1', b: '2' },
    });
  });
});
