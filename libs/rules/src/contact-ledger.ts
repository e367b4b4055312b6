import { addDays } from '@nunchi/context-model';
import type { CustomerUsage } from './decision.types.js';

/**
 * The contact ledger: what a customer was offered (and held out of), as the caps and the contact policy
 * count it. Pure and shared: the decision service reads it once per event that has candidates and claims in
 * it before an offer goes out (the repository stores it, one row per customer, replaced by a lightweight
 * transaction on `seq`); simulation on history (simulate.ts) keeps one per customer in memory. Both count
 * caps with the same usageOf.
 *
 *   claims:   '<decision id>/<campaign id>' → '<local day> <channel> <offer|control>'
 *   lifetime: campaign id → offers and control decisions ever
 *
 * Control decisions of a capped campaign count towards its caps (the control group is capped exactly
 * like the treatment group, else lift compares unlike groups), but not towards the contact policy
 * (nothing was sent).
 */

/** local days of claims kept: today's counts need one; a redelivered decision finds its own claim for a week */
export const CLAIM_DAYS = 8;

export type ContactOutcome = 'offer' | 'control';

/** One customer's ledger, as stored (customer_contacts) and as simulation keeps it. Never mutated. */
export interface ContactLedger {
  /** version for optimistic concurrency; 0 when the customer has no row yet */
  seq: number;
  /** '<decision id>/<campaign id>' → '<local day> <channel> <offer|control>' */
  claims: Record<string, string>;
  /** campaign id → offers and control decisions ever */
  lifetime: Record<string, number>;
}

export interface ContactClaim {
  decisionId: string;
  campaignId: string;
  /** local day (business time zone) of the decision, YYYY-MM-DD */
  day: string;
  channel: string;
  outcome: ContactOutcome;
}

/** never mutated: every change makes a new ledger */
export const EMPTY_LEDGER: ContactLedger = Object.freeze({ seq: 0, claims: {}, lifetime: {} });

const keyOf = (decisionId: string, campaignId: string) => `${decisionId}/${campaignId}`;

function parse(key: string, value: string): ContactClaim | undefined {
  const slash = key.indexOf('/');
  const [day, channel, outcome] = value.split(' ');
  if (slash < 0 || !day || !channel || (outcome !== 'offer' && outcome !== 'control')) return undefined;
  return { decisionId: key.slice(0, slash), campaignId: key.slice(slash + 1), day, channel, outcome };
}

export function claimsOf(ledger: ContactLedger): ContactClaim[] {
  const out: ContactClaim[] = [];
  for (const [key, value] of Object.entries(ledger.claims)) {
    const claim = parse(key, value);
    if (claim) out.push(claim);
  }
  return out;
}

/** Claims an earlier attempt of this decision made (a redelivery after a crash). */
export function ownClaims(ledger: ContactLedger, decisionId: string): ContactClaim[] {
  return claimsOf(ledger).filter((c) => c.decisionId === decisionId);
}

/**
 * What the engine needs to apply caps and the contact policy. `excludeDecisionId` leaves out that
 * decision's own earlier claims, so that a redelivered decision is not capped by itself.
 */
export function usageOf(ledger: ContactLedger, today: string, excludeDecisionId?: string): CustomerUsage {
  const usage: CustomerUsage = {
    offersToday: 0,
    byCampaignToday: {},
    byCampaignLifetime: campaignCounts(ledger.lifetime),
    byChannelToday: {},
  };
  for (const c of claimsOf(ledger)) {
    if (c.decisionId === excludeDecisionId) {
      usage.byCampaignLifetime[c.campaignId] = Math.max(0, (usage.byCampaignLifetime[c.campaignId] ?? 0) - 1);
      continue;
    }
    if (c.day !== today) continue;
    if (c.outcome === 'offer') usage.offersToday++;
    usage.byCampaignToday[c.campaignId] = (usage.byCampaignToday[c.campaignId] ?? 0) + 1;
    const byChannel = (usage.byChannelToday[c.campaignId] ??= {});
    byChannel[c.channel] = (byChannel[c.channel] ?? 0) + 1;
  }
  return usage;
}

/** Lifetime counts per campaign, without the markers of merged customers (withMergedLedger). */
function campaignCounts(lifetime: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key in lifetime) if (!key.startsWith(MERGED_PREFIX)) out[key] = lifetime[key];
  return out;
}

export function hasClaim(ledger: ContactLedger, decisionId: string, campaignId: string): boolean {
  return keyOf(decisionId, campaignId) in ledger.claims;
}

/** The ledger with the claim added (unchanged counts if it is already there), old days pruned, seq moved on. */
export function withClaim(ledger: ContactLedger, claim: ContactClaim, today: string): ContactLedger {
  const key = keyOf(claim.decisionId, claim.campaignId);
  const claims = pruned(ledger.claims, today);
  const lifetime = { ...ledger.lifetime };
  if (!(key in ledger.claims)) lifetime[claim.campaignId] = (lifetime[claim.campaignId] ?? 0) + 1;
  claims[key] = `${claim.day} ${claim.channel} ${claim.outcome}`;
  return { seq: ledger.seq + 1, claims, lifetime };
}

/** The ledger without the decision's claim on the campaign (an offer that was not made after all). */
export function withoutClaim(
  ledger: ContactLedger,
  decisionId: string,
  campaignId: string,
  today: string,
): ContactLedger {
  const key = keyOf(decisionId, campaignId);
  const claims = pruned(ledger.claims, today);
  const lifetime = { ...ledger.lifetime };
  if (key in ledger.claims) {
    delete claims[key];
    const left = (lifetime[campaignId] ?? 0) - 1;
    if (left > 0) lifetime[campaignId] = left;
    else delete lifetime[campaignId];
  }
  return { seq: ledger.seq + 1, claims, lifetime };
}

function pruned(claims: Record<string, string>, today: string): Record<string, string> {
  const oldest = addDays(today, -(CLAIM_DAYS - 1));
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(claims)) {
    // Days are YYYY-MM-DD: text order is date order.
    if (value.slice(0, 10) >= oldest) out[key] = value;
  }
  return out;
}

/** The lifetime key that marks a ledger as holding the absorbed customer's (never a campaign id: ':' is not a token character). */
const MERGED_PREFIX = 'merged:';
const mergedMarker = (absorbedId: string) => `${MERGED_PREFIX}${absorbedId}`;

/**
 * The survivor's ledger with the absorbed customer's counted in (docs/identity.md): the claims of both (each
 * decision's claim once) and lifetime counts summed per campaign, so that caps count the two as one customer
 * from here on. Idempotent: a marker in `lifetime` records the merge, and a ledger that has it is returned
 * unchanged (a merge redone after a crash does not count the absorbed customer twice).
 */
export function withMergedLedger(
  survivor: ContactLedger,
  absorbed: ContactLedger,
  absorbedId: string,
  today: string,
): ContactLedger {
  const marker = mergedMarker(absorbedId);
  if (marker in survivor.lifetime) return survivor;
  const claims = { ...pruned(absorbed.claims, today), ...pruned(survivor.claims, today) };
  const lifetime = { ...survivor.lifetime };
  for (const [campaignId, n] of Object.entries(absorbed.lifetime))
    if (!campaignId.startsWith(MERGED_PREFIX)) lifetime[campaignId] = (lifetime[campaignId] ?? 0) + n;
  lifetime[marker] = 1;
  return { seq: survivor.seq + 1, claims, lifetime };
}

/** Whether the survivor's ledger already counts the absorbed customer's (withMergedLedger). */
export function hasMerged(ledger: ContactLedger, absorbedId: string): boolean {
  return mergedMarker(absorbedId) in ledger.lifetime;
}

/**
 * The survivor's ledger without the absorbed customer's (an unlink: docs/identity.md): the absorbed ledger's
 * claims removed and its lifetime counts subtracted, as withMergedLedger added them. Unchanged (the same
 * object) when the survivor's ledger does not count the absorbed customer's, so an unlink redone subtracts once.
 */
export function withoutMergedLedger(
  survivor: ContactLedger,
  absorbed: ContactLedger,
  absorbedId: string,
): ContactLedger {
  const marker = mergedMarker(absorbedId);
  if (!(marker in survivor.lifetime)) return survivor;
  const claims = { ...survivor.claims };
  for (const key of Object.keys(absorbed.claims)) delete claims[key];
  const lifetime = { ...survivor.lifetime };
  delete lifetime[marker];
  for (const [campaignId, n] of Object.entries(absorbed.lifetime)) {
    if (campaignId.startsWith(MERGED_PREFIX)) continue;
    const left = (lifetime[campaignId] ?? 0) - n;
    if (left > 0) lifetime[campaignId] = left;
    else delete lifetime[campaignId];
  }
  return { seq: survivor.seq + 1, claims, lifetime };
}
