import { Inject, Injectable } from '@nestjs/common';
import type { StoredContacts } from '@nunchi/cassandra';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import type { CandidateLoss, DecisionOutcome } from '@nunchi/contracts/core';
import type { EnrichedEvent } from '@nunchi/contracts';
import {
  budgetLoss,
  hasCaps,
  hasClaim,
  lowerRankLosses,
  NO_USAGE,
  ownClaims,
  usageOf,
  type CampaignSet,
  type Candidate,
  type Evaluation,
} from '@nunchi/rules';
import { meter } from '@nunchi/telemetry';
import { BudgetClaims } from './budget-claims.js';
import { ContactClaims } from './contact-claims.js';

/** decisions again after a contact-ledger conflict before giving up (and retrying the message) */
const MAX_ATTEMPTS = 10;

export interface Choice {
  evaluation: Evaluation;
  outcome: DecisionOutcome;
  winner?: Candidate;
  losses: CandidateLoss[];
}

export interface ChooseInput {
  enriched: EnrichedEvent;
  /** the one set of versions the whole decision is made against */
  set: CampaignSet;
  decisionId: string;
  /** epoch ms at which ingestion received the event: the start of the deadline */
  receivedAtMs: number;
  /** local day (business time zone) of the event's occurredAt: the day the caps count in */
  today: string;
}

interface Deciding extends ChooseInput {
  /** campaign id → whether this attempt claimed its budget ('now') or found an earlier attempt's claim */
  budgets: Map<string, 'now' | 'earlier'>;
}

/** How one walk over the candidates ended: a choice, or a conflict that needs a fresh ledger. */
type Walk =
  { kind: 'chosen'; choice: Choice } | { kind: 'again'; ledger: StoredContacts; includeOwn: boolean };

/**
 * Chooses what to do with one event: evaluate, then walk the candidates best first (holdout → control;
 * deadline → late; budget and contact slot claimed, each exactly once per decision id). What it claims
 * and does not use, it gives back. Safe to run again for the same decision id (a redelivery): earlier
 * claims are found and reused, never counted twice.
 */
@Injectable()
export class OfferChooser {
  private readonly conflicts = meter().createCounter('nunchi_contact_claim_conflicts_total', {
    description:
      'contact-ledger claims that lost a race with another decision of the same customer and were decided again',
  });

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly contacts: ContactClaims,
    private readonly budgets: BudgetClaims,
  ) {}

  choose(input: ChooseInput): Promise<Choice> {
    return this.decide({ ...input, budgets: new Map() });
  }

  /**
   * An event already past its deadline when it arrives: `late` for the candidate that would have been tried
   * first (held-out customers too: nobody was contacted), judged on the rules alone — no ledger read (so
   * caps are not applied: the record names what the rules chose, not what the caps would have left) and
   * nothing claimed. Candidates: none → `none`.
   */
  lateOnArrival(input: ChooseInput): Choice {
    const { event, customer, ctx, patterns } = input.enriched;
    const evaluation = input.set.evaluate({
      event,
      customer,
      ctx,
      nowMs: event.occurredAtMs,
      usage: NO_USAGE,
      patterns,
    });
    if (evaluation.candidates.length === 0) return { evaluation, outcome: 'none', losses: evaluation.losses };
    return {
      evaluation,
      outcome: 'late',
      winner: evaluation.candidates[0],
      losses: [...evaluation.losses, ...lowerRankLosses(evaluation, 0)],
    };
  }

  private async decide(d: Deciding): Promise<Choice> {
    const { event, customer, ctx, patterns } = d.enriched;
    // rules see the moment the customer acted, and the patterns the context fold found it completed
    const base = { event, customer, ctx, nowMs: event.occurredAtMs, patterns };
    // What the customer already received can only take candidates away: with none eligible on no usage at
    // all, none is eligible on the real usage either, and the ledger need not be read (most events).
    const optimistic = d.set.evaluate({ ...base, usage: NO_USAGE });
    if (optimistic.candidates.length === 0)
      return { evaluation: optimistic, outcome: 'none', losses: optimistic.losses };

    let ledger = await this.contacts.read(event.customerId);
    let includeOwn = false;
    let choice: Choice | undefined;
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        // A redelivered decision is first judged without its own earlier claims, so it is not capped by itself.
        const excludeOwn = !includeOwn && ownClaims(ledger, d.decisionId).length > 0;
        const evaluation = d.set.evaluate({
          ...base,
          usage: usageOf(ledger, d.today, excludeOwn ? d.decisionId : undefined),
        });
        const walk = await this.walk(d, evaluation, ledger, excludeOwn);
        if (walk.kind === 'chosen') return (choice = walk.choice);
        if (!walk.includeOwn) this.conflicts.add(1);
        ledger = walk.ledger;
        includeOwn ||= walk.includeOwn;
      }
      throw new Error(`contact ledger of ${event.customerId}: too much contention; retry`);
    } finally {
      // Budget claimed for a campaign that did not make the offer in the end goes back.
      for (const [campaignId, when] of d.budgets) {
        if (when === 'now' && !(choice?.outcome === 'offer' && choice.winner?.campaignId === campaignId))
          await this.budgets.release(campaignId, d.decisionId);
      }
    }
  }

  /** One pass over the candidates, best first, claiming what the winner needs. */
  private async walk(
    d: Deciding,
    evaluation: Evaluation,
    initial: StoredContacts,
    excludeOwn: boolean,
  ): Promise<Walk> {
    const { event } = d.enriched;
    let ledger = initial;
    const losses: CandidateLoss[] = [...evaluation.losses];
    const chosen = (index: number, outcome: DecisionOutcome): Walk => ({
      kind: 'chosen',
      choice: {
        evaluation,
        outcome,
        winner: evaluation.candidates[index],
        losses: [...losses, ...lowerRankLosses(evaluation, index)],
      },
    });
    const claimContact = (c: Candidate, outcome: 'offer' | 'control') =>
      this.contacts.claim(
        event.customerId,
        ledger,
        { decisionId: d.decisionId, campaignId: c.campaignId, day: d.today, channel: event.channel, outcome },
        d.today,
      );
    // A new claim beside an earlier attempt's claim on another campaign: judge again with that claim counted.
    const again = (fresh: StoredContacts, includeOwn = false): Walk => ({
      kind: 'again',
      ledger: fresh,
      includeOwn,
    });

    for (let i = 0; i < evaluation.candidates.length; i++) {
      const c = evaluation.candidates[i];
      const claimedBefore = hasClaim(ledger, d.decisionId, c.campaignId);
      if (c.holdout) {
        // Control decisions count towards the campaign's caps (see libs/rules contact-ledger.ts); uncapped: nothing to claim.
        if (hasCaps(c) && !claimedBefore) {
          if (excludeOwn) return again(ledger, true);
          const claimed = await claimContact(c, 'control');
          if (!claimed.ok) return again(claimed.ledger);
        }
        return chosen(i, 'control');
      }
      if (this.isLate(d.receivedAtMs)) return chosen(i, 'late');

      const needsBudget =
        (c.budget.maxOffers !== undefined || c.budget.maxCost !== undefined) && !d.budgets.has(c.campaignId);
      if (!claimedBefore && excludeOwn) return again(ledger, true);
      // Budget and contact slot are claimed at the same time (one round trip of latency, not two); the
      // rare loser of the pair is given back. When the budget looks spent, it is asked alone first, so
      // that a spent campaign does not cost a contact claim and its release on every event.
      const budgetFirst = needsBudget && this.budgets.looksExhausted(c.campaignId, c.offer.cost, c.budget);
      const claimBudget = () =>
        needsBudget ? this.budgets.claim(c.campaignId, d.decisionId, c.offer.cost, c.budget) : undefined;
      let budget = budgetFirst ? await claimBudget() : undefined;
      let contact: Awaited<ReturnType<typeof claimContact>> | undefined;
      if (budget !== 'exhausted') {
        const [b, k] = await Promise.allSettled([
          budgetFirst ? budget : claimBudget(),
          claimedBefore ? undefined : claimContact(c, 'offer'),
        ]);
        // A budget claimed beside a failed contact claim is noted first, so that choose gives it back.
        if (b.status === 'fulfilled') budget = b.value;
        if (budget === 'claimed' || budget === 'already-claimed')
          d.budgets.set(c.campaignId, budget === 'claimed' ? 'now' : 'earlier');
        if (b.status === 'rejected') throw b.reason;
        if (k.status === 'rejected') throw k.reason;
        contact = k.value;
      }
      if (contact && !contact.ok) return again(contact.ledger); // a budget claimed here is reused or given back in choose
      if (contact) ledger = contact.ledger;
      if (budget === 'exhausted') {
        if (contact)
          ledger = await this.contacts.release(event.customerId, ledger, d.decisionId, c.campaignId, d.today);
        losses.push(budgetLoss(c));
        continue;
      }
      if (this.isLate(d.receivedAtMs)) {
        // The claims' round trips took the decision past its deadline: nothing is sent, the slot goes back
        // (the budget in choose). Claims of an earlier attempt stay: that attempt may have sent the offer.
        if (contact)
          await this.contacts.release(event.customerId, ledger, d.decisionId, c.campaignId, d.today);
        return chosen(i, 'late');
      }
      return chosen(i, 'offer');
    }
    return { kind: 'chosen', choice: { evaluation, outcome: 'none', losses } };
  }

  private isLate(receivedAtMs: number): boolean {
    return Date.now() - receivedAtMs > this.config.domain.slaMs;
  }
}
