import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DecisionRecord } from '@nunchi/contracts/core';
import { offerResponseProblem } from './offer-responses.js';

const offer = { customerId: 'c-1', outcome: 'offer', campaignId: 'beer' } as DecisionRecord;

describe('offerResponseProblem: a response answers an offer made to this customer', () => {
  it('accepts a response to an offer of this customer, with or without the campaign named', () => {
    assert.equal(offerResponseProblem({ decisionId: 'd1', response: 'dismissed' }, 'c-1', offer), undefined);
    assert.equal(
      offerResponseProblem({ decisionId: 'd1', response: 'accepted', campaignId: 'beer' }, 'c-1', offer),
      undefined,
    );
  });

  it('refuses an unknown decision and another customer’s decision alike, by path', () => {
    const unknown = offerResponseProblem({ decisionId: 'd9', response: 'accepted' }, 'c-1', undefined);
    const other = offerResponseProblem({ decisionId: 'd1', response: 'accepted' }, 'c-2', offer);
    assert.deepEqual(unknown, {
      path: 'payload.decisionId',
      message: 'no decision d9 was made for this customer',
    });
    assert.deepEqual(other, {
      path: 'payload.decisionId',
      message: 'no decision d1 was made for this customer',
    });
  });

  it('refuses a decision that made no offer, and a campaign the decision is not of', () => {
    const control = { ...offer, outcome: 'control' } as DecisionRecord;
    assert.match(
      offerResponseProblem({ decisionId: 'd1', response: 'redeemed' }, 'c-1', control)!.message,
      /made no offer \(outcome control\)/,
    );
    assert.deepEqual(
      offerResponseProblem({ decisionId: 'd1', response: 'redeemed', campaignId: 'cola' }, 'c-1', offer),
      {
        path: 'payload.campaignId',
        message: 'decision d1 is of campaign beer, not cola',
      },
    );
  });
});
