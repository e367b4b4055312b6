import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rollupDay, rollupEvents, type DailyRollup } from './daily-rollup.js';
import { event, purchase } from './fixtures.js';

const TZ = 'Asia/Seoul';
const DAY = '2026-11-24';

function byDim(rows: DailyRollup[]): Record<string, DailyRollup> {
  return Object.fromEntries(rows.map((r) => [r.dim, r]));
}

const formulaAndBeer = purchase({
  id: 'pos-7781-000123',
  at: '2026-11-24T19:05:00+09:00',
  storeId: 'bundang-01',
  lines: [
    ['infant_formula', 2, 32_000],
    ['beer', 6, 2_500],
    ['infant_formula', 1, 30_000],
    ['snacks', 3, 1_000],
  ],
  amount: 123_000, // a 1,000 KRW discount: categories add up to 124,000
});

void test('a purchase: totals on all, store and channel; category shares from its line items', () => {
  const rows = byDim(rollupDay([formulaAndBeer], DAY, TZ));
  assert.deepEqual(Object.keys(rows), [
    'all',
    'category:beer',
    'category:infant_formula',
    'category:snacks',
    'channel:pos',
    'store:bundang-01',
  ]);
  const at = formulaAndBeer.occurredAtMs;
  const whole = {
    day: DAY,
    spend: 123_000,
    purchases: 1,
    visits: 1,
    items: 12,
    events: 1,
    lastVisitMs: at,
    lastPurchaseMs: at,
  };
  assert.deepEqual(rows['all'], { ...whole, dim: 'all' });
  assert.deepEqual(rows['store:bundang-01'], { ...whole, dim: 'store:bundang-01' });
  assert.deepEqual(rows['channel:pos'], { ...whole, dim: 'channel:pos' });
  assert.deepEqual(rows['category:infant_formula'], {
    ...whole,
    dim: 'category:infant_formula',
    spend: 94_000,
    items: 3,
  });
  assert.deepEqual(rows['category:beer'], { ...whole, dim: 'category:beer', spend: 15_000, items: 6 });
  assert.deepEqual(rows['category:snacks'], { ...whole, dim: 'category:snacks', spend: 3_000, items: 3 });
});

void test('visits are distinct stores per day, whatever the number of visit and purchase events', () => {
  const events = [
    event({ id: 'v1', at: '2026-11-24T10:00:00+09:00', storeId: 'bundang-01' }),
    event({ id: 'v2', at: '2026-11-24T18:00:00+09:00', storeId: 'bundang-01', channel: 'app' }),
    formulaAndBeer,
    event({ id: 'v3', at: '2026-11-24T21:00:00+09:00', storeId: 'pangyo-01' }),
    event({
      id: 'pv',
      type: 'page_view',
      at: '2026-11-24T22:00:00+09:00',
      channel: 'web',
      payload: { url: '/' },
    }),
  ];
  const rows = byDim(rollupDay(events, DAY, TZ));
  assert.equal(rows['all'].visits, 2);
  assert.equal(rows['all'].events, 5);
  assert.equal(rows['all'].lastVisitMs, Date.parse('2026-11-24T21:00:00+09:00'));
  assert.equal(rows['store:bundang-01'].visits, 1);
  assert.equal(rows['store:bundang-01'].events, 3);
  assert.equal(rows['store:pangyo-01'].visits, 1);
  assert.equal(rows['channel:pos'].visits, 2);
  assert.equal(rows['channel:app'].visits, 1);
  assert.equal(rows['channel:web'].visits, 0);
  assert.equal(rows['channel:web'].events, 1);
  assert.equal(rows['channel:web'].lastVisitMs, undefined);
  assert.equal(rows['category:beer'].visits, 1, 'beer was bought at one store');
});

void test('online purchases and store-less visits are not store visits', () => {
  const rows = byDim(
    rollupDay(
      [
        purchase({ id: 'w1', at: '2026-11-24T12:00:00+09:00', channel: 'web', lines: [['rice', 1, 40_000]] }),
        event({ id: 'v1', at: '2026-11-24T12:30:00+09:00', channel: 'app' }),
      ],
      DAY,
      TZ,
    ),
  );
  assert.equal(rows['all'].visits, 0);
  assert.equal(rows['all'].spend, 40_000);
  assert.equal(rows['all'].lastVisitMs, undefined);
  assert.equal(rows['category:rice'].visits, 0);
  assert.ok(!Object.keys(rows).some((d) => d.startsWith('store:')));
});

void test('product views and cart events count as events of their category, with no spend', () => {
  const rows = byDim(
    rollupDay(
      [
        event({
          id: 'pv1',
          type: 'product_view',
          channel: 'web',
          at: '2026-11-24T12:00:00+09:00',
          payload: { sku: '1', category: 'beer' },
        }),
        event({
          id: 'c1',
          type: 'cart',
          channel: 'web',
          at: '2026-11-24T12:01:00+09:00',
          payload: { action: 'add', sku: '1', category: 'beer', quantity: 2 },
        }),
      ],
      DAY,
      TZ,
    ),
  );
  assert.deepEqual(rows['category:beer'], {
    day: DAY,
    dim: 'category:beer',
    spend: 0,
    purchases: 0,
    visits: 0,
    items: 0,
    events: 2,
  });
});

void test('the same event twice counts once', () => {
  const once = rollupDay([formulaAndBeer], DAY, TZ);
  const redelivered = { ...formulaAndBeer, receivedAtMs: formulaAndBeer.receivedAtMs + 5000 };
  assert.deepEqual(rollupDay([formulaAndBeer, redelivered, formulaAndBeer], DAY, TZ), once);
});

void test('input order does not matter', () => {
  const events = [
    formulaAndBeer,
    event({ id: 'a', at: '2026-11-24T09:00:00+09:00', storeId: 'pangyo-01' }),
    purchase({
      id: 'b',
      at: '2026-11-24T09:10:00+09:00',
      storeId: 'pangyo-01',
      lines: [
        ['beer', 1, 0.1],
        ['milk', 3, 0.2],
      ],
      amount: 0.7,
    }),
    purchase({
      id: 'c',
      at: '2026-11-24T09:20:00+09:00',
      storeId: 'pangyo-01',
      lines: [
        ['beer', 1, 0.2],
        ['milk', 1, 0.7],
      ],
      amount: 0.9,
    }),
    event({ id: 'd', type: 'app_open', channel: 'app', at: '2026-11-24T23:59:59+09:00' }),
  ];
  const expected = rollupDay(events, DAY, TZ);
  // fractional amounts: even float sums must not depend on order
  for (const order of [
    [4, 3, 2, 1, 0],
    [2, 0, 4, 1, 3],
    [1, 4, 0, 3, 2],
  ]) {
    assert.deepEqual(
      rollupDay(
        order.map((i) => events[i]),
        DAY,
        TZ,
      ),
      expected,
    );
  }
});

void test('events of other local days are ignored; the day is local to the business time zone', () => {
  const late = event({ id: 'x', at: '2026-11-24T15:30:00Z', storeId: 'bundang-01' }); // 00:30 on the 25th in Seoul
  const early = event({ id: 'y', at: '2026-11-24T14:59:59Z', storeId: 'bundang-01' }); // 23:59:59 on the 24th
  assert.deepEqual(
    rollupDay([late, early], DAY, TZ).map((r) => [r.dim, r.events]),
    [
      ['all', 1],
      ['channel:pos', 1],
      ['store:bundang-01', 1],
    ],
  );
  assert.equal(rollupDay([late], DAY, TZ).length, 0);
  assert.equal(rollupDay([late], '2026-11-25', TZ).length, 3);
  assert.equal(rollupDay([late], DAY, 'UTC').length, 3, 'in UTC it is still the 24th');
  assert.throws(() => rollupDay([late], '2026-11-32', TZ), RangeError);
});

void test('rollupEvents equals rollupDay per day, newest day first', () => {
  const events = [
    formulaAndBeer,
    event({ id: 'a', at: '2026-11-20T09:00:00+09:00', storeId: 'pangyo-01' }),
    event({ id: 'b', at: '2026-11-22T09:00:00+09:00', channel: 'app' }),
  ];
  const rows = rollupEvents(events, TZ);
  assert.deepEqual(rows, [
    ...rollupDay(events, DAY, TZ),
    ...rollupDay(events, '2026-11-22', TZ),
    ...rollupDay(events, '2026-11-20', TZ),
  ]);
});

void test('malformed purchase payloads count as zero rather than NaN', () => {
  const bad = event({
    id: 'bad',
    type: 'purchase',
    at: '2026-11-24T12:00:00+09:00',
    payload: {
      amount: 'lots',
      items: [null, { category: 'beer', quantity: 'x', unitPrice: 5 }, { quantity: 2, unitPrice: 3 }],
    },
  });
  const rows = byDim(rollupDay([bad], DAY, TZ));
  assert.equal(rows['all'].spend, 0);
  assert.equal(rows['all'].items, 2);
  assert.equal(rows['all'].purchases, 1);
  assert.equal(rows['category:beer'].spend, 0);
  assert.equal(rows['category:beer'].items, 0);
});

void test("an offer response counts on its answer and the decision's campaign, once per decision and answer", () => {
  const dismissed = event({
    id: 'r1',
    type: 'offer_response',
    channel: 'app',
    at: '2026-11-24T20:00:00+09:00',
    payload: { decisionId: 'd-1', response: 'dismissed', campaignId: 'bundang-dad-beer' },
  });
  const unnamed = event({
    id: 'r2',
    type: 'offer_response',
    channel: 'app',
    at: '2026-11-24T20:01:00+09:00',
    payload: { decisionId: 'd-2', response: 'accepted' },
  });
  const sentAgain = { ...dismissed, id: 'r3' }; // the same answer to the same decision, a new event id
  const rows = rollupDay([dismissed, dismissed, sentAgain, unnamed], DAY, TZ);
  assert.deepEqual(
    rows.map((r) => [r.dim, r.events]),
    [
      ['all', 3],
      ['channel:app', 3],
      ['response:dismissed:bundang-dad-beer', 1],
    ],
  );
});
