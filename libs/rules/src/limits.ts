import type { CandidateLoss } from '@nunchi/contracts/core';
import type { Candidate } from './decision.types.js';

/** A campaign's running budget totals. */
export interface BudgetUsed {
  /** offers claimed so far */
  offers: number;
  /** cost claimed so far, major currency unit */
  cost: number;
}

/** Does the candidate's campaign set any cap? (An uncapped campaign's control decisions claim nothing.) */
export function hasCaps(c: Candidate): boolean {
  return (
    c.caps.perCustomerPerDay !== undefined ||
    c.caps.perCustomerLifetime !== undefined ||
    c.caps.perChannelPerDay !== undefined
  );
}

/** Does the candidate's campaign have a budget to claim from? */
export function hasBudget(c: Candidate): boolean {
  return c.budget.maxOffers !== undefined || c.budget.maxCost !== undefined;
}

/** Would one more offer of this candidate fit in its campaign's budget, given what is used? */
export function fitsBudget(c: Candidate, used: BudgetUsed): boolean {
  return (
    (c.budget.maxOffers === undefined || used.offers + 1 <= c.budget.maxOffers) &&
    (c.budget.maxCost === undefined || used.cost + c.offer.cost <= c.budget.maxCost)
  );
}

/** The candidate lost because its campaign's budget is used up (live and simulation say it alike). */
export function budgetLoss(c: Candidate): CandidateLoss {
  return {
    campaignId: c.campaignId,
    campaignVersion: c.campaignVersion,
    offerId: c.offer.id,
    reason: 'budget',
    detail: budgetDetail(c),
  };
}

/** The detail of a `budget` loss. */
function budgetDetail(c: Candidate): string {
  const limits = [
    c.budget.maxOffers !== undefined ? `maxOffers ${c.budget.maxOffers}` : '',
    c.budget.maxCost !== undefined ? `maxCost ${c.budget.maxCost}` : '',
  ].filter(Boolean);
  return `${limits.join(', ')} used up`;
}
