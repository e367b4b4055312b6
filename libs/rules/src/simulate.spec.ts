import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localDayIndex, rollupEvents } from '@nunchi/context-model';
import type { AcceptedEvent } from '@nunchi/contracts';
import { isHeldOut } from './holdout.js';
import {
  alwaysActive,
  compareEvents,
  ContextReplay,
  SetsOverTime,
  Simulation,
  sortInReplayOrder,
  type CampaignTimeline,
  type SimulatedDecision,
} from './simulate.js';
import { prng } from '@nunchi/testing';
import { decisionLine, SimulationReportBuilder } from './simulation-report.js';
import { compiled, purchase, seoul } from './testing/fixtures.js';

const TZ = 'Asia/Seoul';
let seq = 0;
/** A purchase of `customerId` at a Seoul wall-clock time, received a second later. */
function buy(customerId: string, local: string, amount = 10_000, over: Partial<AcceptedEvent> = {}) {
  const at = seoul(local);
  return purchase([{ category: 'snacks', unitPrice: amount }], {
    id: `e${++seq}`,
    customerId,
    occurredAtMs: at,
    occurredAt: new Date(at).toISOString(),
    receivedAtMs: at + 1_000,
    ...over,
  });
}

function simulation(
  draftId: string,
  live: CampaignTimeline[],
  draft: CampaignTimeline,
  options: { withBaseline?: boolean; fromMs?: number } = {},
) {
  const fromMs = options.fromMs ?? seoul('2026-11-01T00:00');
  return new Simulation({
    timeZone: TZ,
    fromMs,
    toMs: seoul('2026-12-01T00:00'),
    firstDay: localDayIndex(fromMs, TZ),
    draftId,
    sets: new SetsOverTime([draft, ...live], { maxOffersPerCustomerPerDay: 3 }),
    baseline: options.withBaseline ? new SetsOverTime(live, { maxOffersPerCustomerPerDay: 3 }) : undefined,
    draftOnly: new SetsOverTime([draft]),
    baseOf: () => undefined,
  });
}

const run = (sim: Simulation, events: AcceptedEvent[]) =>
  events.map((e) => sim.step(e)).filter((d): d is SimulatedDecision => d !== undefined);
const summary = (d: SimulatedDecision) =>
  `${d.choice?.outcome ?? '-'} ${d.choice?.winner?.campaignId ?? '-'} (${d.draft.status})`;

describe('simulation on history', () => {
  it('sorts a history in replay order: received, then occurred, then id', () => {
    // ties on receipt and on both times, events of several shapes (a store, a link or not)
    const events = Array.from({ length: 200 }, (_, i) =>
      buy(`c${i % 7}`, `2026-11-0${1 + (i % 3)}T1${i % 4}:00`, 1_000, {
        id: `x${(i * 37) % 200}`,
        receivedAtMs: seoul('2026-11-05T00:00') + (i % 5) * 1_000,
        ...(i % 2 ? { storeId: 's1' } : {}),
        ...(i % 3 ? {} : { forwardedFrom: 'c0' }),
      }),
    );
    const expected = [...events].sort(compareEvents).map((e) => e.id);
    const sorted = sortInReplayOrder([...events].reverse());
    assert.deepEqual(
      sorted.map((e) => e.id),
      expected,
    );
    assert.notDeepEqual(
      events.map((e) => e.id),
      expected,
    );
  });

  it('sorts like compareEvents on any times: many ties, fractions, a span too wide for one number', () => {
    const random = prng(7);
    const base = seoul('2026-11-05T00:00');
    const history = (received: (i: number) => number) =>
      Array.from({ length: 3_000 }, (_, i) =>
        buy(`c${i % 11}`, `2026-11-0${1 + (i % 3)}T1${i % 4}:00`, 1_000, {
          id: `x${Math.floor(random() * 500)}`,
          receivedAtMs: received(i),
        }),
      );
    for (const [name, events] of [
      [
        'a month, one in three received in the same millisecond as another',
        history(() => base + Math.floor(random() * 2_000)),
      ],
      [
        'whole and fractional milliseconds',
        history((i) => base + (i % 2 ? 0.5 : 0) + Math.floor(random() * 50)),
      ],
      ['a span times the count past 2^53', history((i) => (i % 2 ? 2 ** 50 : 0) + Math.floor(random() * 10))],
    ] as const) {
      const expected = [...events].sort(compareEvents);
      assert.deepEqual(sortInReplayOrder([...events]), expected, name);
    }
    assert.deepEqual(sortInReplayOrder([]), []);
  });

  it('applies caps, the contact policy and budgets decision after decision, as the live walk does', () => {
    const a = compiled({ id: 'a', priority: 2, caps: { perCustomerPerDay: 1 }, budget: { maxOffers: 2 } });
    const b = compiled({ id: 'b', priority: 1 });
    const sim = simulation('a', [alwaysActive(b)], alwaysActive(a));
    const decisions = run(sim, [
      buy('c1', '2026-11-24T10:00'), // a
      buy('c1', '2026-11-24T11:00'), // a capped today → b
      buy('c1', '2026-11-24T12:00'), // b (3rd offer today: the policy allows 3)
      buy('c1', '2026-11-24T13:00'), // contact policy: none
      buy('c2', '2026-11-24T14:00'), // a: its budget's 2nd offer
      buy('c3', '2026-11-24T15:00'), // a's budget is spent → b
      buy('c1', '2026-11-25T10:00'), // a new day: a would be uncapped, but its budget is spent → b
    ]);
    assert.deepEqual(decisions.map(summary), [
      'offer a (won)',
      'offer b (cap)',
      'offer b (cap)',
      'none - (contact_policy)',
      'offer a (won)',
      'offer b (budget)',
      'offer b (budget)',
    ]);
    assert.deepEqual(sim.world.budgetUsed('a'), { offers: 2, cost: 2000 });
    const line = decisionLine(decisions[3])!;
    assert.equal(line.offerId, null);
    assert.equal(line.campaignId, null);
    assert.match(line.reason, /^contact_policy: customer already has 3 offer\(s\) today/);
  });

  it('a control decision of a capped campaign counts towards its caps, and sends nothing', () => {
    const customer = Array.from({ length: 100 }, (_, i) => `h${i}`).find((c) => isHeldOut('h', c, 50))!;
    const h = compiled({ id: 'h', holdoutPercent: 50, caps: { perCustomerPerDay: 1 } });
    const sim = simulation('h', [], alwaysActive(h));
    const decisions = run(sim, [buy(customer, '2026-11-24T10:00'), buy(customer, '2026-11-24T11:00')]);
    assert.deepEqual(decisions.map(summary), ['control h (holdout)', 'none - (cap)']);
    assert.equal(
      decisionLine(decisions[0])!.offerId,
      'o1',
      'a control decision names the offer it held back',
    );
  });

  it('folds each event into the context of the customer before deciding, as the context service does', () => {
    // Offered on the customer's second purchase of the day only: the context must include the first.
    const second = compiled({ id: 's', condition: 'ctx.all.d7.purchases >= 2' });
    const sim = simulation('s', [], alwaysActive(second));
    const decisions = run(sim, [
      buy('c1', '2026-11-24T10:00'),
      buy('c2', '2026-11-24T10:30'),
      buy('c1', '2026-11-24T11:00'),
    ]);
    assert.deepEqual(decisions.map(summary), ['none - (condition)', 'none - (condition)', 'offer s (won)']);
    assert.equal(decisions[2].draft.matching, true);
    assert.equal(decisions[0].draft.inAudience, true);
    assert.equal(decisions[0].draft.matching, false);
  });

  it('replays days from the first day on and takes older days from the base; a repeat is not decided again', () => {
    const firstDay = localDayIndex(seoul('2026-11-24T00:00'), TZ);
    const older = [buy('c1', '2026-11-20T10:00', 50_000), buy('c1', '2026-11-24T09:00', 1)];
    const replay = new ContextReplay(TZ, firstDay, () => ({
      profile: null,
      // The stored rows as they are now: the replayed day's row (from a later event) must not count twice.
      rows: rollupEvents(older, TZ),
      recent: [],
    }));
    const first = replay.fold(older[1])!;
    assert.equal(first.ctx.all.d7.spend, 50_001, 'the base day (50,000) and the replayed event (1)');
    const again = replay.fold(older[1]);
    assert.equal(again, undefined, 'a repeat of an event is not folded or decided again');
    // A late event of a replayed day, received after the day closed, folds into that day.
    const late = buy('c1', '2026-11-24T08:00', 7, { receivedAtMs: seoul('2026-11-27T12:00') });
    const after = replay.fold(late)!;
    assert.equal(after.ctx.all.d30.spend, 50_008);
    assert.equal(after.ctx.all.d30.purchases, 3);
  });

  it('decides each event with the versions current when it was received', () => {
    const v1 = compiled({ id: 'x', offers: [{ id: 'one', title: 'One', value: 1 }] }, 1);
    const v3 = compiled({ id: 'x', offers: [{ id: 'three', title: 'Three', value: 3 }] }, 3);
    const timeline: CampaignTimeline = {
      campaignId: 'x',
      versions: [
        { fromMs: seoul('2026-11-24T09:00'), version: 1, campaign: v1 },
        { fromMs: seoul('2026-11-24T12:00'), version: 2, campaign: null }, // paused
        { fromMs: seoul('2026-11-24T15:00'), version: 3, campaign: v3 },
      ],
    };
    const sim = simulation('x', [], timeline);
    const decisions = run(sim, [
      buy('c1', '2026-11-24T08:00'), // before the campaign: no decision
      buy('c2', '2026-11-24T10:00'),
      buy('c3', '2026-11-24T13:00'), // paused
      buy('c4', '2026-11-24T16:00'),
    ]);
    assert.deepEqual(
      decisions.map((d) =>
        d.choice ? `${d.choice.winner!.offer.id}@${d.choice.winner!.campaignVersion}` : '-',
      ),
      ['-', 'one@1', '-', 'three@3'],
    );
  });

  it('with live campaigns: reports which events move from a live campaign to the draft and the offers lost', () => {
    const draft = compiled({ id: 'draft', priority: 5, offers: [{ id: 'd', title: 'D', value: 500 }] });
    const live = compiled({
      id: 'live',
      priority: 1,
      condition: 'event.amount >= 5000',
      offers: [{ id: 'l', title: 'L', value: 300 }],
    });
    const sim = simulation('draft', [alwaysActive(live)], alwaysActive(draft), { withBaseline: true });
    const report = new SimulationReportBuilder({
      campaignId: 'draft',
      timeZone: TZ,
      from: '2026-11-01',
      to: '2026-12-01',
      withLive: true,
      budget: {},
    });
    const decisions = run(sim, [
      buy('c1', '2026-11-24T10:00', 10_000),
      buy('c2', '2026-11-24T11:00', 1_000),
      buy('c3', '2026-11-25T21:30', 20_000, { storeId: 'gangnam-02' }),
    ]);
    for (const d of decisions) report.add(d);
    assert.deepEqual(
      decisions.map((d) => decisionLine(d, { withLive: true })?.baseline),
      [
        { campaignId: 'live', offerId: 'l', outcome: 'offer' },
        { campaignId: null, offerId: null, outcome: 'none' },
        { campaignId: 'live', offerId: 'l', outcome: 'offer' },
      ],
    );
    assert.equal(decisionLine(decisions[0])?.baseline, undefined, 'without --with-live: no baseline');
    const r = report.report();
    assert.deepEqual(r.overlap, [
      { campaignId: 'live', bothEligible: 2, movedToDraft: 2, offersLost: 2, valueLost: 600 },
    ]);
    assert.equal(r.offers.offers, 3);
    assert.equal(r.offers.value, 1500);
    assert.deepEqual(r.offers.byOffer, { d: { offers: 3, value: 1500, cost: 1500 } });
    assert.equal(r.reach.customersOffered, 3);
    assert.deepEqual(r.breakdown.byStore, { 'bundang-01': 2, 'gangnam-02': 1 });
    assert.deepEqual(r.breakdown.byHour, { '10': 1, '11': 1, '21': 1 });
    assert.deepEqual(
      r.budget.byDay.map((d) => [d.day, d.offers, d.totalOffers]),
      [
        ['2026-11-24', 2, 2],
        ['2026-11-25', 1, 3],
      ],
    );
    assert.equal(r.sample[0].draft, 'won');
    assert.ok(r.sample[0].lines.length > 0);
  });

  it('events before the period are folded into context but not decided', () => {
    const c = compiled({ id: 'p', condition: 'ctx.all.d7.purchases >= 2' });
    const sim = simulation('p', [], alwaysActive(c), { fromMs: seoul('2026-11-24T12:00') });
    const decisions = run(sim, [buy('c1', '2026-11-24T10:00'), buy('c1', '2026-11-24T13:00')]);
    assert.deepEqual(
      decisions.map((d) => [d.inPeriod, d.choice?.outcome]),
      [
        [false, undefined],
        [true, 'offer'],
      ],
    );
  });
});
