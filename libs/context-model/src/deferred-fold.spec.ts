/**
 * DeferredContext against the live fold: random histories of one customer — several days, late events
 * received after their day closed, repeats and redeliveries, profile updates, receipts now and then out of
 * order — folded event after event by foldEvent and foldIntoClosedDay (as the simulation did before the
 * fold was deferred) and by DeferredContext, read at random points: the same outcome for every event, and
 * the same rows, recent list and profile at every read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcceptedEvent } from '@nunchi/contracts';
import { rollupEvents } from './daily-rollup.js';
import { dayFromIndex } from './day-index.js';
import { DeferredContext } from './deferred-fold.js';
import { event, prng, purchase } from './fixtures.js';
import { foldEvent, foldIntoClosedDay, type CustomerContext } from './fold.js';
import { localDayIndex } from './local-day.js';
import { toRecentEvent } from './recent.js';

const TZ = 'Asia/Seoul';
const HOUR = 3_600_000;
const START = Date.parse('2026-03-01T00:00:00+09:00');

/** The simulation's eager fold (ContextReplay before DeferredContext). */
class EagerReplay {
  context: CustomerContext;
  readonly days = new Map<number, AcceptedEvent[]>();
  constructor(
    base: Pick<CustomerContext, 'profile' | 'rows' | 'recent'>,
    private readonly firstDay: number,
  ) {
    this.context = { ...base, openFrom: firstDay, openEvents: [] };
  }
  fold(e: AcceptedEvent, nowMs: number): string {
    const options = { timeZone: TZ, nowMs };
    const index = localDayIndex(e.occurredAtMs, TZ);
    let dayEvents = this.days.get(index);
    if (!dayEvents) this.days.set(index, (dayEvents = []));
    let result = foldEvent(this.context, e, options);
    if (result.kind === 'closed-day') {
      if (index < this.firstDay) return 'before';
      result = foldIntoClosedDay(result.context, e, dayEvents, options);
    }
    if (result.kind !== 'applied') return result.kind;
    this.context = result.context;
    dayEvents.push(e);
    return 'applied';
  }
}

function history(rnd: () => number, n: number): AcceptedEvent[] {
  const stores = ['bundang-01', 'pangyo-01', undefined];
  const channels = ['pos', 'app'];
  const out: AcceptedEvent[] = [];
  for (let i = 0; i < n; i++) {
    const occurred = START + Math.floor(rnd() * 9 * 24) * HOUR + Math.floor(rnd() * HOUR);
    // most received at once, some days late, a few a little before later-numbered ones (out of order)
    const late = rnd() < 0.15 ? Math.floor(rnd() * 5 * 24) * HOUR : rnd() < 0.1 ? -HOUR / 2 : 1000;
    const common = {
      id: `e-${i}`,
      at: new Date(occurred).toISOString(),
      channel: channels[Math.floor(rnd() * channels.length)],
      receivedAtMs: occurred + late,
    };
    const storeId = stores[Math.floor(rnd() * stores.length)];
    const r = rnd();
    const e =
      r < 0.5
        ? purchase({
            ...common,
            ...(storeId ? { storeId } : {}),
            lines: [
              [rnd() < 0.5 ? 'beer' : 'milk', 1 + Math.floor(rnd() * 3), 1000 + Math.floor(rnd() * 9000)],
            ],
          })
        : r < 0.6
          ? event({
              ...common,
              type: 'profile_update',
              payload: { region: rnd() < 0.5 ? 'Bundang' : 'Seoul' },
            })
          : event({ ...common, type: 'visit', ...(storeId ? { storeId } : {}) });
    out.push(e);
    if (rnd() < 0.1) out.push({ ...e, receivedAtMs: e.receivedAtMs + HOUR }); // a redelivery
  }
  return out.sort((a, b) => a.receivedAtMs - b.receivedAtMs || a.occurredAtMs - b.occurredAtMs);
}

describe('DeferredContext', () => {
  it('folds as foldEvent and foldIntoClosedDay do, event after event', () => {
    const rnd = prng(20261202);
    for (let trial = 0; trial < 150; trial++) {
      const firstDay = localDayIndex(START, TZ) + Math.floor(rnd() * 3);
      const older = history(rnd, 10).filter((e) => localDayIndex(e.occurredAtMs, TZ) < firstDay);
      const base = { profile: null, rows: rollupEvents(older, TZ), recent: older.map(toRecentEvent) };
      const eager = new EagerReplay(base, firstDay);
      const deferred = new DeferredContext(base, { timeZone: TZ, firstDay });
      const events = history(rnd, 5 + Math.floor(rnd() * 60));
      // a few out of order receipts (the instant goes back: the deferred rows must still agree)
      if (events.length > 3 && rnd() < 0.3) [events[1], events[2]] = [events[2], events[1]];
      for (const [i, e] of events.entries()) {
        const nowMs = e.receivedAtMs;
        assert.equal(deferred.fold(e, nowMs), eager.fold(e, nowMs), `trial ${trial}, event ${i}: outcome`);
        assert.deepStrictEqual(
          deferred.profile,
          eager.context.profile,
          `trial ${trial}, event ${i}: profile`,
        );
        if (rnd() < 0.3 || i === events.length - 1) {
          const c = deferred.context();
          assert.deepStrictEqual(c.rows, eager.context.rows, `trial ${trial}, event ${i}: rows`);
          assert.deepStrictEqual(c.recent, eager.context.recent, `trial ${trial}, event ${i}: recent`);
          assert.equal(c.openFrom, eager.context.openFrom);
          assert.deepStrictEqual(c.openEvents, eager.context.openEvents);
        }
      }
      assert.ok(dayFromIndex(firstDay));
    }
  });
});
