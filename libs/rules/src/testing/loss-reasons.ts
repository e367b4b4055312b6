import type { CandidateLoss } from '@nunchi/contracts/core';

/** Every loss reason of the contract, in its declared order; the Record makes the compiler hold the list complete. */
const REASONS: Record<CandidateLoss['reason'], true> = {
  not_triggered: true,
  outside_schedule: true,
  audience: true,
  condition: true,
  offer_ineligible: true,
  no_eligible_offer: true,
  cap: true,
  contact_policy: true,
  budget: true,
  holdout: true,
  lower_rank: true,
  pattern: true,
  error: true,
};
export const CONTRACT_LOSS_REASONS = Object.keys(REASONS) as Array<CandidateLoss['reason']>;
