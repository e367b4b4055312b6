import { createHash } from 'node:crypto';
import { eventKey, type EventRef } from './event-names.js';
import type { SealedField } from './sealed.js';

/** What adapters receive on mkt.offers.<channel>.<storeId>. */
export interface OfferMessage {
  decisionId: string;
  eventId: string;
  customerId: string;
  campaignId: string;
  campaignVersion: number;
  offerId: string;
  title: string;
  /** the offer's value to the customer, major currency unit */
  value: number;
  /** ISO-8601 */
  decidedAt: string;
  /** milliseconds from ingestion's receipt of the event to the decision */
  latencyMs: number;
  traceId: string;
}

export type DecisionOutcome = 'offer' | 'control' | 'none' | 'late';

/** Why a candidate campaign or offer did not win. */
export interface CandidateLoss {
  campaignId: string;
  campaignVersion: number;
  offerId?: string;
  reason:
    | 'not_triggered'
    | 'outside_schedule'
    | 'audience'
    | 'condition'
    | 'offer_ineligible'
    | 'no_eligible_offer'
    | 'cap'
    | 'contact_policy'
    | 'budget'
    | 'holdout'
    | 'lower_rank'
    | 'pattern'
    | 'error';
  /**
   * why, in words, with the values the rule read ("audience false: customer.age=20"): personal, so on DECISIONS
   * and in decisions_by_id only sealed (`DecisionRecord.sealedLossDetails`) once the customer has a data key
   */
  detail?: string;
}

/** One decision per (event, winning campaign or none): the record on DECISIONS and in Cassandra. */
export interface DecisionRecord {
  /** deterministic: derived from the event id, so a redelivered event makes the same decision id */
  decisionId: string;
  eventId: string;
  customerId: string;
  channel: string;
  storeId?: string;
  /** the event's web or app session: the offer went to mkt.offers.<channel>.session.<sessionId> */
  sessionId?: string;
  outcome: DecisionOutcome;
  campaignId?: string;
  campaignVersion?: number;
  offerId?: string;
  title?: string;
  value?: number;
  /** what the offer costs the retailer, major currency unit */
  cost?: number;
  /** ISO-8601 */
  decidedAt: string;
  /** milliseconds from ingestion receipt to decision */
  latencyMs: number;
  traceId: string;
  /** campaign id → version of every campaign active for this decision */
  campaignVersions: Record<string, number>;
  losses: CandidateLoss[];
  /**
   * values the winning rule saw, for the explanation: personal data (the customer's age, region…), so on
   * DECISIONS and in decisions_by_id only sealed (`sealedInputs`); set when a reader with the key opened them
   * (GET /v1/decisions/:id, `nunchi decisions explain`, the console). Records from before sealing hold them here.
   */
  inputs?: Record<string, unknown>;
  /** `inputs` sealed under the customer's data key (crypto-shredding, docs/security.md "Per-customer keys") */
  sealedInputs?: SealedField;
  /**
   * the losses' `detail`s, sealed like `inputs`: opens to an array by index into `losses` (null where a loss has
   * none); the stored losses then carry none in clear. A reader with the key puts them back.
   */
  sealedLossDetails?: SealedField;
  /**
   * why a record with sealed inputs (and loss details) shows none: `erased` — the customer was erased, the key
   * is gone; `sealed` — this reader holds no identity key to open them
   */
  inputsUnavailable?: 'erased' | 'sealed';
}

/**
 * Deterministic: a redelivered event yields the same decision id. Derived from the event's key (its channel
 * and id, eventKey), so two adapters' events with the same id are two decisions.
 */
export const decisionIdOf = (event: EventRef): string => decisionIdOfKey(eventKey(event));

/** The decision id of an event key as stored (customer_events.event_id; rows from before keys: a bare id). */
export const decisionIdOfKey = (key: string): string =>
  `d-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;

/**
 * A decision's losses with their details in clear and the details apart, for sealing (`sealedLossDetails`):
 * `details` is undefined when no loss has one (nothing to seal).
 */
export function splitLossDetails(losses: readonly CandidateLoss[]): {
  losses: CandidateLoss[];
  details?: (string | null)[];
} {
  if (!losses.some((l) => l.detail !== undefined)) return { losses: [...losses] };
  return {
    losses: losses.map(({ detail: _detail, ...rest }) => rest),
    details: losses.map((l) => l.detail ?? null),
  };
}

/** The losses with the details `splitLossDetails` took apart put back (by index; null: none). */
export function withLossDetails(
  losses: readonly CandidateLoss[],
  details: readonly (string | null)[],
): CandidateLoss[] {
  return losses.map((l, i) => {
    const detail = details[i];
    return detail === null || detail === undefined ? l : { ...l, detail };
  });
}
