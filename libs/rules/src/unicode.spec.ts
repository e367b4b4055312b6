import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CampaignSet } from './campaign-set.js';
import { CampaignInvalidError } from './campaign-invalid.error.js';
import { CelContext, CelCustomer, CelEvent, CelNow } from './cel-environment.js';
import { compileExpression, isCelProblem } from './cel-expression.js';
import { compileCampaign } from './compile-campaign.js';
import { parseCampaign } from './parse-campaign.js';
import { context, input, profile, purchase, windows } from './testing/fixtures.js';
import { projectPath } from '@nunchi/config';

/** '분유' in conjoining jamo (NFD): what some editors save. NFC makes it '분유'. */
const BUNYU_NFD = '\u1107\u116e\u11ab\u110b\u1172';

const koreanBasket = purchase(
  [
    { category: '분유', quantity: 2, unitPrice: 32_000, sku: '분유-800g' },
    { category: '수입 맥주', quantity: 4, unitPrice: 3_900 },
    { category: 'Beer & Cider', quantity: 1, unitPrice: 5_000 },
  ],
  { storeName: '분당점' },
);

function run(src: string): unknown {
  const c = compileExpression(src, { anyType: true });
  if (isCelProblem(c)) assert.fail(c.message);
  const ev = koreanBasket;
  const vars = {
    event: new CelEvent(ev),
    customer: new CelCustomer(profile(ev.customerId, { region: '분당' }), ev.customerId),
    ctx: new CelContext(
      context(ev.customerId, {
        category: { 맥주: windows({ d30: { spend: 39_600, purchases: 3 } }), 'Beer: Cider': windows() },
      }),
    ),
    now: new CelNow(19, 5, 2, '2026-11-24', ev.occurredAtMs, 'Asia/Seoul'),
  };
  // the native fast path and cel-js must agree
  assert.equal(c.evaluate(vars), c.run(vars), src);
  return c.run(vars);
}

void describe('CEL over Korean and punctuated names', () => {
  for (const [src, expected] of [
    ["'분유' in event.categories", true],
    ["'맥주' in event.categories", false],
    ["'수입 맥주' in event.categories", true],
    ["'Beer & Cider' in event.categories", true],
    ["event.categories.exists(c, c.contains('맥주'))", true],
    ["event.categories.exists(c, c.startsWith('분'))", true],
    ["'분유-800g' in event.skus", true],
    ["event.storeName == '분당점'", true],
    ["customer.region == '분당'", true],
    ["ctx.category['맥주'].d30.purchases >= 3", true],
    ["ctx.category['맥주'].d30.spend > 0 && '분유' in event.categories", true],
    ["ctx.category['분유'].d30.spend > 0", false],
    ["'Beer: Cider' in ctx.category", true],
    ["size(event.categories) == 3 && event.categories[0] == '분유'", true],
  ] as const) {
    void it(`${src} → ${expected}`, () => assert.equal(run(src), expected));
  }

  void it('refuses a literal that is not NFC (a \\u escape of decomposed jamo could never match)', () => {
    const c = compileExpression("'\\u1107\\u116e\\u11ab\\u110b\\u1172' in event.categories");
    assert.ok(isCelProblem(c));
    assert.match(c.summary, /not Unicode NFC/);
    assert.ok(
      !isCelProblem(compileExpression("'\\ubd84\\uc720' in event.categories")),
      'escapes of syllables are NFC',
    );
  });
});

void describe('campaign files name Korean categories', () => {
  void it('normalises every string of a campaign file to NFC when it is read', () => {
    const yaml = [
      'id: nfd',
      `name: ${BUNYU_NFD} 캠페인`,
      'trigger: { types: [purchase] }',
      `condition: "'${BUNYU_NFD}' in event.categories"`,
      `offers: [{ id: o1, title: "${BUNYU_NFD} 쿠폰", value: 1000 }]`,
      'schedule: { timezone: Asia/Seoul }',
    ].join('\n');
    const def = parseCampaign(yaml);
    assert.equal(def.name, '분유 캠페인');
    assert.equal(def.condition, "'분유' in event.categories");
    assert.equal(def.offers[0].title, '분유 쿠폰');
    // the event (normalised at ingestion) and the file (normalised here) meet
    const set = new CampaignSet([compileCampaign(def, 1)]);
    const evaluation = set.evaluate(input(koreanBasket, profile('c-000042')));
    assert.deepEqual(
      evaluation.candidates.map((c) => c.campaignId),
      ['nfd'],
    );
  });

  void it('campaigns/examples/bundang-formula-beer-ko.yaml: a Korean basket gets the diaper coupon', () => {
    const def = parseCampaign(
      readFileSync(projectPath('campaigns/examples/bundang-formula-beer-ko.yaml'), 'utf8'),
    );
    const set = new CampaignSet([compileCampaign(def, 1)]);
    const parent = profile('c-000077', { region: 'Bundang' });
    const got = set.evaluate(input(koreanBasket, parent));
    assert.equal(got.candidates[0]?.campaignId, 'bundang-formula-beer-ko');
    assert.equal(got.candidates[0]?.offer.id, 'diaper-coupon');
    const withDiapers = purchase([
      { category: '분유', quantity: 2, unitPrice: 32_000 },
      { category: '맥주', quantity: 4, unitPrice: 3_900 },
      { category: '기저귀', quantity: 1, unitPrice: 19_000 },
    ]);
    assert.equal(set.evaluate(input(withDiapers, parent)).candidates[0]?.offer.id, 'formula-points');
    const noBeer = purchase([{ category: '분유', quantity: 4, unitPrice: 32_000 }]);
    assert.deepEqual(set.evaluate(input(noBeer, parent)).candidates, []);
    const english = purchase([
      { category: 'infant_formula', quantity: 2, unitPrice: 32_000 },
      { category: 'beer', quantity: 6, unitPrice: 9_900 },
    ]);
    assert.deepEqual(set.evaluate(input(english, parent)).candidates, [], 'names are compared as written');
  });

  void it('still keeps ids that become NATS subjects token-safe', () => {
    assert.throws(
      () =>
        parseCampaign({
          id: '분유-캠페인',
          name: 'x',
          trigger: { types: ['purchase'], stores: ['분당점'] },
          schedule: { timezone: 'Asia/Seoul' },
          offers: [{ id: 'o1', title: 'x', value: 1 }],
        }),
      (e: unknown) =>
        e instanceof CampaignInvalidError &&
        e.details.some((d) => d.path === 'id') &&
        e.details.some((d) => d.path === 'trigger.stores[0]'),
    );
  });
});
