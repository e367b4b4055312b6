import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CelContext, CelCustomer, CelEvent, CelNow, type CelVars } from './cel-environment.js';
import { compileExpression, isCelProblem, type CompiledExpression } from './cel-expression.js';
import { context, event, profile, purchase, windows } from './testing/fixtures.js';

function compile(src: string): CompiledExpression {
  const c = compileExpression(src, { anyType: true });
  if (isCelProblem(c)) assert.fail(c.message);
  return c;
}

function vars(
  over: {
    customer?: ReturnType<typeof profile> | null;
    ctx?: ReturnType<typeof context>;
    ev?: ReturnType<typeof event>;
  } = {},
): CelVars {
  const ev = over.ev ?? purchase([{ category: 'beer', quantity: 3, unitPrice: 40_000 }]);
  return {
    event: new CelEvent(ev),
    customer: new CelCustomer(
      over.customer === undefined
        ? profile('c-000042', { age: 35, attributes: { tier: 'gold' } })
        : over.customer,
      ev.customerId,
    ),
    ctx: new CelContext(
      over.ctx ??
        context(ev.customerId, { category: { beer: windows({ d30: { spend: 70_000, purchases: 2 } }) } }),
    ),
    now: new CelNow(19, 5, 2, '2026-11-24', ev.occurredAtMs, 'Asia/Seoul'),
  };
}

const run = (src: string, v = vars()) => compile(src).run(v);

void describe('CEL numbers: every number is a double, int literals mix in', () => {
  for (const [src, expected] of [
    ['event.amount >= 100000', true],
    ['event.amount == 120000', true],
    ['event.amount != 120000', false],
    ['customer.age == 35', true],
    ['customer.age in [34, 35, 36]', true],
    ['now.weekday in [0, 6]', false],
    ['event.amount / 2 == 60000', true],
    ['event.amount * 2 > 200000', true],
    ['event.amount - 1 < event.amount', true],
    ['1 + customer.age == 36', true],
    ['int(customer.age) % 10 == 5', true],
    ['customer.age % 10 == 5', true],
    ['event.items == 3 && size(event.categories) == 1', true],
    ['ctx.all.d30.spend / 3 < 1', true],
  ] as const) {
    void it(`${src} → ${expected}`, () => assert.equal(run(src), expected));
  }
});

void describe('CEL maps and defaults', () => {
  void it('reads a category window, and a missing category as zeros instead of an error', () => {
    assert.equal(run('ctx.category.beer.d30.spend'.concat(' == 70000')), true);
    assert.equal(run('ctx.category.wine.d30.spend == 0 && ctx.category["wine"].d365.purchases == 0'), true);
    assert.equal(run('ctx.store["bundang-01"].d90.visits == 0 && ctx.channel.web.d7.events == 0'), true);
  });

  void it('pins that cel-js reads map entries through Map.get (what makes the maps total)', () => {
    // If a cel-js upgrade bypassed get(), this would throw "No such key: wine".
    assert.equal(run('ctx.category.wine.d7.items'), 0);
    assert.equal(run("customer.attributes.missing == ''"), true);
    assert.equal(run("customer.attributes.tier == 'gold'"), true);
  });

  void it('size() and macros see only real keys', () => {
    assert.equal(run('size(ctx.category) == 1'), true);
    assert.equal(run("ctx.category.exists(k, k == 'beer')"), true);
    assert.equal(run("ctx.category.exists(k, k == 'wine')"), false);
  });

  void it('a missing profile gives defaults: strings empty, age unknown (NaN: every comparison false)', () => {
    const v = vars({ customer: null });
    assert.equal(run('customer.known', v), false);
    assert.equal(run('customer.age >= 30', v), false);
    assert.equal(run('customer.age < 30', v), false);
    assert.equal(run("customer.region == ''", v), true);
    assert.equal(run("customer.creditTier in ['A', 'B']", v), false);
    assert.equal(run('customer.marketingConsent', v), false);
    assert.equal(run('customer.id', v), 'c-000042');
  });

  void it('lifts purchase, cart and product_view facts onto event', () => {
    const p = purchase([
      { category: 'beer', quantity: 2, unitPrice: 1000, sku: 's1' },
      { category: 'beer', quantity: 1, unitPrice: 500, sku: 's2' },
      { category: 'snack', quantity: 4, unitPrice: 250, sku: 's3' },
    ]);
    const v = vars({ ev: p });
    assert.deepEqual(run('event.categories', v), ['beer', 'snack']);
    assert.deepEqual(run('event.skus', v), ['s1', 's2', 's3']);
    assert.equal(run('event.items', v), 7);
    assert.equal(run('event.amount', v), 3500);
    assert.equal(
      run("event.currency == 'KRW' && event.storeId == 'bundang-01' && event.channel == 'pos'", v),
      true,
    );

    const cart = event({
      type: 'cart',
      channel: 'web',
      storeId: undefined,
      payload: { action: 'add', sku: 'w1', category: 'wine', quantity: 2, unitPrice: 25_000 },
    });
    const cv = vars({ ev: cart });
    assert.equal(
      run(
        "event.amount == 50000 && event.items == 2 && 'wine' in event.categories && event.storeId == ''",
        cv,
      ),
      true,
    );
    assert.equal(run("event.payload.action == 'add'", cv), true);

    const view = event({
      type: 'product_view',
      channel: 'app',
      payload: { sku: 'w2', category: 'wine', price: 31_000 },
    });
    assert.equal(
      run("event.amount == 31000 && event.items == 1 && event.skus == ['w2']", vars({ ev: view })),
      true,
    );
  });

  void it('reads rfm, recency, favourites and recent events', () => {
    const ctx = context('c-000042', {
      rfm: { r: 5, f: 3, m: 4 },
      daysSinceLastPurchase: 45,
      favouriteCategory: 'beer',
      recent: [
        {
          id: 'e0',
          type: 'visit',
          channel: 'pos',
          occurredAt: '2026-11-20T10:00:00+09:00',
          storeId: 'bundang-01',
        },
      ],
    });
    assert.equal(
      run(
        "ctx.rfm.m >= 4 && ctx.daysSinceLastPurchase > 30 && ctx.favouriteCategory == 'beer' && ctx.recent.exists(e, e.type == 'visit' && e.amount == 0)",
        vars({ ctx }),
      ),
      true,
    );
  });
});

void describe('ctx.responses: answers to offers by campaign, a total map', () => {
  const ctx = context('c-000042', {
    responses: { 'bundang-dad-beer': { accepted: 0, redeemed: 2, dismissed: 1, daysSinceDismissed: 3 } },
  });
  for (const [src, expected] of [
    ["ctx.responses['bundang-dad-beer'].redeemed >= 2", true],
    ["ctx.responses['bundang-dad-beer'].daysSinceDismissed == 3", true],
    [
      "ctx.responses['never-answered'].dismissed == 0 && ctx.responses['never-answered'].daysSinceDismissed == -1",
      true,
    ],
    ['size(ctx.responses) == 1', true],
  ] as const)
    void it(`${src} → ${expected}`, () => assert.equal(run(src, vars({ ctx })), expected));
});

void describe('static analysis', () => {
  void it('collects the paths an expression reads', () => {
    const c = compile(
      "customer.age >= 30 && ctx.category['infant_formula'].d30.spend > 0 && ctx.store['bundang-01'].d7.visits > 0 && event.categories.exists(c, c == 'beer')",
    );
    assert.deepEqual(
      c.paths.map((p) => p.text),
      [
        'customer.age',
        'ctx.category.infant_formula.d30.spend',
        "ctx.store['bundang-01'].d7.visits",
        'event.categories',
      ],
    );
  });

  void it('finds guards only in top-level conjunctions', () => {
    assert.deepEqual(compile("'beer' in event.categories && customer.age > 3").guards, [
      { key: 'event.categories', values: ['beer'] },
    ]);
    assert.deepEqual(compile("customer.region == 'Seoul' || customer.region == 'Busan'").guards, [
      { key: 'customer.region', values: ['Seoul', 'Busan'] },
    ]);
    assert.deepEqual(compile("customer.creditTier in ['A', 'B'] && event.storeId == 'x'").guards, [
      { key: 'customer.creditTier', values: ['A', 'B'] },
      { key: 'event.storeId', values: ['x'] },
    ]);
    assert.deepEqual(compile("'beer' in event.categories || customer.age > 3").guards, []);
    assert.deepEqual(compile("!('beer' in event.categories)").guards, []);
    assert.deepEqual(compile("customer.region != 'Seoul'").guards, []);
  });
});
