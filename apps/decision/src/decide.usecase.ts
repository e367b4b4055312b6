import { Inject, Injectable } from '@nestjs/common';
import { DecisionRepository } from '@nunchi/cassandra';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { localDay } from '@nunchi/context-model';
import { decisionIdOf, Headers, Subjects, type CandidateLoss, type DecisionRecord, type EnrichedEvent, type OfferMessage } from '@nunchi/contracts';
import { Outcome, Publisher, type Delivery } from '@nunchi/messaging';
import type { Candidate } from '@nunchi/rules';
import { currentTraceId, latencyHistogram, meter, withSpan } from '@nunchi/telemetry';
import { CampaignSetHolder } from './campaign-set.holder.js';
import { usageFromHistory } from './usage.js';

/**
 * Decides one enriched event: evaluate the campaign set, walk the candidates best first (holdout → control;
 * budget claimed exactly once), check the deadline, record, then publish the offer and the decision.
 * Safe to run twice: a decision already recorded under this id is not made again.
 */
@Injectable()
export class DecideUseCase {
  private readonly eventToOffer = latencyHistogram('nunchi_event_to_offer_ms', 'milliseconds from ingestion receipt to decision, every event');
  private readonly outcomes = meter().createCounter('nunchi_decisions_total', { description: 'decisions by outcome' });

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly campaigns: CampaignSetHolder,
    private readonly decisions: DecisionRepository,
    private readonly publisher: Publisher,
  ) {}

  async execute(delivery: Delivery<EnrichedEvent>): Promise<Outcome> {
    const { event, customer, ctx } = delivery.body ?? ({} as EnrichedEvent);
    if (!event?.id || !ctx) return Outcome.reject('not an EnrichedEvent');
    const decisionId = decisionIdOf(event.id);
    if (delivery.deliveryCount > 1 && (await this.decisions.findById(decisionId))) return Outcome.done();

    const receivedAtMs = Number(delivery.header(Headers.receivedAt) ?? event.receivedAtMs);
    const set = this.campaigns.current;
    const nowMs = Date.now();
    const tz = this.config.domain.timeZone;
    const usage = usageFromHistory(await this.decisions.history(event.customerId), nowMs, tz);

    const record = await withSpan('decision.evaluate', { attributes: { 'nunchi.event.id': event.id } }, async (span) => {
      // Rules see the moment the customer acted (`now` = event time): the same answer live and on history.
      const evaluation = set.evaluate({ event, customer, ctx, nowMs: event.occurredAtMs, usage });
      const losses: CandidateLoss[] = [...evaluation.losses];
      let winner: Candidate | undefined;
      let outcome: DecisionRecord['outcome'] = 'none';
      for (const candidate of evaluation.candidates) {
        if (winner) {
          losses.push({ campaignId: candidate.campaignId, campaignVersion: candidate.campaignVersion, offerId: candidate.offer.id, reason: 'lower_rank', detail: `lost to ${winner.campaignId}` });
          continue;
        }
        if (candidate.holdout) {
          winner = candidate;
          outcome = 'control';
          continue;
        }
        if (Date.now() - receivedAtMs > this.config.domain.slaMs) {
          winner = candidate;
          outcome = 'late';
          continue;
        }
        if (candidate.budget.maxOffers !== undefined || candidate.budget.maxCost !== undefined) {
          const claim = await this.decisions.claimBudget(candidate.campaignId, decisionId, candidate.offer.cost, candidate.budget);
          if (claim === 'exhausted') {
            losses.push({ campaignId: candidate.campaignId, campaignVersion: candidate.campaignVersion, offerId: candidate.offer.id, reason: 'budget', detail: 'budget exhausted' });
            continue;
          }
        }
        winner = candidate;
        outcome = 'offer';
      }
      const decidedAtMs = Date.now();
      span.setAttributes({
        'nunchi.campaigns.considered': evaluation.considered,
        'nunchi.campaigns.matched': evaluation.candidates.length,
        'nunchi.outcome': outcome,
        ...(winner ? { 'nunchi.campaign.id': winner.campaignId, 'nunchi.campaign.version': winner.campaignVersion, 'nunchi.offer.id': winner.offer.id } : {}),
      });
      const decision: DecisionRecord = {
        decisionId,
        eventId: event.id,
        customerId: event.customerId,
        channel: event.channel,
        ...(event.storeId ? { storeId: event.storeId } : {}),
        outcome,
        ...(winner
          ? { campaignId: winner.campaignId, campaignVersion: winner.campaignVersion, offerId: winner.offer.id, title: winner.offer.title, value: winner.offer.value, cost: winner.offer.cost, inputs: winner.inputs }
          : {}),
        decidedAt: new Date(decidedAtMs).toISOString(),
        latencyMs: decidedAtMs - receivedAtMs,
        traceId: currentTraceId(),
        campaignVersions: evaluation.campaignVersions,
        losses,
      };
      return decision;
    });

    await this.decisions.record(record, localDay(Date.parse(record.decidedAt), tz));
    if (record.outcome === 'offer' && record.campaignId) {
      await withSpan('decision.publish_offer', { attributes: { 'nunchi.offer.id': record.offerId! } }, () => {
        const offer: OfferMessage = {
          decisionId,
          eventId: event.id,
          customerId: event.customerId,
          campaignId: record.campaignId!,
          campaignVersion: record.campaignVersion!,
          offerId: record.offerId!,
          title: record.title!,
          value: record.value!,
          decidedAt: record.decidedAt,
          latencyMs: record.latencyMs,
          traceId: record.traceId,
        };
        this.publisher.emit(Subjects.offer(event.channel, event.storeId), offer);
      });
    }
    if (record.campaignId) await this.publisher.persist(Subjects.decision(record.campaignId), record, { msgID: decisionId });
    this.eventToOffer.record(record.latencyMs, { outcome: record.outcome });
    this.outcomes.add(1, { outcome: record.outcome });
    return Outcome.done();
  }
}
