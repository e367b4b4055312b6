/**
 * Merging two customers against the single-identifier model: a customer seen under two ids, whose histories
 * are then merged as the context service merges them (moved events and rebuilt days written beside what the
 * survivor stored, each day's row at timestamp day × 10⁶ + events), must end with the context that folding
 * every event under one id from the start gives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcceptedEvent } from '@nunchi/contracts';
import { compareRows, rollupDay, type DailyRollup } from './daily-rollup.js';
import { dayFromIndex, dayIndex } from './day-index.js';
import { event, prng, purchase } from './fixtures.js';
import {
  foldEvent,
  foldIntoClosedDay,
  newContext,
  openContext,
  openFromAt,
  type FoldOptions,
} from './fold.js';
import { localDay, localDayIndex, localDayRange } from './local-day.js';
import { asCustomer, mergeHistories, profileGaps, survivorOf } from './merge.js';
import { toRecentEvent } from './recent.js';
import { buildSnapshot } from './snapshot.js';

const TZ = 'Asia/Seoul';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-03-20T12:00:00+09:00');

/** One customer's stored history: event rows by id, day rows with the write timestamp that won. */
class Store {
  readonly events = new Map<string, AcceptedEvent>();
  readonly days = new Map<string, { rows: DailyRollup[]; ts: number }>();

  writeDay(day: string, rows: DailyRollup[], count: number): void {
    const ts = dayIndex(day) * 1_000_000 + count;
    const current = this.days.get(day);
    if (!current || ts >= current.ts) this.days.set(day, { rows, ts });
  }

  /** What the live path stores for each event, one at a time. */
  fold(e: AcceptedEvent): void {
    this.events.set(e.id, e);
    const day = localDay(e.occurredAtMs, TZ);
    const ofDay = [...this.events.values()].filter((x) => localDay(x.occurredAtMs, TZ) === day);
    this.writeDay(day, rollupDay(ofDay, day, TZ), ofDay.length);
  }

  load(options: FoldOptions) {
    const openFrom = openFromAt(options);
    const openFromMs = localDayRange(dayFromIndex(openFrom), TZ).startMs;
    return openContext({
      profile: null,
      rows: [...this.days.values()].flatMap((d) => d.rows),
      recent: [...this.events.values()].map(toRecentEvent),
      openFrom,
      openEvents: [...this.events.values()].filter((e) => e.occurredAtMs >= openFromMs),
      timeZone: TZ,
    });
  }
}

function randomEvent(random: () => number, id: string, customerId: string): AcceptedEvent {
  const at = new Date(NOW - random() * 40 * DAY).toISOString();
  const storeId = `s${Math.floor(random() * 3)}`;
  if (random() < 0.6)
    return purchase({
      id,
      at,
      storeId,
      customerId,
      lines: [[['beer', '분유', 'milk'][Math.floor(random() * 3)], 1 + Math.floor(random() * 3), 1500]],
    });
  return event({ id, at, storeId, customerId, type: random() < 0.5 ? 'visit' : 'app_open' });
}

/** The single-identifier model: every event folded under one id, in the given order. */
function foldedAsOne(events: readonly AcceptedEvent[], customerId: string, options: FoldOptions) {
  const stored: AcceptedEvent[] = [];
  let context = newContext(null, { ...options, nowMs: NOW - 41 * DAY });
  for (const raw of events) {
    const e = asCustomer(raw, customerId);
    let result = foldEvent(context, e, options);
    if (result.kind === 'closed-day') {
      const day = result.day;
      result = foldIntoClosedDay(
        result.context,
        e,
        stored.filter((x) => localDay(x.occurredAtMs, TZ) === day),
        options,
      );
    }
    if (result.kind === 'applied') stored.push(e);
    context = result.context;
  }
  return context;
}

describe('mergeHistories (two customers become one)', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`gives the survivor the context of one identifier from the start (seed ${seed})`, () => {
      const random = prng(seed);
      const options = { timeZone: TZ, nowMs: NOW };
      const survivor = new Store();
      const absorbed = new Store();
      const all: AcceptedEvent[] = [];
      for (let i = 0; i < 120; i++) {
        const toSurvivor = random() < 0.5;
        const e = randomEvent(random, `e${i}`, toSurvivor ? 'c-a' : 'c-b');
        (toSurvivor ? survivor : absorbed).fold(e);
        all.push(e);
      }
      // The linking event reached both before (a redelivery across the merge): it must count once.
      const login = event({
        id: 'login',
        at: new Date(NOW - HOUR).toISOString(),
        type: 'app_open',
        customerId: 'c-b',
      });
      absorbed.fold(login);
      survivor.fold(asCustomer(login, 'c-a'));
      all.push(login);

      const merge = () => {
        const merged = mergeHistories(
          'c-a',
          [...survivor.events.values()],
          [...absorbed.events.values()],
          TZ,
        );
        for (const e of merged.moved) survivor.events.set(e.id, e);
        for (const d of merged.days) survivor.writeDay(d.day, d.rows, d.eventCount);
        return merged;
      };
      const first = merge();
      assert.ok(first.moved.every((e) => e.customerId === 'c-a' && e.id !== 'login'));
      assert.equal(merge().moved.length, 0, 'merging again moves nothing');

      const model = foldedAsOne(all, 'c-a', options);
      const loaded = survivor.load(options);
      assert.deepEqual([...loaded.rows].sort(compareRows), [...model.rows].sort(compareRows), 'rows');
      const snapshot = (c: typeof model) =>
        buildSnapshot({ customerId: 'c-a', rows: c.rows, recent: c.recent, nowMs: NOW, timeZone: TZ });
      assert.deepEqual(snapshot(loaded), snapshot(model), 'snapshot');
      assert.ok(loaded.openEvents.every((e) => localDayIndex(e.occurredAtMs, TZ) >= loaded.openFrom));
    });
  }

  it('chooses the smaller id as survivor, whichever order the two come in', () => {
    assert.deepEqual(survivorOf('c-b', 'c-a'), { survivorId: 'c-a', absorbedId: 'c-b' });
    assert.deepEqual(survivorOf('c-a', 'c-b'), { survivorId: 'c-a', absorbedId: 'c-b' });
  });

  it("fills the survivor's missing profile fields from the absorbed customer, never overwrites them", () => {
    assert.deepEqual(
      profileGaps(
        { id: 'c-a', age: 34, attributes: { tier: 'gold' }, channelConsent: { app: false } },
        {
          id: 'c-b',
          age: 20,
          region: 'Bundang',
          attributes: { tier: 'none', app: 'ios' },
          channelConsent: { app: true, web: true },
        },
      ),
      { region: 'Bundang', attributes: { app: 'ios' }, channelConsent: { web: true } },
    );
    assert.deepEqual(profileGaps(null, null), {});
    assert.deepEqual(profileGaps(null, { id: 'c-b', gender: 'M', attributes: {} }), { gender: 'M' });
  });
});
