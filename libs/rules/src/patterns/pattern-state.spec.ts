import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcceptedEvent } from '@nunchi/contracts';
import { event, seoul } from '../testing/fixtures.js';
import { compilePattern, isStateful, type StatefulPattern } from './compile-pattern.js';
import type { PatternDefinition } from './pattern.js';
import {
  EMPTY_PATTERN_STATE,
  SEEN_MAX,
  fireAbsence,
  foldPatterns,
  pendingTimers,
  type PatternState,
} from './pattern-state.js';

function pattern(id: string, def: PatternDefinition, types: string[]): StatefulPattern {
  const p = compilePattern(id, def, types);
  assert.ok(isStateful(p));
  return p;
}

const formulaThenVisit = pattern(
  'formula-then-visit',
  {
    sequence: {
      steps: [
        { types: ['product_view'], channels: ['app'], where: "'infant_formula' in event.categories" },
        { types: ['visit'] },
      ],
      within: '2h',
    },
  },
  ['visit'],
);

let n = 0;
const view = (at: string, category = 'infant_formula', over: Partial<AcceptedEvent> = {}) =>
  event({
    id: `v-${++n}`,
    type: 'product_view',
    channel: 'app',
    occurredAtMs: seoul(at),
    payload: { category },
    ...over,
  });
const visit = (at: string, over: Partial<AcceptedEvent> = {}) =>
  event({ id: `s-${++n}`, type: 'visit', occurredAtMs: seoul(at), ...over });
const buy = (at: string, over: Partial<AcceptedEvent> = {}) =>
  event({
    id: `p-${++n}`,
    type: 'purchase',
    occurredAtMs: seoul(at),
    payload: { amount: 1000, currency: 'KRW', items: [] },
    ...over,
  });

/** Folds events in order; the campaign ids each completed. */
function run(
  patterns: StatefulPattern[],
  events: AcceptedEvent[],
  state: PatternState = EMPTY_PATTERN_STATE,
) {
  const matched: string[][] = [];
  for (const e of events) {
    const r = foldPatterns(state, e, patterns);
    state = r.state;
    matched.push([...r.matched]);
  }
  return { state, matched };
}

void describe('sequence: A then B within a duration', () => {
  void it('matches B within the window after an A whose step condition holds', () => {
    const { matched } = run([formulaThenVisit], [view('2026-11-24T10:00'), visit('2026-11-24T11:30')]);
    assert.deepEqual(matched, [[], ['formula-then-visit']]);
  });

  void it('does not match past the window, nor when the step condition or channel fails', () => {
    assert.deepEqual(
      run([formulaThenVisit], [view('2026-11-24T10:00'), visit('2026-11-24T12:00')]).matched[1],
      ['formula-then-visit'],
    ); // exactly 2 h: within is inclusive
    assert.deepEqual(
      run([formulaThenVisit], [view('2026-11-24T10:00'), visit('2026-11-24T12:01')]).matched[1],
      [],
    );
    assert.deepEqual(
      run([formulaThenVisit], [view('2026-11-24T10:00', 'beer'), visit('2026-11-24T10:30')]).matched[1],
      [],
    );
    assert.deepEqual(
      run(
        [formulaThenVisit],
        [view('2026-11-24T10:00', 'infant_formula', { channel: 'web' }), visit('2026-11-24T10:30')],
      ).matched[1],
      [],
    );
  });

  void it('B before any A, or an A stamped after B, does not match (event-time order)', () => {
    assert.deepEqual(run([formulaThenVisit], [visit('2026-11-24T10:00'), view('2026-11-24T10:30')]).matched, [
      [],
      [],
    ]);
    // arrives first but happened later: B at 10:00 cannot follow an A at 10:30
    assert.deepEqual(
      run([formulaThenVisit], [view('2026-11-24T10:30'), visit('2026-11-24T10:00')]).matched[1],
      [],
    );
  });

  void it('a later A keeps the match alive (latest start wins); a match consumes every partial match', () => {
    const { matched, state } = run(
      [formulaThenVisit],
      [
        view('2026-11-24T08:00'),
        view('2026-11-24T09:30'),
        visit('2026-11-24T11:00'),
        visit('2026-11-24T11:10'),
      ],
    );
    assert.deepEqual(matched, [[], [], ['formula-then-visit'], []]);
    assert.equal(state.slots[formulaThenVisit.key], undefined, 'consumed: nothing pending');
  });

  void it('three steps advance one step per event, and `unless` cancels', () => {
    const threeVisits = pattern(
      'three-visits',
      {
        sequence: { steps: [{ types: ['visit'] }, { types: ['visit'] }, { types: ['visit'] }], within: '7d' },
      },
      ['visit'],
    );
    assert.deepEqual(
      run([threeVisits], [visit('2026-11-20T10:00'), visit('2026-11-21T10:00'), visit('2026-11-22T10:00')])
        .matched,
      [[], [], ['three-visits']],
    );
    const cartNoBuyThenVisit = pattern(
      'cart-then-visit',
      {
        sequence: {
          steps: [{ types: ['cart'] }, { types: ['visit'] }],
          within: '1d',
          unless: { types: ['purchase'] },
        },
      },
      ['visit'],
    );
    const cart = event({ id: 'cart-1', type: 'cart', occurredAtMs: seoul('2026-11-24T10:00') });
    assert.deepEqual(
      run([cartNoBuyThenVisit], [cart, buy('2026-11-24T10:10'), visit('2026-11-24T11:00')]).matched[2],
      [],
    );
    assert.deepEqual(run([cartNoBuyThenVisit], [cart, visit('2026-11-24T11:00')]).matched[1], [
      'cart-then-visit',
    ]);
  });

  void it('expired partial matches leave the state (bounded by its window)', () => {
    const { state } = run([formulaThenVisit], [view('2026-11-24T08:00'), visit('2026-11-24T23:00')]);
    assert.equal(state.slots[formulaThenVisit.key], undefined);
  });
});

void describe('count: the n-th in a sliding window', () => {
  const thirdVisit = pattern('third-visit', { count: { of: { types: ['visit'] }, within: '7d', nth: 3 } }, [
    'visit',
  ]);

  void it('matches exactly the third visit within 7 days, not the fourth', () => {
    const { matched, state } = run(
      [thirdVisit],
      [
        visit('2026-11-18T10:00'),
        visit('2026-11-20T10:00'),
        visit('2026-11-24T10:00'),
        visit('2026-11-24T12:00'),
      ],
    );
    assert.deepEqual(matched, [[], [], ['third-visit'], []]);
    const slot = state.slots[thirdVisit.key];
    assert.equal(slot?.kind === 'count' && slot.times.length, 3, 'keeps only the latest nth times');
  });

  void it('the window slides: an old visit no longer counts', () => {
    const { matched } = run(
      [thirdVisit],
      [
        visit('2026-11-10T10:00'),
        visit('2026-11-20T10:00'),
        visit('2026-11-24T10:00'),
        visit('2026-11-25T10:00'),
      ],
    );
    assert.deepEqual(matched, [[], [], [], ['third-visit']]);
  });
});

void describe('absence: timers', () => {
  const noRepurchase = pattern(
    'no-repurchase-30d',
    { absence: { after: { types: ['purchase'] }, expect: { types: ['purchase'] }, within: '30d' } },
    ['absence'],
  );

  void it('the deadline is the latest anchor + within; an expected event cancels, the next anchor re-arms', () => {
    const first = foldPatterns(EMPTY_PATTERN_STATE, buy('2026-10-30T10:00', { id: 'p-a' }), [noRepurchase]);
    assert.deepEqual(
      first.timers.map((t) => [t.set?.dueMs, t.cleared]),
      [[seoul('2026-10-30T10:00') + 30 * 86_400_000, null]],
    );
    const second = foldPatterns(first.state, buy('2026-11-05T10:00', { id: 'p-b' }), [noRepurchase]);
    assert.equal(second.timers[0]?.cleared?.anchorEventId, 'p-a');
    assert.equal(second.timers[0]?.set?.anchorEventId, 'p-b');
    assert.deepEqual(
      pendingTimers(second.state).map((t) => t.timer.dueMs),
      [seoul('2026-12-05T10:00')],
    );
  });

  void it('fires once, due, with a reason and an id derived from the anchor; not before', () => {
    const { state } = foldPatterns(EMPTY_PATTERN_STATE, buy('2026-10-30T10:00', { id: 'p-a' }), [
      noRepurchase,
    ]);
    assert.equal(
      fireAbsence(state, 'c-000042', noRepurchase as never, seoul('2026-11-29T09:59'), 'Asia/Seoul'),
      undefined,
    );
    const fired = fireAbsence(
      state,
      'c-000042',
      noRepurchase as never,
      seoul('2026-11-29T10:00'),
      'Asia/Seoul',
    );
    assert.ok(fired);
    assert.equal(fired.match.reason, 'no purchase since 2026-10-30');
    assert.equal(fired.event.type, 'absence');
    assert.equal(fired.event.payload.campaignId, 'no-repurchase-30d');
    assert.equal(fired.event.id, `absence:${noRepurchase.key}:p-a`);
    assert.equal(
      fireAbsence(fired.state, 'c-000042', noRepurchase as never, seoul('2026-11-29T10:00'), 'Asia/Seoul'),
      undefined,
    );
  });

  void it('a cart without a purchase within 1 h; the purchase cancels', () => {
    const cartAbandoned = pattern(
      'cart-abandoned',
      { absence: { after: { types: ['cart'] }, expect: { types: ['purchase'] }, within: '1h' } },
      ['absence'],
    );
    const cart = event({ id: 'cart-9', type: 'cart', occurredAtMs: seoul('2026-11-24T10:00') });
    const armed = foldPatterns(EMPTY_PATTERN_STATE, cart, [cartAbandoned]);
    assert.equal(pendingTimers(armed.state)[0]?.timer.dueMs, seoul('2026-11-24T11:00'));
    const bought = foldPatterns(armed.state, buy('2026-11-24T10:40'), [cartAbandoned]);
    assert.deepEqual(pendingTimers(bought.state), []);
    assert.equal(bought.timers[0]?.set, null);
  });
});

void describe('exactness and bounds', () => {
  void it('a repeated event id changes nothing and reports the same matches', () => {
    const a = view('2026-11-24T10:00');
    const b = visit('2026-11-24T10:30');
    const { state } = run([formulaThenVisit], [a, b]);
    const again = foldPatterns(state, b, [formulaThenVisit]);
    assert.equal(again.duplicate, true);
    assert.deepEqual(again.matched, ['formula-then-visit']);
    assert.equal(again.state, state);
  });

  void it('remembers the last SEEN_MAX ids; slots of patterns no longer active are dropped', () => {
    const events = Array.from({ length: SEEN_MAX + 5 }, (_, i) =>
      visit(`2026-11-24T10:${String(i).padStart(2, '0')}`),
    );
    const { state } = run([formulaThenVisit], [view('2026-11-24T09:59'), ...events]);
    assert.equal(state.seen.length, SEEN_MAX);
    assert.deepEqual(Object.keys(foldPatterns(state, view('2026-11-24T11:00'), []).state.slots), []);
  });

  void it('a changed pattern gets a new key (its state starts afresh); the same pattern keeps it', () => {
    const def: PatternDefinition = { count: { of: { types: ['visit'] }, within: '7d', nth: 3 } };
    assert.equal(
      compilePattern('x', def, ['visit']).key,
      compilePattern('x', structuredClone(def), ['visit']).key,
    );
    assert.notEqual(
      compilePattern('x', def, ['visit']).key,
      compilePattern('x', { count: { of: { types: ['visit'] }, within: '7d', nth: 4 } }, ['visit']).key,
    );
  });

  void it('the state is plain data: a JSON round trip folds the same', () => {
    const { state } = run([formulaThenVisit], [view('2026-11-24T10:00')]);
    const stored = JSON.parse(JSON.stringify(state)) as PatternState;
    assert.deepEqual(foldPatterns(stored, visit('2026-11-24T10:30'), [formulaThenVisit]).matched, [
      'formula-then-visit',
    ]);
  });
});
