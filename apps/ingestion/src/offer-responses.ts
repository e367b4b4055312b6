import type { DecisionRecord, ProblemDetail } from '@nunchi/contracts/core';

/** What an offer_response says, as validated (OfferResponsePayloadDto). */
export interface OfferResponsePayload {
  decisionId: string;
  response: 'accepted' | 'redeemed' | 'dismissed';
  campaignId?: string;
}

/**
 * Why a response cannot be accepted, or undefined when it can: it must answer an offer this customer was
 * made — a stored decision of theirs whose outcome is `offer` — and may name only that decision's campaign.
 * Details never name another customer.
 */
export function offerResponseProblem(
  payload: OfferResponsePayload,
  customerId: string,
  decision: DecisionRecord | undefined,
): ProblemDetail | undefined {
  if (!decision || decision.customerId !== customerId)
    return {
      path: 'payload.decisionId',
      message: `no decision ${payload.decisionId} was made for this customer`,
    };
  if (decision.outcome !== 'offer' || !decision.campaignId)
    return {
      path: 'payload.decisionId',
      message: `decision ${payload.decisionId} made no offer (outcome ${decision.outcome}); only an offer can be answered`,
    };
  if (payload.campaignId !== undefined && payload.campaignId !== decision.campaignId)
    return {
      path: 'payload.campaignId',
      message: `decision ${payload.decisionId} is of campaign ${decision.campaignId}, not ${payload.campaignId}`,
    };
  return undefined;
}
