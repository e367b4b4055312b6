import { IsOptional, IsString, Matches } from 'class-validator';
import type { AcceptedEvent } from './events.js';
import type { KeyedContextPart, OmittableContextPart } from './context-parts.js';
import type { SealedField } from './sealed.js';
import { SUBJECT_TOKEN } from './subjects.js';

/** A customer's profile, as imported (NDJSON) or changed by profile_update events. */
export interface CustomerProfile {
  id: string;
  /** years */
  age?: number;
  /** 'M' | 'F' | 'X' */
  gender?: string;
  region?: string;
  creditTier?: string;
  marketingConsent?: boolean;
  /** consent per channel; a channel absent here follows marketingConsent (the contact policy reads both) */
  channelConsent?: Record<string, boolean>;
  attributes: Record<string, string>;
}

/**
 * What an erasure removed: returned by DELETE /v1/customers/:id and `nunchi customers erase`, and kept with
 * the customer's tombstone (`erased_customers`).
 */
export interface ErasureReceipt {
  customerId: string;
  /** ISO-8601 instant of the first erasure (a repeat keeps it) */
  erasedAt: string;
  /** true when the customer had been erased before: this run removed whatever had arrived since */
  alreadyErased: boolean;
  /** rows removed, per Cassandra table */
  removed: Record<string, number>;
  /** the customers merged into this one (docs/identity.md), erased with it: one receipt each */
  merged?: ErasureReceipt[];
  /** every store of personal data and what the erasure did there (absent in receipts kept before it was listed) */
  stores?: ErasureStore[];
}

/** One store of personal data in an erasure receipt. */
export interface ErasureStore {
  store: string;
  /** false: the store still holds the customer's data for the reason in `detail` */
  erased: boolean;
  detail: string;
}

/** What an unlink gave back to the absorbed customer (docs/identity.md, "Unlinking"). */
export interface UnlinkReceipt {
  absorbedId: string;
  survivorId: string;
  /** events taken out of the survivor's history */
  events: number;
  /** the survivor's local days rebuilt without them */
  days: number;
  /** identifiers that name the absorbed customer again */
  identities: number;
  /** decision records that name the absorbed customer again */
  decisions: number;
}

/** Totals over one window. Money in the currency's major unit (KRW); counts are plain counts. */
export interface WindowTotals {
  /** sum of purchase amounts */
  spend: number;
  /** number of purchase events */
  purchases: number;
  /** store-visit days: distinct (local day, store) pairs with a visit or purchase event */
  visits: number;
  /** sum of purchased item quantities */
  items: number;
  /** number of events of any type */
  events: number;
}

/** Rolling windows ending today (local day in the business timezone, today included). */
export interface Windows {
  d7: WindowTotals;
  d30: WindowTotals;
  d90: WindowTotals;
  d365: WindowTotals;
}

export interface RecentEvent {
  id: string;
  type: string;
  channel: string;
  /** as sent, ISO-8601 with offset */
  occurredAt: string;
  /** epoch milliseconds of occurredAt (always set by the context service) */
  occurredAtMs?: number;
  storeId?: string;
  /** purchases only, major currency unit */
  amount?: number;
}

/**
 * What a decision knows about a customer besides the profile. Pure function of (history, now):
 * libs/context-model computes it, live and in simulation alike. docs/context-model.md documents each field
 * with its unit (docs/cel-reference.md for campaign authors).
 */
/** A customer's answers to one campaign's offers (offer_response events). */
export interface OfferResponses {
  /** responses over the last 30 local days, today included */
  accepted: number;
  redeemed: number;
  dismissed: number;
  /** local calendar days since the latest dismissal (0 = today); -1 when none in 365 days */
  daysSinceDismissed: number;
}

export interface ContextSnapshot {
  customerId: string;
  /** ISO-8601 UTC instant the snapshot describes; "today" is its local day in the business time zone */
  asOf: string;
  all: Windows;
  /** windows at the store of the current event (zeros when the event has no store) */
  thisStore: Windows;
  store: Record<string, Windows>;
  category: Record<string, Windows>;
  channel: Record<string, Windows>;
  /** local calendar days since the last store-visit day / purchase day (0 = today); -1 when none in 365 days */
  daysSinceLastVisit: number;
  daysSinceLastPurchase: number;
  /** recency, frequency and monetary scores 1 (low) to 5 (high) over 365 days, all 0 when no purchase */
  rfm: { r: number; f: number; m: number };
  /** store id / category with the highest 365-day spend (ties: first in code-point order), "" when none */
  favouriteStore: string;
  favouriteCategory: string;
  /** newest first, at most 20 */
  recent: RecentEvent[];
  /** by campaign id, every campaign whose offers the customer answered in the last 365 days */
  responses: Record<string, OfferResponses>;
  /**
   * parts left out of this snapshot (on ENRICHED) because no campaign active at context when it was made
   * reads them (campaign-set contextPartsRead); empty there, and reading one is an error, never a zero.
   * Absent: everything is here.
   */
  omitted?: OmittableContextPart[];
  /**
   * maps carried only for some keys, because the campaigns active at context read them only by name
   * (`ctx.category.beer`, `ctx.store['s1']`; CampaignSet.contextKeysRead): the keys carried, each with its
   * entry when the customer has one. Reading another key of such a map, its size or its keys is an error,
   * never a zero. Absent: every map carried is whole.
   */
  carriedKeys?: Partial<Record<KeyedContextPart, string[]>>;
}

/** An accepted event with the context it is decided on: an ENRICHED message once opened (EnrichedMessage). */
export interface EnrichedEvent {
  event: AcceptedEvent;
  customer: CustomerProfile | null;
  ctx: ContextSnapshot;
  /**
   * campaign ids whose stateful event pattern (sequence, count: docs/patterns.md) this event completed, as
   * the context fold found; absent when none (or no campaign has such a pattern)
   */
  patterns?: string[];
}

/**
 * The message on ENRICHED, as published: what routing and diagnosis need in clear — the event's id, type,
 * channel, customer id, times, store and session — and its personal part sealed under the customer's data key
 * (crypto-shredding, docs/security.md "Per-customer keys"), so that erasing the customer makes every copy
 * unreadable. Messages published before sealing (`customer` and `ctx` in clear, no `personal`) are still read.
 */
export interface EnrichedMessage {
  /** the accepted event without its payload (which is sealed) */
  event: Omit<AcceptedEvent, 'payload'> & { payload?: AcceptedEvent['payload'] };
  /** opens to EnrichedPersonal */
  personal?: SealedField;
  /** @deprecated a message published before sealing: in clear */
  customer?: CustomerProfile | null;
  /** @deprecated a message published before sealing: in clear */
  ctx?: ContextSnapshot;
  patterns?: string[];
}

/** The sealed part of an ENRICHED message. */
export interface EnrichedPersonal {
  payload: AcceptedEvent['payload'];
  customer: CustomerProfile | null;
  ctx: ContextSnapshot;
}

/** Request body of the context RPC (Subjects.contextGet); the reply is `{ ok: true, ...ContextView }`. */
export class ContextRequestDto {
  @IsString()
  @Matches(SUBJECT_TOKEN, { message: 'customerId must be 1-64 of [A-Za-z0-9_-]' })
  customerId!: string;

  /** a store id: the context then includes the customer's record at that store */
  @IsOptional()
  @IsString()
  @Matches(SUBJECT_TOKEN, { message: 'storeId must be 1-64 of [A-Za-z0-9_-]' })
  storeId?: string;
}
