import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CampaignSet, lowerRankLosses } from './campaign-set.js';
import { CampaignInvalidError } from './campaign-invalid.error.js';
import { compiled, context, event, input, profile, purchase, usage, windows } from './testing/fixtures.js';

const beer = () => purchase([{ category: 'beer', quantity: 2, unitPrice: 10_000 }]);

void describe('arbitration', () => {
  void it('orders by priority, then expected value = value × propensity, then campaign id', () => {
    const set = new CampaignSet([
      compiled({ id: 'b-low', priority: 10, offers: [{ id: 'x', title: 'x', value: 9000 }] }),
      compiled({ id: 'z-high', priority: 50, offers: [{ id: 'x', title: 'x', value: 1000 }] }),
      // same priority as z-high: expected value 3000 × 0.5 = 1500 beats 1000
      compiled({
        id: 'y-high-ev',
        priority: 50,
        offers: [{ id: 'x', title: 'x', value: 3000, propensity: 0.5 }],
      }),
      // exact tie with z-high: the id decides, "a" before "z"
      compiled({
        id: 'a-tie',
        priority: 50,
        offers: [{ id: 'x', title: 'x', value: 2000, propensity: 0.5 }],
      }),
    ]);
    const ev = set.evaluate(input(beer(), profile('c-000042')));
    assert.deepEqual(
      ev.candidates.map((c) => [c.campaignId, c.expectedValue]),
      [
        ['y-high-ev', 1500],
        ['a-tie', 1000],
        ['z-high', 1000],
        ['b-low', 9000],
      ],
    );
    const lower = lowerRankLosses(ev, 0);
    assert.deepEqual(
      lower.map((l) => [l.campaignId, l.reason]),
      [
        ['a-tie', 'lower_rank'],
        ['z-high', 'lower_rank'],
        ['b-low', 'lower_rank'],
      ],
    );
    assert.match(lower[2].detail!, /priority 10 < 50/);
  });

  void it('is independent of the order campaigns are given in', () => {
    const cs = [
      compiled({ id: 'm', priority: 5 }),
      compiled({ id: 'k', priority: 5 }),
      compiled({ id: 'q', priority: 6 }),
    ];
    const a = new CampaignSet(cs).evaluate(input(beer(), null)).candidates.map((c) => c.campaignId);
    const b = new CampaignSet([...cs].reverse())
      .evaluate(input(beer(), null))
      .candidates.map((c) => c.campaignId);
    assert.deepEqual(a, ['q', 'k', 'm']);
    assert.deepEqual(b, a);
  });

  void it('offers the first eligible alternative in file order, not the most valuable', () => {
    const set = new CampaignSet([
      compiled({
        id: 'alts',
        offers: [
          { id: 'never', title: 'n', value: 99_000, when: 'event.amount > 1000000' },
          { id: 'small', title: 's', value: 100 },
          { id: 'big', title: 'b', value: 50_000 },
        ],
      }),
    ]);
    const ev = set.evaluate(input(beer(), null));
    assert.equal(ev.candidates[0]?.offer.id, 'small');
    assert.equal(ev.candidates[0]?.offer.cost, 100, 'cost defaults to value');
    assert.deepEqual(
      ev.losses.map((l) => [l.offerId, l.reason]),
      [['never', 'offer_ineligible']],
    );
  });

  void it('reports no_eligible_offer with every alternative when none applies', () => {
    const set = new CampaignSet([
      compiled({
        id: 'none',
        offers: [
          { id: 'a', title: 'a', value: 1, when: "customer.creditTier == 'A'" },
          { id: 'b', title: 'b', value: 1, when: 'now.hour < 3' },
        ],
      }),
    ]);
    const ev = set.evaluate(input(beer(), profile('c-000042', { creditTier: 'C' })));
    assert.equal(ev.candidates.length, 0);
    assert.equal(ev.losses[0]?.reason, 'no_eligible_offer');
    assert.match(
      ev.losses[0].detail!,
      /a: when false: customer\.creditTier='C'; b: when false: now\.hour=19/,
    );
  });
});

void describe('caps.suppressAfterDismissDays: a dismissed campaign rests', () => {
  const resting = compiled({ id: 'resting', caps: { suppressAfterDismissDays: 7 } });
  const free = compiled({ id: 'free' });
  const set = new CampaignSet([resting, free], { maxOffersPerCustomerPerDay: 3 });
  const answered = (daysSinceDismissed: number) =>
    context('c-1', {
      responses: { resting: { accepted: 0, redeemed: 0, dismissed: 1, daysSinceDismissed } },
    });

  void it('loses with cap for the dismissal day and the six after, and says when', () => {
    for (const [days, when] of [
      [0, 'today'],
      [6, '6 day\\(s\\) ago'],
    ] as const) {
      const ev = set.evaluate(input(beer(), null, { ctx: answered(days) }));
      assert.deepEqual(
        ev.candidates.map((c) => c.campaignId),
        ['free'],
      );
      assert.equal(ev.losses[0]?.reason, 'cap');
      assert.match(
        ev.losses[0].detail!,
        new RegExp(`dismissed this campaign's offer ${when}, suppressAfterDismissDays 7`),
      );
    }
  });

  void it("offers again from the seventh day, and never rests on another campaign's dismissal or an acceptance", () => {
    const later = set.evaluate(input(beer(), null, { ctx: answered(7) }));
    assert.deepEqual(later.candidates.map((c) => c.campaignId).sort(), ['free', 'resting']);
    const otherCampaign = context('c-1', {
      responses: { free: { accepted: 0, redeemed: 0, dismissed: 1, daysSinceDismissed: 0 } },
    });
    assert.equal(set.evaluate(input(beer(), null, { ctx: otherCampaign })).candidates.length, 2);
    const accepted = context('c-1', {
      responses: { resting: { accepted: 1, redeemed: 0, dismissed: 0, daysSinceDismissed: -1 } },
    });
    assert.equal(set.evaluate(input(beer(), null, { ctx: accepted })).candidates.length, 2);
  });
});

void describe('caps and contact policy', () => {
  const capped = compiled({
    id: 'capped',
    caps: { perCustomerPerDay: 2, perCustomerLifetime: 5, perChannelPerDay: 1 },
  });
  const free = compiled({ id: 'free' });
  const set = new CampaignSet([capped, free], { maxOffersPerCustomerPerDay: 3 });

  void it('filters a campaign whose per-day cap is reached', () => {
    const ev = set.evaluate(
      input(beer(), null, { usage: usage({ offersToday: 2, byCampaignToday: { capped: 2 } }) }),
    );
    assert.deepEqual(
      ev.candidates.map((c) => c.campaignId),
      ['free'],
    );
    assert.equal(ev.losses[0]?.reason, 'cap');
    assert.match(ev.losses[0].detail!, /perCustomerPerDay 2/);
  });

  void it('filters on the lifetime cap and on the per-channel cap of the event channel only', () => {
    const life = set.evaluate(input(beer(), null, { usage: usage({ byCampaignLifetime: { capped: 5 } }) }));
    assert.match(life.losses[0].detail!, /perCustomerLifetime 5/);

    const onPos = set.evaluate(
      input(beer(), null, { usage: usage({ byChannelToday: { capped: { pos: 1 } } }) }),
    );
    assert.equal(onPos.losses[0]?.reason, 'cap');
    const onWeb = set.evaluate(
      input(beer(), null, { usage: usage({ byChannelToday: { capped: { web: 1 } } }) }),
    );
    assert.deepEqual(onWeb.candidates.map((c) => c.campaignId).sort(), ['capped', 'free']);
  });

  void it('below the caps both campaigns are candidates', () => {
    const ev = set.evaluate(
      input(beer(), null, { usage: usage({ offersToday: 2, byCampaignToday: { capped: 1 } }) }),
    );
    assert.equal(ev.candidates.length, 2);
  });

  void it('the global contact policy stops everything once the customer had enough offers today', () => {
    const ev = set.evaluate(input(beer(), null, { usage: usage({ offersToday: 3 }) }));
    assert.equal(ev.candidates.length, 0);
    assert.deepEqual(
      ev.losses.map((l) => l.reason),
      ['contact_policy', 'contact_policy'],
    );
    assert.match(ev.losses[0].detail!, /limit 3/);
  });
});

void describe('index', () => {
  const set = new CampaignSet([
    compiled({ id: 'pos-purchase', trigger: { types: ['purchase'], channels: ['pos'] } }),
    compiled({ id: 'any-purchase', trigger: { types: ['purchase'] } }),
    compiled({ id: 'store-2', trigger: { types: ['purchase'], stores: ['gangnam-02'] } }),
    compiled({ id: 'app-open', trigger: { types: ['app_open'], channels: ['app'] } }),
    compiled({ id: 'wine', trigger: { types: ['purchase'] }, condition: "'wine' in event.categories" }),
    compiled({
      id: 'seoul',
      trigger: { types: ['purchase'] },
      audience: "customer.region in ['Seoul', 'Incheon'] && customer.age > 20",
    }),
    compiled({ id: 'paused', trigger: { types: ['purchase'] }, state: 'paused' }),
  ]);

  void it('an event of another type touches no campaign', () => {
    const ev = set.evaluate(input(event({ type: 'page_view', channel: 'web', payload: { url: '/' } }), null));
    assert.equal(ev.considered, 0);
    assert.deepEqual(ev.losses, []);
    assert.deepEqual(ev.campaignVersions, {});
  });

  void it('a purchase touches only campaigns whose trigger, store and guard it matches', () => {
    const ev = set.evaluate(input(beer(), profile('c-000042', { region: 'Bundang' })));
    assert.deepEqual(Object.keys(ev.campaignVersions).sort(), ['any-purchase', 'pos-purchase']);
    assert.equal(ev.considered, 2);
  });

  void it('guards route by event category and by profile field', () => {
    const wine = purchase([
      { category: 'wine', unitPrice: 30_000 },
      { category: 'beer', unitPrice: 3_000 },
    ]);
    const ev = set.evaluate(
      input(wine, profile('c-000042', { region: 'Incheon', age: 40 }), {
        event: { ...wine, channel: 'kiosk' },
      }),
    );
    assert.deepEqual(Object.keys(ev.campaignVersions).sort(), ['any-purchase', 'seoul', 'wine']);
    assert.deepEqual(ev.candidates.map((c) => c.campaignId).sort(), ['any-purchase', 'seoul', 'wine']);
  });

  void it('exhaustive mode considers every active campaign and says why each one did not fire', () => {
    const ev = set.evaluate(input(beer(), profile('c-000042', { region: 'Bundang' })), { exhaustive: true });
    assert.equal(ev.considered, 6);
    const why = Object.fromEntries(ev.losses.map((l) => [l.campaignId, l.reason]));
    assert.deepEqual(why, {
      'store-2': 'not_triggered',
      'app-open': 'not_triggered',
      wine: 'condition',
      seoul: 'audience',
    });
    assert.match(
      ev.losses.find((l) => l.campaignId === 'app-open')!.detail!,
      /event type purchase not in trigger\.types \[app_open\]/,
    );
  });

  void it('gives the same candidates with and without the guard index', () => {
    const cs = set.campaigns();
    const plain = new CampaignSet(cs, { guardIndex: false });
    for (const region of ['Seoul', 'Bundang', '']) {
      const i = input(beer(), profile('c-000042', { region, age: 30 }));
      assert.deepEqual(
        plain.evaluate(i).candidates.map((c) => c.campaignId),
        set.evaluate(i).candidates.map((c) => c.campaignId),
      );
    }
  });

  void it('refuses a set with the same campaign twice', () => {
    assert.throws(
      () => new CampaignSet([compiled({ id: 'x' }), compiled({ id: 'x' }, 2)]),
      CampaignInvalidError,
    );
  });
});

void describe('rule errors', () => {
  void it('a runtime CEL error is an error loss with the message, and other campaigns still decide', () => {
    const set = new CampaignSet([
      compiled({ id: 'bad', condition: "event.payload.missing == 'x'" }),
      compiled({ id: 'good' }),
    ]);
    const ev = set.evaluate(input(beer(), null));
    assert.deepEqual(
      ev.candidates.map((c) => c.campaignId),
      ['good'],
    );
    assert.equal(ev.losses[0]?.reason, 'error');
    assert.match(ev.losses[0].detail!, /condition failed: No such key: missing/);
  });
});

void describe('ctx in rules', () => {
  void it('reads windows of stores and categories, zero for those without activity', () => {
    const set = new CampaignSet([
      compiled({
        id: 'loyal-here',
        audience:
          "ctx.thisStore.d90.visits >= 3 && ctx.category.beer.d30.spend >= 50000 && ctx.category['infant_formula'].d365.purchases == 0",
      }),
    ]);
    const ctx = context('c-000042', {
      thisStore: windows({ d90: { visits: 4 } }),
      category: { beer: windows({ d30: { spend: 60_000 } }) },
    });
    assert.equal(set.evaluate(input(beer(), null, { ctx })).candidates.length, 1);
    const fewVisits = context('c-000042', { ...ctx, thisStore: windows({ d90: { visits: 2 } }) });
    const ev = set.evaluate(input(beer(), null, { ctx: fewVisits }));
    assert.equal(ev.losses[0]?.reason, 'audience');
    assert.match(ev.losses[0].detail!, /ctx\.thisStore\.d90\.visits=2/);
    assert.match(ev.losses[0].detail!, /ctx\.category\.infant_formula\.d365\.purchases=0/);
  });
});

void describe('guard checks', () => {
  const set = new CampaignSet([
    compiled({
      id: 'beer-men',
      audience: "customer.gender == 'M' && customer.age > 20",
      condition: "'beer' in event.categories && event.storeId == 'bundang-01'",
    }),
  ]);
  const man = profile('c-000042', { gender: 'M', age: 30 });

  void it('considers a campaign only when every guard holds, and evaluates it then', () => {
    assert.equal(set.evaluate(input(beer(), man)).candidates.length, 1);
    assert.equal(set.evaluate(input(beer(), { ...man, gender: 'F' })).considered, 0);
    assert.equal(set.evaluate(input({ ...beer(), storeId: 'gangnam-02' }, man)).considered, 0);
    const young = set.evaluate(input(beer(), { ...man, age: 19 }));
    assert.equal(young.considered, 1);
    assert.equal(young.losses[0]?.reason, 'audience');
  });

  void it('exhaustive mode evaluates the pruned campaign and reports the failing expression', () => {
    const ev = set.evaluate(input(beer(), { ...man, gender: 'F' }), { exhaustive: true });
    assert.equal(ev.losses[0]?.reason, 'audience');
    assert.match(ev.losses[0].detail!, /customer\.gender='F'/);
  });
});

void describe('triggeredBy', () => {
  void it('is true exactly when an active campaign triggers on the event type, channel and store', () => {
    const set = new CampaignSet([
      compiled({ id: 'pos-buy', trigger: { types: ['purchase'], channels: ['pos'] } }),
      compiled({ id: 'store-visit', trigger: { types: ['visit'], stores: ['gangnam-02'] } }),
      compiled({ id: 'paused-view', state: 'paused', trigger: { types: ['product_view'] } }),
    ]);
    assert.equal(set.triggeredBy(purchase([{ category: 'beer', unitPrice: 1 }])), true);
    assert.equal(set.triggeredBy(purchase([{ category: 'beer', unitPrice: 1 }], { channel: 'web' })), false);
    assert.equal(set.triggeredBy(event({ type: 'visit', storeId: 'gangnam-02' })), true);
    assert.equal(set.triggeredBy(event({ type: 'visit', storeId: 'bundang-01' })), false);
    assert.equal(set.triggeredBy(event({ type: 'visit', storeId: undefined })), false);
    assert.equal(set.triggeredBy(event({ type: 'product_view' })), false, 'paused campaigns trigger nothing');
    assert.equal(set.triggeredBy(event({ type: 'cart' })), false);
  });
});
