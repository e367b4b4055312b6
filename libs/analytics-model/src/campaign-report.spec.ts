import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CampaignTally, type DecisionRow, type ExposureRow } from './campaign-report.js';

const row = (over: Partial<DecisionRow>): DecisionRow => ({
  day: '2026-12-01',
  hour: 10,
  pseudonym: '~c1',
  decisionId: 'd1',
  outcome: 'offer',
  offerId: 'coupon',
  value: 1_000,
  converted: false,
  revenue: 0,
  accepted: null,
  redeemed: null,
  dismissed: null,
  ...over,
});

describe('campaign report', () => {
  it('counts per day, offer and hour; distinct customers per day; responses even before their decision', () => {
    const t = new CampaignTally('2026-12-02');
    t.addDecision(row({ decisionId: 'd1', converted: true, revenue: 30_000 }));
    t.addDecision(row({ decisionId: 'd2', offerId: 'cola', value: 500 })); // same customer, same day
    t.addDecision(row({ pseudonym: '~c2', decisionId: 'd3', outcome: 'control' }));
    t.addDecision(row({ pseudonym: '~c3', decisionId: 'd4', outcome: 'late', offerId: null, value: null }));
    t.addDecision(row({ day: '2026-12-02', hour: 9, pseudonym: '~c1', decisionId: 'd5', accepted: true }));
    t.addDecision(
      row({
        day: '2026-12-02',
        pseudonym: '~c4',
        decisionId: 'd6',
        outcome: null,
        offerId: null,
        value: null,
        redeemed: true,
      }),
    );
    const r = t.report({ campaignId: 'k', expectedHoldoutShare: 0.1, hoursFromDay: '2026-12-02' });
    assert.equal(r.decisions, 5);
    assert.equal(r.offers, 3);
    assert.equal(r.control, 1);
    assert.equal(r.late, 1);
    assert.equal(r.valueSent, 2_500);
    assert.equal(r.conversions, 1);
    assert.equal(r.revenue, 30_000);
    assert.deepEqual(r.responses, { accepted: 1, redeemed: 1, dismissed: 0 });
    const [d1, d2] = r.days;
    assert.equal(d1.day, '2026-12-01');
    assert.equal(d1.customersTreated, 1); // c1 twice: once
    assert.equal(d1.customersHeldOut, 1);
    assert.deepEqual(
      d1.byOffer.map((o) => [o.offerId, o.offers, o.customersTreated]),
      [
        ['(none)', 0, 0],
        ['cola', 1, 1],
        ['coupon', 1, 1],
      ],
    );
    assert.equal(d2.offers, 1);
    assert.deepEqual(
      r.hours.map((h) => [h.hour, h.offers]),
      [
        ['2026-12-02T09', 1],
        ['2026-12-02T10', 0],
      ],
    );
  });

  it('treatment vs holdout from exposures: rates, revenue, lift with intervals, SRM, warnings', () => {
    const t = new CampaignTally('2026-12-01');
    const add = (
      group: ExposureRow['group'],
      n: number,
      converted: number,
      revenue: number,
      offerId = 'coupon',
    ) => {
      for (let i = 0; i < n; i++)
        t.addExposure({
          pseudonym: `${group}-${offerId}-${i}`,
          group,
          offerId,
          converted: i < converted,
          revenue: i < converted ? revenue : 0,
        });
    };
    add('treatment', 1_000, 120, 10_000);
    add('holdout', 1_000, 100, 10_000);
    const r = t.report({ campaignId: 'k', expectedHoldoutShare: 0.5, hoursFromDay: '2026-12-01' });
    assert.equal(r.treatment.customers, 1_000);
    assert.equal(r.treatment.rate, 0.12);
    assert.equal(r.holdout.rate, 0.1);
    assert.ok(Math.abs(r.lift!.relative! - 0.2) < 1e-12);
    assert.ok(Math.abs(r.lift!.interval.lower - -0.02371011960281924) < 1e-12); // confidence-sequence.spec.ts
    assert.equal(r.treatment.revenue, 1_200_000);
    assert.ok(r.revenueLift!.relative! > 0.19 && r.revenueLift!.relative! < 0.21);
    assert.equal(r.sampleRatio.mismatch, false);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.byOffer[0].offerId, 'coupon');
    assert.equal(r.byOffer[0].customersTreated, 1_000);
  });

  it('warns on small groups, few conversions and a broken split', () => {
    const t = new CampaignTally('2026-12-01');
    for (let i = 0; i < 50; i++)
      t.addExposure({ pseudonym: `t${i}`, group: 'treatment', offerId: 'o', converted: i < 3, revenue: 0 });
    for (let i = 0; i < 50; i++)
      t.addExposure({ pseudonym: `h${i}`, group: 'holdout', offerId: 'o', converted: false, revenue: 0 });
    const r = t.report({ campaignId: 'k', expectedHoldoutShare: 0.1, hoursFromDay: '2026-12-01' });
    assert.deepEqual(
      r.warnings.map((w) => w.code),
      ['few-customers', 'few-conversions', 'few-customers', 'few-conversions', 'sample-ratio-mismatch'],
    );
    assert.equal(r.lift!.relative, null); // no holdout conversion
    const none = new CampaignTally('2026-12-01').report({
      campaignId: 'k',
      expectedHoldoutShare: 0,
      hoursFromDay: '2026-12-01',
    });
    assert.equal(none.lift, null);
    assert.deepEqual(
      none.warnings.map((w) => w.code),
      ['no-holdout'],
    );
  });
});
