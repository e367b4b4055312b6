import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTRACT_LOSS_REASONS } from './testing/loss-reasons.js';
import { explain, lossLine } from './explain.js';
import { explainRecord } from './explain-record.js';
import type { Evaluation } from './decision.types.js';
import type { CandidateLoss, DecisionRecord } from '@nunchi/contracts/core';

const losses: CandidateLoss[] = CONTRACT_LOSS_REASONS.map((reason, i) => ({
  campaignId: `c${i}`,
  campaignVersion: 2,
  ...(reason === 'offer_ineligible' || reason === 'budget' ? { offerId: 'o' } : {}),
  reason,
  detail: `why ${reason}`,
}));

void describe('one vocabulary of loss reasons', () => {
  void it('campaigns test (explain) and decisions explain (explainRecord) print the same line per loss, with the contract reason', () => {
    const evaluation = {
      candidates: [],
      losses,
      considered: losses.length,
      campaignVersions: {},
    } as unknown as Evaluation;
    const record = {
      decisionId: 'd-1',
      eventId: 'e-1',
      customerId: 'c',
      channel: 'pos',
      outcome: 'none',
      decidedAt: '2026-11-24T10:00:00Z',
      latencyMs: 1,
      traceId: '',
      campaignVersions: {},
      losses,
    } as DecisionRecord;
    const fromTest = explain(evaluation).filter((l) => l.startsWith('  - '));
    const fromRecord = explainRecord(record).filter((l) => l.startsWith('  - '));
    assert.deepEqual(fromTest, fromRecord);
    assert.deepEqual(fromTest, losses.map(lossLine));
    for (const [i, reason] of CONTRACT_LOSS_REASONS.entries())
      assert.ok(fromTest[i].includes(`: ${reason} — why ${reason}`), fromTest[i]);
    assert.equal(fromTest[1], '  - c1 v2: outside_schedule — why outside_schedule');
    assert.equal(fromTest[4], '  - c4 v2 offer o: offer_ineligible — why offer_ineligible');
  });
});
