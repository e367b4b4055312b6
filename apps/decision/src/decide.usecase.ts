import { Inject, Injectable } from '@nestjs/common';
import { DecisionRepository, type StoredContacts } from '@nunchi/cassandra';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { localDay } from '@nunchi/context-model';
import {
  decisionIdOf,
  Headers,
  Subjects,
  type CandidateLoss,
  type DecisionOutcome,
  type DecisionRecord,
  type EnrichedEvent,
  type OfferMessage,
} from '@nunchi/contracts';
import { Outcome, Publisher, type Delivery } from '@nunchi/messaging';
import { lowerRankLosses, NO_USAGE, type CampaignSet, type Candidate, type Evaluation } from '@nunchi/rules';
import { currentTraceId, latencyHistogram, meter, withSpan } from '@nunchi/telemetry';
import { BudgetClaims } from './budget-claims.js';
import { CampaignSetHolder } from './campaign-set.holder.js';
import { ContactClaims } from './contact-claims.js';
import { hasClaim, ownClaims, usageOf } from './contact-ledger.js';

/** decisions again after a contact-ledger conflict before giving up (and retrying the message) */
const MAX_ATTEMPTS = 10;
/** milliseconds: how far before ingestion's receipt an earlier attempt's record may lie (clock skew between hosts) */
const CLOCK_SKEW_MS = 60_000;

interface Choice {
  evaluation: Evaluation;
  outcome: DecisionOutcome;
  winner?: Candidate;
  losses: CandidateLoss[];
}

/** How one walk over the candidates ended: a choice, or a conflict that needs a fresh ledger. */
type Walk =
  { kind: 'chosen'; choice: Choice } | { kind: 'again'; ledger: StoredContacts; includeOwn: boolean };

interface Deciding {
  enriched: EnrichedEvent;
  set: CampaignSet;
  decisionId: string;
  receivedAtMs: number;
  /** local day (business time zone) the caps count in */
  today: string;
  /** campaign id → whether this attempt claimed its budget ('now') or found an earlier attempt's claim */
  budgets: Map<string, 'now' | 'earlier'>;
}

/**
 * Decides one enriched event: evaluate the campaign set, walk the candidates best first (holdout →
 * control; deadline; budget and contact claims, each exactly once per decision id), then send the offer,
 * store the record and publish it on DECISIONS.
 *
 * Safe to run twice and on several replicas at once: a decision already recorded under this id is not
 * made again; a half-made one (the replica died) finds its own claims and reuses them.
 */
@Injectable()
export class DecideUseCase {
  private readonly eventToOffer = latencyHistogram(
    'nunchi_event_to_offer_ms',
    'milliseconds from ingestion receipt to decision, every event',
  );
  private readonly decideMs = latencyHistogram(
    'nunchi_decide_ms',
    'milliseconds the decision service spends on one event: reads, claims, record, publish',
  );
  private readonly outcomes = meter().createCounter('nunchi_decisions_total', {
    description: 'decisions by outcome',
  });
  private readonly redeliveries = meter().createCounter('nunchi_decision_redeliveries_total', {
    description: 'events delivered to the decision service more than once',
  });
  private readonly conflicts = meter().createCounter('nunchi_contact_claim_conflicts_total', {
    description: 'contact-ledger claims that lost a race and were decided again',
  });

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly campaigns: CampaignSetHolder,
    private readonly decisions: DecisionRepository,
    private readonly contacts: ContactClaims,
    private readonly budgets: BudgetClaims,
    private readonly publisher: Publisher,
  ) {}

  async execute(delivery: Delivery<EnrichedEvent>): Promise<Outcome> {
    const startedMs = performance.now();
    const enriched = delivery.body ?? ({} as EnrichedEvent);
    const event = enriched.event;
    if (!event?.id || !enriched.ctx) return Outcome.reject('not an EnrichedEvent');
    const decisionId = decisionIdOf(event.id);
    const redelivered = delivery.deliveryCount > 1;
    if (redelivered) {
      this.redeliveries.add(1);
      if (await this.decisions.findById(decisionId)) return Outcome.done();
    }

    const receivedAtMs = Number(delivery.header(Headers.receivedAt) ?? event.receivedAtMs);
    const tz = this.config.domain.timeZone;
    // One set for the whole decision, however often it is evaluated: one consistent set of versions.
    const deciding: Deciding = {
      enriched,
      set: this.campaigns.current,
      decisionId,
      receivedAtMs,
      today: localDay(Date.now(), tz),
      budgets: new Map(),
    };

    const record = await withSpan(
      'decision.evaluate',
      { attributes: { 'nunchi.event.id': event.id } },
      async (span) => {
        const choice = await this.choose(deciding);
        let decidedAtMs = Date.now();
        // A redelivered decision keeps the instant of an attempt that already wrote its rows: same keys, no copies.
        if (redelivered && choice.outcome !== 'none')
          decidedAtMs =
            (await this.decisions.decidedAtOf(event.customerId, decisionId, receivedAtMs - CLOCK_SKEW_MS)) ??
            decidedAtMs;
        const winner = choice.winner;
        span.setAttributes({
          'nunchi.campaigns.considered': choice.evaluation.considered,
          'nunchi.campaigns.matched': choice.evaluation.candidates.length,
          'nunchi.outcome': choice.outcome,
          ...(winner
            ? {
                'nunchi.campaign.id': winner.campaignId,
                'nunchi.campaign.version': winner.campaignVersion,
                'nunchi.offer.id': winner.offer.id,
              }
            : {}),
        });
        const decision: DecisionRecord = {
          decisionId,
          eventId: event.id,
          customerId: event.customerId,
          channel: event.channel,
          ...(event.storeId ? { storeId: event.storeId } : {}),
          outcome: choice.outcome,
          ...(winner
            ? {
                campaignId: winner.campaignId,
                campaignVersion: winner.campaignVersion,
                offerId: winner.offer.id,
                title: winner.offer.title,
                value: winner.offer.value,
                cost: winner.offer.cost,
                inputs: winner.inputs,
              }
            : {}),
          decidedAt: new Date(decidedAtMs).toISOString(),
          latencyMs: decidedAtMs - receivedAtMs,
          traceId: currentTraceId(),
          campaignVersions: choice.evaluation.campaignVersions,
          losses: choice.losses,
        };
        return decision;
      },
    );

    // The offer first: the till is waiting for it, not for our bookkeeping. A crash before the record is
    // complete redelivers the event, which finds its claims and sends the same offer (same decision id) again.
    if (record.outcome === 'offer') this.sendOffer(record);
    await Promise.all([
      this.decisions.recordRows(record, localDay(Date.parse(record.decidedAt), tz)),
      record.campaignId
        ? this.publisher.persist(Subjects.decision(record.campaignId), record, { msgID: decisionId })
        : undefined,
    ]);
    await this.decisions.recordById(record);
    this.eventToOffer.record(record.latencyMs, { outcome: record.outcome });
    this.decideMs.record(performance.now() - startedMs, { outcome: record.outcome });
    this.outcomes.add(1, { outcome: record.outcome });
    return Outcome.done();
  }

  private async choose(d: Deciding): Promise<Choice> {
    const { event, customer, ctx } = d.enriched;
    const base = { event, customer, ctx, nowMs: event.occurredAtMs }; // rules see the moment the customer acted
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
        this.conflicts.add(1);
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
        // Control decisions count towards the campaign's caps (see contact-ledger.ts); uncapped: nothing to claim.
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
        [budget, contact] = await Promise.all([
          budgetFirst ? budget : claimBudget(),
          claimedBefore ? undefined : claimContact(c, 'offer'),
        ]);
      }
      if (budget === 'claimed' || budget === 'already-claimed')
        d.budgets.set(c.campaignId, budget === 'claimed' ? 'now' : 'earlier');
      if (contact && !contact.ok) return again(contact.ledger); // a budget claimed here is reused or given back in choose
      if (contact) ledger = contact.ledger;
      if (budget === 'exhausted') {
        if (contact)
          ledger = await this.contacts.release(event.customerId, ledger, d.decisionId, c.campaignId, d.today);
        losses.push({
          campaignId: c.campaignId,
          campaignVersion: c.campaignVersion,
          offerId: c.offer.id,
          reason: 'budget',
          detail: budgetDetail(c),
        });
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

  private sendOffer(record: DecisionRecord): void {
    const offer: OfferMessage = {
      decisionId: record.decisionId,
      eventId: record.eventId,
      customerId: record.customerId,
      campaignId: record.campaignId!,
      campaignVersion: record.campaignVersion!,
      offerId: record.offerId!,
      title: record.title!,
      value: record.value!,
      decidedAt: record.decidedAt,
      latencyMs: record.latencyMs,
      traceId: record.traceId,
    };
    void withSpan('decision.publish_offer', { attributes: { 'nunchi.offer.id': offer.offerId } }, () =>
      this.publisher.emit(Subjects.offer(record.channel, record.storeId), offer),
    );
  }
}

function hasCaps(c: Candidate): boolean {
  return (
    c.caps.perCustomerPerDay !== undefined ||
    c.caps.perCustomerLifetime !== undefined ||
    c.caps.perChannelPerDay !== undefined
  );
}

function budgetDetail(c: Candidate): string {
  const limits = [
    c.budget.maxOffers !== undefined ? `maxOffers ${c.budget.maxOffers}` : '',
    c.budget.maxCost !== undefined ? `maxCost ${c.budget.maxCost}` : '',
  ].filter(Boolean);
  return `${limits.join(', ')} used up`;
}
