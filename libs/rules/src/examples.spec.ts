import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CampaignSet } from './campaign-set.js';
import { compileCampaign } from './compile-campaign.js';
import { parseCampaign } from './parse-campaign.js';
import { context, event, input, profile, seoul, windows } from './testing/fixtures.js';
import { projectPath } from '@nunchi/config';

const dir = projectPath('campaigns/examples');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
const load = (name: string) => compileCampaign(parseCampaign(readFileSync(join(dir, name), 'utf8')), 1);

void describe('campaigns/examples', () => {
  void it('has the documented examples', () => {
    for (const f of [
      'bundang-dad-beer.yaml',
      'app-winback-30d.yaml',
      'web-wine-cheese-cross-sell.yaml',
      'bundang-formula-beer-ko.yaml',
      'formula-view-then-store-visit.yaml',
      'no-repurchase-30d.yaml',
      'cart-abandoned-1h.yaml',
      'spend-passes-1m.yaml',
      'third-visit-this-week.yaml',
    ])
      assert.ok(files.includes(f), f);
  });

  for (const f of files) {
    void it(`${f} parses, compiles, and its id matches the file name`, () => {
      const c = load(f);
      assert.equal(`${c.id}.yaml`, f);
      assert.equal(c.schedule.timezone, 'Asia/Seoul');
    });
  }

  void it('app-winback-30d: a lapsed big spender opening the app gets the strong coupon', () => {
    const set = new CampaignSet([load('app-winback-30d.yaml')]);
    const open = event({
      type: 'app_open',
      channel: 'app',
      storeId: undefined,
      occurredAtMs: seoul('2026-11-24T12:00'),
    });
    const ctx = context(open.customerId, {
      daysSinceLastPurchase: 41,
      all: windows({ d365: { purchases: 12, spend: 1_450_000 } }),
    });
    const who = profile(open.customerId, { marketingConsent: true });
    const ev = set.evaluate(input(open, who, { ctx }));
    assert.equal(ev.candidates[0]?.offer.id, 'comeback-10000');
    assert.equal(ev.candidates[0]?.expectedValue, 1200);

    const recent = set.evaluate(input(open, who, { ctx: { ...ctx, daysSinceLastPurchase: 3 } }));
    assert.equal(recent.losses[0]?.reason, 'audience');
    assert.match(recent.losses[0].detail!, /ctx\.daysSinceLastPurchase=3/);
  });

  void it('web-wine-cheese-cross-sell: runs on Saturday night past midnight, not on Sunday evening', () => {
    const set = new CampaignSet([load('web-wine-cheese-cross-sell.yaml')]);
    const view = (at: string) =>
      event({
        type: 'product_view',
        channel: 'web',
        storeId: undefined,
        occurredAtMs: seoul(at),
        payload: { sku: 'w-1', category: 'wine', price: 32_000 },
      });
    const ctx = context('c-000042', { all: windows({ d365: { purchases: 4 } }) });
    const sunNight = set.evaluate(input(view('2026-11-29T01:30'), null, { ctx }));
    assert.equal(sunNight.candidates[0]?.offer.id, 'cheese-sample');
    const sunEvening = set.evaluate(input(view('2026-11-29T19:00'), null, { ctx }));
    assert.equal(sunEvening.losses[0]?.reason, 'outside_schedule');
    const cheap = set.evaluate(
      input({ ...view('2026-11-28T20:00'), payload: { sku: 'w-2', category: 'wine', price: 9_000 } }, null, {
        ctx,
      }),
    );
    assert.equal(cheap.losses[0]?.reason, 'condition');
  });
});
