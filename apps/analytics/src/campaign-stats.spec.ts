import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcceptedEvent, DecisionRecord } from '@nunchi/contracts';
import { CampaignStatsAggregator } from './campaign-stats.js';

const T0 = Date.parse('2026-11-24T10:00:00Z');
const decision = (id: string, customerId: string, outcome: DecisionRecord['outcome']): DecisionRecord => ({
  decisionId: id, eventId: `e-${id}`, customerId, channel: 'pos', outcome, campaignId: 'c1', campaignVersion: 1, offerId: 'o', value: 100,
  decidedAt: new Date(T0).toISOString(), latencyMs: 3, traceId: '', campaignVersions: { c1: 1 }, losses: [],
});
const purchase = (id: string, customerId: string, atMs: number): AcceptedEvent => ({
  id, type: 'purchase', channel: 'pos', occurredAt: new Date(atMs).toISOString(), occurredAtMs: atMs, receivedAtMs: atMs, customerId, payload: { amount: 1 },
});

describe('CampaignStatsAggregator', () => {
  it('counts outcomes once per decision id and measures lift against the holdout', () => {
    const s = new CampaignStatsAggregator();
    for (let i = 0; i < 4; i++) s.addDecision(decision(`t${i}`, `ct${i}`, 'offer'));
    s.addDecision(decision('t0', 'ct0', 'offer')); // redelivered
    for (let i = 0; i < 4; i++) s.addDecision(decision(`h${i}`, `ch${i}`, 'control'));
    s.addDecision(decision('l0', 'cl0', 'late'));
    // 2 of 4 treated customers buy again within the window, 1 of 4 held-out ones; one purchase is too late
    s.addEvent(purchase('p1', 'ct0', T0 + 3_600_000));
    s.addEvent(purchase('p1', 'ct0', T0 + 3_600_000)); // duplicate event
    s.addEvent(purchase('p2', 'ct1', T0 + 86_400_000));
    s.addEvent(purchase('p3', 'ch0', T0 + 86_400_000));
    s.addEvent(purchase('p4', 'ch1', T0 + 8 * 86_400_000));
    s.addEvent(purchase('p5', 'ct2', T0 - 1000)); // before the decision: not a conversion
    const c = s.snapshot().campaigns[0];
    assert.equal(c.decisions, 9);
    assert.deepEqual([c.offers, c.control, c.late], [4, 4, 1]);
    assert.deepEqual([c.treatment.converted, c.holdout.converted], [2, 1]);
    assert.equal(c.lift, (0.5 - 0.25) / 0.25);
    assert.equal(s.snapshot().events.total, 5);
  });

  it('attributes offer responses to the decision they name', () => {
    const s = new CampaignStatsAggregator();
    s.addDecision(decision('d1', 'x', 'offer'));
    s.addEvent({ ...purchase('r1', 'x', T0 + 1000), type: 'offer_response', payload: { decisionId: 'd1', response: 'redeemed' } });
    assert.deepEqual(s.snapshot().campaigns[0].responses, { accepted: 0, redeemed: 1, dismissed: 0 });
    assert.equal(s.snapshot().campaigns[0].lift, null);
  });
});
