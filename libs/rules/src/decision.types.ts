import type { AcceptedEvent, ContextSnapshot, CustomerProfile } from '@nunchi/contracts';
import type { CandidateLoss } from '@nunchi/contracts/core';
import type { CampaignBudget, CampaignCaps } from './campaign.js';

/** What the customer has already received, as the decision service read it (counts of offers made). */
export interface CustomerUsage {
  /** offers of any campaign to this customer today (local day of the business time zone) */
  offersToday: number;
  /** campaign id → offers today */
  byCampaignToday: Record<string, number>;
  /** campaign id → offers ever */
  byCampaignLifetime: Record<string, number>;
  /** campaign id → channel → offers today */
  byChannelToday: Record<string, Record<string, number>>;
}

export const NO_USAGE: CustomerUsage = Object.freeze({
  offersToday: 0,
  byCampaignToday: Object.freeze({}),
  byCampaignLifetime: Object.freeze({}),
  byChannelToday: Object.freeze({}),
});

export interface DecisionInput {
  event: AcceptedEvent;
  /** null when the customer has no profile: rules then see defaults (docs/cel-reference.md) */
  customer: CustomerProfile | null;
  ctx: ContextSnapshot;
  /** the decision instant, epoch milliseconds (the engine reads no clock) */
  nowMs: number;
  usage: CustomerUsage;
  /**
   * campaign ids whose stateful pattern (sequence, count; absence for the synthetic event) this event
   * completed, as the context fold found (foldPatterns); absent = none. Threshold patterns need no state:
   * the engine checks them on `ctx`.
   */
  patterns?: readonly string[];
}

/** An eligible campaign with the offer it would make. */
export interface Candidate {
  campaignId: string;
  campaignVersion: number;
  offer: {
    id: string;
    title: string;
    /** worth to the customer, major currency unit */
    value: number;
    /** cost to the retailer, major currency unit (the file's cost, else value) */
    cost: number;
  };
  priority: number;
  /** offer.value × offer propensity (propensity defaults to 1) */
  expectedValue: number;
  /** the customer is in this campaign's control group: if it wins, record `control` and send nothing */
  holdout: boolean;
  /** passed through: the decision service enforces budgets at reservation */
  budget: CampaignBudget;
  /** passed through: the service enforces caps atomically; the engine already filtered on usage */
  caps: CampaignCaps;
  /** the values the campaign's expressions saw, path → value, for explanations */
  inputs: Record<string, unknown>;
}

export interface Evaluation {
  /** eligible campaigns, best first (priority desc, expected value desc, campaign id asc) */
  candidates: Candidate[];
  /** campaigns considered that are not candidates, and skipped offers of candidates */
  losses: CandidateLoss[];
  /** campaigns the event was evaluated against (after the trigger/guard index) */
  considered: number;
  /** campaign id → version of every considered campaign */
  campaignVersions: Record<string, number>;
}

export interface EvaluateOptions {
  /**
   * Consider every active campaign of the set, bypassing the index: campaigns the event does not
   * trigger get a `not_triggered` loss, and guard-pruned ones are evaluated so their losses say why.
   * For tools (`nunchi campaigns test`, `decisions explain`), not for the hot path.
   */
  exhaustive?: boolean;
}
