import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CelContext, CelCustomer, CelEvent, CelNow, type CelVars } from './cel-environment.js';
import { compileExpression, isCelProblem, type CompiledExpression } from './cel-expression.js';
import { context, profile, purchase, windows } from './testing/fixtures.js';
import { prng } from '@nunchi/testing';

function compile(src: string): CompiledExpression {
  const c = compileExpression(src);
  if (isCelProblem(c)) assert.fail(`${src}: ${c.message}`);
  return c;
}

const r = prng(7);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const NUM_PATHS = [
  'customer.age',
  'event.amount',
  'event.items',
  'now.hour',
  'now.weekday',
  'ctx.all.d30.spend',
  'ctx.thisStore.d90.visits',
  'ctx.category.beer.d30.spend',
  "ctx.category['wine'].d365.purchases",
  'ctx.rfm.f',
  'ctx.daysSinceLastPurchase',
];
const STR_PATHS = [
  'customer.region',
  'customer.gender',
  'customer.creditTier',
  'event.storeId',
  'customer.attributes.segment',
  'now.date',
];
const NUMS = ['0', '1', '3', '18', '30', '35', '100000', '2.5', '-1', '35.0'];
const INTS = NUMS.filter((n) => !n.includes('.'));
const STRS = ["'Bundang'", "'M'", "'A'", "'B'", "''", "'family'", "'bundang-01'"];
const OPS = ['==', '!=', '<', '<=', '>', '>='];

function atom(depth = 0): string {
  const k = r();
  if (depth < 2 && k < 0.12) return `(${atom(depth + 1)} ${pick(['&&', '||'])} ${atom(depth + 1)})`;
  if (depth < 2 && k < 0.18) return `!(${atom(depth + 1)})`;
  if (k < 0.5)
    return r() < 0.5
      ? `${pick(NUM_PATHS)} ${pick(OPS)} ${pick(NUMS)}`
      : `${pick(NUMS)} ${pick(OPS)} ${pick(NUM_PATHS)}`;
  if (k < 0.7) return `${pick(STR_PATHS)} ${pick(['==', '!='])} ${pick(STRS)}`;
  if (k < 0.8) return `${pick(STR_PATHS)} in [${[pick(STRS), pick(STRS)].join(', ')}]`;
  if (k < 0.85) return `${pick(NUM_PATHS)} in [${[pick(INTS), pick(INTS), pick(INTS)].join(', ')}]`;
  if (k < 0.95) return `${pick(["'beer'", "'wine'", "'milk'"])} in event.categories`;
  return pick(['customer.marketingConsent', 'customer.known', 'customer.known == false', 'true']);
}

function activation(): CelVars {
  const cats = ['beer', 'wine', 'milk', 'rice'].filter(() => r() < 0.5);
  const ev = purchase(
    cats.map((c) => ({
      category: c,
      quantity: 1 + Math.floor(r() * 3),
      unitPrice: Math.floor(r() * 80) * 1000,
    })),
    { storeId: pick(['bundang-01', 'gangnam-02']) },
  );
  const known = r() < 0.8;
  const p = known
    ? profile('c-1', {
        age: r() < 0.9 ? 18 + Math.floor(r() * 50) : undefined,
        region: pick(['Bundang', 'Seoul', '']),
        gender: pick(['M', 'F']),
        creditTier: pick(['A', 'B', 'C']),
        marketingConsent: r() < 0.5,
        attributes: r() < 0.5 ? { segment: 'family' } : {},
      })
    : null;
  const ctx = context('c-1', {
    all: windows({ d30: { spend: pick([0, 100000, 250000]) } }),
    thisStore: windows({ d90: { visits: Math.floor(r() * 5) } }),
    category:
      r() < 0.5
        ? { beer: windows({ d30: { spend: pick([0, 18, 35]) } }), wine: windows({ d365: { purchases: 3 } }) }
        : {},
    rfm: { r: 1, f: Math.floor(r() * 6), m: 2 },
    daysSinceLastPurchase: pick([-1, 3, 35]),
  });
  return {
    event: new CelEvent(ev),
    customer: new CelCustomer(p, 'c-1'),
    ctx: new CelContext(ctx),
    now: new CelNow(Math.floor(r() * 24), 0, Math.floor(r() * 7), '2026-11-24', 0, 'Asia/Seoul'),
  };
}

void describe('native fast path', () => {
  void it('is taken by the usual campaign tests', () => {
    for (const src of [
      "customer.age >= 30 && customer.age <= 39 && customer.gender == 'M' && customer.region == 'Bundang'",
      "event.amount >= 100000 && 'infant_formula' in event.categories && 'beer' in event.categories",
      "customer.creditTier in ['A','B']",
      'now.hour >= 18',
      'customer.marketingConsent && ctx.daysSinceLastPurchase > 30 && ctx.all.d365.purchases >= 3',
      "ctx.category.cheese.d90.purchases == 0 && !('wine' in event.categories) || now.weekday in [0, 6]",
    ]) {
      assert.equal(compile(src).native, true, src);
    }
    assert.equal(compile('size(event.categories) > 2').native, false);
    assert.equal(compile("event.payload.action == 'add'").native, false);
  });

  void it('gives the same answer as cel-js on 20,000 random tests and activations', () => {
    let nativeCount = 0;
    for (let i = 0; i < 2000; i++) {
      const parts = Array.from({ length: 1 + Math.floor(r() * 3) }, () => atom());
      const src = parts.join(' && ');
      const expr = compile(src);
      if (expr.native) nativeCount++;
      for (let j = 0; j < 10; j++) {
        const v = activation();
        let expected: unknown;
        try {
          expected = expr.run(v);
        } catch (e) {
          expected = e instanceof Error ? `error` : e;
        }
        let actual: unknown;
        try {
          actual = expr.evaluate(v);
        } catch {
          actual = 'error';
        }
        assert.equal(
          actual,
          expected,
          `${src}\n customer=${JSON.stringify(v.customer)} now.hour=${v.now.hour}`,
        );
      }
    }
    assert.ok(nativeCount > 1900, `${nativeCount} of 2000 took the native path`);
  });

  void it('as a prefilter, leaves the rest to cel-js (errors included)', () => {
    const e = compile("customer.region == 'Bundang' && event.payload.missing == 'x'");
    assert.equal(e.native, false);
    const v = activation();
    (v as { customer: CelCustomer }).customer = new CelCustomer(profile('c', { region: 'Seoul' }), 'c');
    assert.equal(e.evaluate(v), false, 'prefilter false: no cel-js, no error');
    (v as { customer: CelCustomer }).customer = new CelCustomer(profile('c', { region: 'Bundang' }), 'c');
    assert.throws(() => e.evaluate(v), /No such key: missing/);
  });
});
