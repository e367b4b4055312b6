import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { projectPath } from '@nunchi/config';
import type { AcceptedEvent } from '@nunchi/contracts';
import { localDayIndex } from '@nunchi/context-model';
import { CampaignSet } from '../campaign-set.js';
import { alwaysActive, SetsOverTime, Simulation } from '../simulate.js';
import { compileCampaign } from '../compile-campaign.js';
import { parseCampaign } from '../parse-campaign.js';
import { campaign, context, event, input, profile, purchase, seoul, windows } from '../testing/fixtures.js';
import { EMPTY_PATTERN_STATE, fireAbsence, foldPatterns, type PatternState } from './pattern-state.js';

const example = (name: string) =>
  compileCampaign(parseCampaign(readFileSync(projectPath(`campaigns/examples/${name}.yaml`), 'utf8')), 1);
const who = profile('c-000042', { marketingConsent: true });

/** Folds events as the context service does, deciding each with the matches it found. */
function live(set: CampaignSet, events: AcceptedEvent[], ctx = context('c-000042')) {
  let state: PatternState = EMPTY_PATTERN_STATE;
  return {
    decisions: events.map((e) => {
      const fold = foldPatterns(state, e, set.statefulPatterns);
      state = fold.state;
      const ev = set.evaluate(input(e, who, { ctx, patterns: fold.matched }));
      return ev.candidates
        .map((c) => c.campaignId)
        .concat(ev.losses.map((l) => `${l.campaignId}:${l.reason}`));
    }),
    state: () => state,
  };
}

void describe('pattern campaigns', () => {
  void it('a sequence campaign is offered on the visit that completes it, and loses with `pattern` otherwise', () => {
    const set = new CampaignSet([example('formula-view-then-store-visit')]);
    const viewed = event({
      id: 'v1',
      type: 'product_view',
      channel: 'app',
      storeId: undefined,
      occurredAtMs: seoul('2026-11-24T10:00'),
      payload: { category: 'infant_formula' },
    });
    const visit = (id: string, at: string) => event({ id, type: 'visit', occurredAtMs: seoul(at) });
    const { decisions } = live(set, [
      visit('s0', '2026-11-24T09:50'),
      viewed,
      visit('s1', '2026-11-24T11:00'),
    ]);
    assert.deepEqual(decisions, [
      ['formula-view-then-store-visit:pattern'],
      [],
      ['formula-view-then-store-visit'],
    ]);
  });

  void it('a threshold campaign needs no state: the context says whether this purchase crossed', () => {
    const set = new CampaignSet([example('spend-passes-1m')], { timeZone: 'Asia/Seoul' });
    assert.deepEqual(set.statefulPatterns, []);
    const buy = purchase([{ category: 'beer', unitPrice: 50_000 }]);
    const asOf = new Date(buy.occurredAtMs).toISOString();
    const crossing = context('c-000042', { asOf, all: windows({ d365: { spend: 1_020_000 } }) });
    const notYet = context('c-000042', { asOf, all: windows({ d365: { spend: 990_000 } }) });
    assert.equal(set.evaluate(input(buy, who, { ctx: crossing })).candidates[0]?.offer.id, 'gold-card');
    const loss = set.evaluate(input(buy, who, { ctx: notYet })).losses[0];
    assert.equal(loss?.reason, 'pattern');
    assert.equal(loss?.detail, 'ctx.all.d365.spend 940000 → 990000 does not cross 1000000');
  });

  void it('the third visit this week is offered once', () => {
    const set = new CampaignSet([example('third-visit-this-week')]);
    const visits = ['2026-11-20T10:00', '2026-11-22T10:00', '2026-11-24T10:00', '2026-11-24T18:00'].map(
      (at, i) => event({ id: `s${i}`, type: 'visit', occurredAtMs: seoul(at) }),
    );
    const { decisions } = live(set, visits);
    assert.deepEqual(
      decisions.map((d) => d[0]),
      [
        'third-visit-this-week:pattern',
        'third-visit-this-week:pattern',
        'third-visit-this-week',
        'third-visit-this-week:pattern',
      ],
    );
  });

  void it('an absence campaign decides the synthetic event its own timer fires, and no other', () => {
    const noRepurchase = example('no-repurchase-30d');
    const cart = example('cart-abandoned-1h');
    const set = new CampaignSet([noRepurchase, cart]);
    assert.equal(set.statefulPatterns.length, 2);
    const run = live(set, [
      purchase([{ category: 'beer', unitPrice: 9000 }], {
        id: 'p1',
        occurredAtMs: seoul('2026-10-30T19:00'),
      }),
    ]);
    const pattern = set.statefulPatterns.find((p) => p.campaignId === 'no-repurchase-30d');
    assert.ok(pattern?.kind === 'absence');
    const fired = fireAbsence(run.state(), 'c-000042', pattern, seoul('2026-11-29T19:00'), 'Asia/Seoul');
    assert.ok(fired);
    assert.equal(fired.match.reason, 'no purchase since 2026-10-30');
    const ctx = context('c-000042', { all: windows({ d365: { purchases: 5 } }) });
    const ev = set.evaluate(input(fired.event, who, { ctx, nowMs: seoul('2026-11-29T19:00') }));
    assert.deepEqual(
      ev.candidates.map((c) => c.campaignId),
      ['no-repurchase-30d'],
    );
    assert.deepEqual(
      ev.losses.map((l) => [l.campaignId, l.reason]),
      [['cart-abandoned-1h', 'pattern']],
    );
  });

  void it('refuses patterns that could never complete, and steps that read more than the event', () => {
    const problems = (over: object) => {
      try {
        parseCampaign(campaign({ id: 'x', ...over }));
        return [];
      } catch (e) {
        return (e as { details: { path: string; message: string }[] }).details.map(
          (p) => `${p.path}: ${p.message}`,
        );
      }
    };
    assert.deepEqual(
      problems({
        trigger: { types: ['purchase'] },
        pattern: {
          sequence: {
            steps: [{ types: ['cart'], where: 'ctx.all.d7.spend > 0' }, { types: ['visit'] }],
            within: '2h',
          },
        },
      }),
      [
        'pattern.sequence.steps[0].where: may read only event (a step is tested on an event long before the decision): ctx.all.d7.spend',
        "trigger.types: must include visit: the pattern completes on its last step's events",
      ],
    );
    assert.deepEqual(problems({ trigger: { types: ['absence'] } }), [
      'trigger.types: absence is fired only by an absence pattern',
    ]);
    assert.deepEqual(
      problems({
        trigger: { types: ['purchase'] },
        pattern: { absence: { after: { types: ['cart'] }, expect: { types: ['purchase'] }, within: '400d' } },
      }),
      [
        'trigger.types: must include absence: the pattern completes on a timer (the synthetic absence event)',
        'pattern.absence.within: must be at most 365d (the context keeps 365 days)',
      ],
    );
    assert.deepEqual(
      problems({ pattern: { count: { of: { types: ['visit'] }, within: '7 days', nth: 3 } } }),
      ['pattern.count.within: must be a duration such as 90m, 2h or 30d (s, m, h, d)'],
    );
    assert.deepEqual(problems({ pattern: {} }), ['pattern: must NOT have fewer than 1 properties']);
  });

  void it('simulation on history finds the same matches as the live fold, events before --from warming the state', () => {
    const campaigns = [example('formula-view-then-store-visit'), example('third-visit-this-week')];
    let k = 0;
    const at = (type: AcceptedEvent['type'], local: string, over: Partial<AcceptedEvent> = {}) => {
      const ms = seoul(local);
      return event({
        id: `h${++k}`,
        type,
        occurredAtMs: ms,
        occurredAt: new Date(ms).toISOString(),
        receivedAtMs: ms + 500,
        ...over,
      });
    };
    const appView = (local: string, category: string) =>
      at('product_view', local, { channel: 'app', storeId: undefined, payload: { category } });
    const history = [
      at('visit', '2026-11-19T10:00'), // before --from: folded, not decided
      appView('2026-11-20T09:00', 'infant_formula'),
      at('visit', '2026-11-20T10:00'), // sequence ✓ (and the 2nd visit in 7 d)
      at('visit', '2026-11-21T18:00'), // 3rd visit ✓; the view was consumed: no sequence
      appView('2026-11-22T09:00', 'beer'),
      at('visit', '2026-11-22T10:00'), // 4th: nothing
      appView('2026-11-23T09:00', 'infant_formula'),
      at('visit', '2026-11-23T13:00'), // the view was 4 h ago: nothing
    ];
    const liveSet = new CampaignSet(campaigns);
    const liveRun = live(liveSet, history);
    const liveWinners = liveRun.decisions.slice(1).map((d) => d.filter((x) => !x.includes(':')).join(','));

    const fromMs = seoul('2026-11-20T00:00');
    const timelines = campaigns.map((c) => alwaysActive(c));
    const sim = new Simulation({
      timeZone: 'Asia/Seoul',
      fromMs,
      toMs: seoul('2026-12-01T00:00'),
      firstDay: localDayIndex(seoul('2026-11-19T00:00'), 'Asia/Seoul'),
      draftId: campaigns[0].id,
      sets: new SetsOverTime(timelines),
      draftOnly: new SetsOverTime([timelines[0]]),
      baseOf: (id) => ({ profile: profile(id, { marketingConsent: true }), rows: [], recent: [] }),
    });
    const simulated = history.map((e) => sim.step(e)).filter((d) => d?.inPeriod);
    const simCandidates = simulated.map((d) =>
      (d?.choice?.evaluation.candidates ?? []).map((c) => c.campaignId).join(','),
    );
    assert.deepEqual(liveWinners, [
      '',
      'formula-view-then-store-visit',
      'third-visit-this-week',
      '',
      '',
      '',
      '',
    ]);
    assert.deepEqual(simCandidates, liveWinners);
  });

  void it('simulation fires absence timers in replay time, once, and not when the expected event came first', () => {
    const campaign = compileCampaign(
      parseCampaign(readFileSync(projectPath('campaigns/examples/cart-abandoned-1h.yaml'), 'utf8')),
      1,
    );
    let k = 0;
    const at = (customerId: string, type: AcceptedEvent['type'], local: string) => {
      const ms = seoul(local);
      return event({
        id: `a${++k}`,
        customerId,
        type,
        channel: 'web',
        storeId: undefined,
        occurredAtMs: ms,
        occurredAt: new Date(ms).toISOString(),
        receivedAtMs: ms,
        payload: type === 'purchase' ? { amount: 1000, currency: 'KRW', items: [] } : {},
      });
    };
    const history = [
      at('quiet', 'cart', '2026-11-24T10:00'),
      at('buyer', 'cart', '2026-11-24T10:05'),
      at('buyer', 'purchase', '2026-11-24T10:40'),
      at('late', 'cart', '2026-11-24T10:30'),
      at('other', 'page_view', '2026-11-24T12:00'), // past every due time: the timers fire before it
      at('late', 'cart', '2026-11-30T23:30'), // due after the period: never fires
    ];
    const timeline = alwaysActive(campaign);
    const sim = new Simulation({
      timeZone: 'Asia/Seoul',
      fromMs: seoul('2026-11-01T00:00'),
      toMs: seoul('2026-12-01T00:00'),
      firstDay: localDayIndex(seoul('2026-11-01T00:00'), 'Asia/Seoul'),
      draftId: campaign.id,
      sets: new SetsOverTime([timeline]),
      draftOnly: new SetsOverTime([timeline]),
      baseOf: (id) => ({ profile: profile(id, { marketingConsent: true }), rows: [], recent: [] }),
    });
    const decided = [...history.flatMap((e) => sim.stepAll(e)), ...sim.finish()].filter((d) => d.choice);
    assert.deepEqual(
      decided.map((d) => [
        d.event.customerId,
        d.event.type,
        new Date(d.event.occurredAtMs).toISOString(),
        d.choice?.winner?.offer.id,
      ]),
      [
        ['quiet', 'absence', '2026-11-24T02:00:00.000Z', 'free-delivery'],
        ['late', 'absence', '2026-11-24T02:30:00.000Z', 'free-delivery'],
      ],
    );
    assert.equal(decided[0].event.payload.reason, 'no purchase since 2026-11-24');
  });
});
