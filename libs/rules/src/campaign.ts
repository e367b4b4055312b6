import { EVENT_TYPES } from '@nunchi/contracts/core';
import { ABSENCE_EVENT_TYPE, type PatternDefinition } from './patterns/pattern.js';

/**
 * The campaign format: one YAML file per campaign. docs/campaigns.md explains each field;
 * docs/schemas/campaign.schema.json is the published JSON Schema (generated from campaign.schema.ts).
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const CAMPAIGN_STATES = ['active', 'paused', 'ended'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

/**
 * Campaigns can be triggered by every event type of the contract, and by the synthetic event an absence
 * pattern's timer fires (docs/patterns.md).
 */
export const TRIGGER_EVENT_TYPES = [...EVENT_TYPES, ABSENCE_EVENT_TYPE] as const;
export type TriggerEventType = (typeof TRIGGER_EVENT_TYPES)[number];

export interface CampaignTrigger {
  /** event types that can fire the campaign; at least one */
  types: TriggerEventType[];
  /** channels that can fire it; absent = every channel */
  channels?: string[];
  /** store ids that can fire it; absent = every store, and events without a store */
  stores?: string[];
}

export interface CampaignSchedule {
  /** first local day, inclusive, 'YYYY-MM-DD' */
  from?: string;
  /** last local day, inclusive, 'YYYY-MM-DD' */
  to?: string;
  /** local weekdays on which the campaign runs; absent = every day */
  weekdays?: Weekday[];
  /**
   * local time windows 'HH:MM-HH:MM', start inclusive, end exclusive; several separated by commas.
   * A window whose end is before its start runs over midnight. Absent = all day.
   */
  hours?: string;
  /**
   * IANA time zone of the dates, weekdays, hours and of the CEL variable `now`. A file may leave it out
   * (or leave out `schedule` altogether: always): parseCampaign fills in the business time zone.
   */
  timezone: string;
}

export interface OfferDefinition {
  id: string;
  title: string;
  /** what the offer is worth to the customer, major currency unit (KRW) */
  value: number;
  /** what the offer costs the retailer, major currency unit; @default value */
  cost?: number;
  /** estimated probability (0..1) that the customer takes the offer; @default 1 */
  propensity?: number;
  /** CEL: extra eligibility of this alternative; absent = always */
  when?: string;
}

export interface CampaignCaps {
  /** offers of this campaign to one customer per local day (campaign timezone) */
  perCustomerPerDay?: number;
  /** offers of this campaign to one customer, ever */
  perCustomerLifetime?: number;
  /** offers of this campaign to one customer on one channel per local day */
  perChannelPerDay?: number;
  /**
   * local days without an offer of this campaign after the customer dismissed one (offer_response
   * `dismissed`), the day of the dismissal included: 7 → the dismissal day and the six after
   */
  suppressAfterDismissDays?: number;
}

export interface CampaignBudget {
  /** total offers the campaign may make */
  maxOffers?: number;
  /** total cost (Σ offer cost) the campaign may commit, major currency unit */
  maxCost?: number;
}

export interface CampaignDefinition {
  /** stable id, a subject token: [A-Za-z0-9_-]{1,64} */
  id: string;
  name: string;
  description?: string;
  /** assigned by the campaign store on apply; a file may omit it */
  version?: number;
  trigger: CampaignTrigger;
  /** CEL over customer/ctx/event/now: who may get the campaign; @default "true" */
  audience?: string;
  /** CEL: what the triggering event must look like; @default "true" */
  condition?: string;
  /**
   * what the customer's events over time must show besides this event: a sequence, an absence, a threshold
   * crossed or the n-th event in a sliding window (docs/patterns.md); absent = none
   */
  pattern?: PatternDefinition;
  /** when the campaign runs; absent in a file = always, in the business time zone (filled in by parseCampaign) */
  schedule: CampaignSchedule;
  /** alternatives, in order of preference: the first eligible one is offered */
  offers: OfferDefinition[];
  caps?: CampaignCaps;
  budget?: CampaignBudget;
  /** share of the audience (0-100) kept as control group: decided but not offered; @default 0 */
  holdoutPercent?: number;
  /** analytics: purchases up to this many days after a decision are its conversions, 1-30; @default 7 */
  attributionWindowDays?: number;
  /** higher wins arbitration; @default 0 */
  priority?: number;
  /** only active campaigns are evaluated; @default 'active' */
  state?: CampaignState;
}
