import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CampaignSet } from './campaign-set.js';
import { compileCampaign } from './compile-campaign.js';
import { explain } from './explain.js';
import { isHeldOut } from './holdout.js';
import { parseCampaign } from './parse-campaign.js';
import { input, profile, purchase, seoul } from './testing/fixtures.js';
import { projectPath } from '@nunchi/config';

const yaml = readFileSync(projectPath('campaigns/examples/bundang-dad-beer.yaml'), 'utf8');
const set = new CampaignSet([compileCampaign(parseCampaign(yaml), 7)]);

const dad = (over: Parameters<typeof profile>[1] = {}) =>
  profile('c-000042', { age: 34, gender: 'M', region: 'Bundang', creditTier: 'C', ...over });

/** 2 × formula (32,000) + 6 × beer (9,900) = 123,400 KRW at the Bundang hypermarket. */
const basket = (at = '2026-11-24T19:05') =>
  purchase(
    [
      { category: 'infant_formula', quantity: 2, unitPrice: 32_000 },
      { category: 'beer', quantity: 6, unitPrice: 9_900 },
    ],
    { occurredAtMs: seoul(at) },
  );

void describe('founding scenario: Bundang 30s dad buys formula and beer', () => {
  void it('credit tier C at 19:05 gets the chicken discount, and the explanation says why not double points', () => {
    const ev = set.evaluate(input(basket(), dad()));
    assert.equal(ev.considered, 1);
    assert.equal(ev.candidates.length, 1);
    const c = ev.candidates[0];
    assert.equal(c.campaignId, 'bundang-dad-beer');
    assert.equal(c.campaignVersion, 7);
    assert.deepEqual(c.offer, {
      id: 'chicken-discount',
      title: '30% off a chicken',
      value: 4000,
      cost: 4000,
    });
    assert.equal(c.priority, 50);
    assert.equal(c.expectedValue, 4000);
    assert.deepEqual(c.budget, { maxOffers: 10000 });
    assert.deepEqual(c.caps, { perCustomerPerDay: 1 });
    assert.equal(c.inputs['customer.age'], 34);
    assert.equal(c.inputs['event.amount'], 123_400);
    assert.equal(c.inputs['now.hour'], 19);
    assert.deepEqual(c.inputs['event.categories'], ['infant_formula', 'beer']);
    assert.deepEqual(ev.campaignVersions, { 'bundang-dad-beer': 7 });

    assert.equal(ev.losses.length, 1);
    assert.equal(ev.losses[0].reason, 'offer_ineligible');
    assert.equal(ev.losses[0].offerId, 'double-points');
    assert.match(ev.losses[0].detail!, /customer\.creditTier='C'/);

    const text = explain(ev).join('\n');
    assert.match(text, /bundang-dad-beer v7 offers chicken-discount/);
    assert.match(text, /double-points: offer_ineligible/);
  });

  void it('credit tier A gets double points', () => {
    const ev = set.evaluate(input(basket(), dad({ creditTier: 'A' })));
    assert.equal(ev.candidates[0]?.offer.id, 'double-points');
    assert.equal(ev.candidates[0]?.expectedValue, 5000);
    assert.equal(ev.losses.length, 0);
  });

  void it('before 18:00 a tier C customer falls through to the free cola', () => {
    const ev = set.evaluate(input(basket('2026-11-24T15:00'), dad()));
    assert.equal(ev.candidates[0]?.offer.id, 'free-cola');
    assert.deepEqual(
      ev.losses.map((l) => l.offerId),
      ['double-points', 'chicken-discount'],
    );
    assert.match(ev.losses[1].detail!, /now\.hour=15/);
  });

  void it('a 52-year-old is not in the audience, and the loss shows his age', () => {
    const ev = set.evaluate(input(basket(), dad({ age: 52 })));
    assert.equal(ev.candidates.length, 0);
    assert.equal(ev.losses.length, 1);
    assert.equal(ev.losses[0].reason, 'audience');
    assert.match(ev.losses[0].detail!, /audience false: .*customer\.age=52/);
  });

  void it('outside 10:00-23:00 Seoul time the campaign is outside its schedule', () => {
    for (const at of ['2026-11-24T09:59', '2026-11-24T23:00', '2026-11-25T02:30']) {
      const ev = set.evaluate(input(basket(at), dad()));
      assert.equal(ev.candidates.length, 0, at);
      assert.equal(ev.losses[0]?.reason, 'outside_schedule', at);
      assert.match(ev.losses[0].detail!, /Asia\/Seoul/);
    }
    assert.equal(set.evaluate(input(basket('2026-11-24T10:00'), dad())).candidates.length, 1);
  });

  void it('below 100,000 KRW the condition fails and says the amount', () => {
    const small = purchase([
      { category: 'infant_formula', quantity: 1, unitPrice: 32_000 },
      { category: 'beer', quantity: 2, unitPrice: 9_900 },
    ]);
    const ev = set.evaluate(input(small, dad()));
    assert.equal(ev.losses[0]?.reason, 'condition');
    assert.match(ev.losses[0].detail!, /event\.amount=51800/);
  });

  void it('an unknown customer (no profile) is simply not in the audience, not an error', () => {
    // gender and region are guards: the index does not even consider the campaign…
    const ev = set.evaluate(input(basket(), null));
    assert.equal(ev.candidates.length, 0);
    assert.equal(ev.considered, 0);
    // …and the exhaustive evaluation says why
    const all = set.evaluate(input(basket(), null), { exhaustive: true });
    assert.equal(all.losses[0]?.reason, 'audience');
    assert.match(all.losses[0].detail!, /customer\.age=unknown, customer\.gender='', customer\.region=''/);
  });

  void it('a woman from Bundang is not considered (guard), a man from Seoul neither', () => {
    assert.equal(set.evaluate(input(basket(), dad({ gender: 'F' }))).considered, 0);
    assert.equal(set.evaluate(input(basket(), dad({ region: 'Seoul' }))).considered, 0);
    assert.equal(
      set.evaluate(input(basket(), dad({ age: 29 }))).considered,
      1,
      'age is not a guard: an audience loss',
    );
  });

  void it('flags the 10% holdout deterministically', () => {
    let held = 0;
    for (let i = 0; i < 400; i++) {
      const id = `c-${String(i).padStart(6, '0')}`;
      const e = { ...basket(), customerId: id };
      const ev = set.evaluate(input(e, { ...dad(), id }));
      const c = ev.candidates[0];
      assert.equal(c.holdout, isHeldOut('bundang-dad-beer', id, 10));
      if (c.holdout) held++;
    }
    assert.ok(held > 15 && held < 70, `held out ${held} of 400`);
  });
});
