import { Inject, Injectable } from '@nestjs/common';
import { DecisionRepository } from '@nunchi/cassandra';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { localDay } from '@nunchi/context-model';
import {
  decisionIdOf,
  Headers,
  Subjects,
  type DecisionRecord,
  type EnrichedEvent,
  type OfferMessage,
} from '@nunchi/contracts';
import { Outcome, Publisher, type Delivery } from '@nunchi/messaging';
import { currentTraceId, latencyHistogram, meter, withSpan } from '@nunchi/telemetry';
import { CampaignSetHolder } from './campaign-set.holder.js';
import { OfferChooser } from './choose-offer.js';

/** milliseconds: how far before ingestion's receipt an earlier attempt's record may lie (clock skew between hosts) */
const CLOCK_SKEW_MS = 60_000;

/**
 * Decides one enriched event: choose (OfferChooser: evaluate, claim budget and contact slot), send the
 * offer, store the record with its explanation and publish it on DECISIONS.
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

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly campaigns: CampaignSetHolder,
    private readonly decisions: DecisionRepository,
    private readonly chooser: OfferChooser,
    private readonly publisher: Publisher,
  ) {}

  async execute(delivery: Delivery<EnrichedEvent>): Promise<Outcome> {
    const startedMs = performance.now();
    const enriched = delivery.body ?? ({} as EnrichedEvent);
    const event = enriched.event;
    if (!event?.id || !enriched.ctx) return Outcome.reject('not an EnrichedEvent');
    const decisionId = decisionIdOf(event.id);
    const redelivered = delivery.redelivered;
    if (redelivered) {
      this.redeliveries.add(1);
      if (await this.decisions.findById(decisionId)) return Outcome.done();
    }

    const receivedAtMs = Number(delivery.header(Headers.receivedAt) ?? event.receivedAtMs);
    const tz = this.config.domain.timeZone;
    // One set for the whole decision, however often it is evaluated: one consistent set of versions.
    const input = {
      enriched,
      set: this.campaigns.current,
      decisionId,
      receivedAtMs,
      // Caps count the local day on which the event occurred, the instant the rules see as `now` (not the day
      // it happens to be processed: a Saturday purchase delivered after midnight is capped against Saturday).
      today: localDay(event.occurredAtMs, tz),
    };

    const record = await withSpan(
      'decision.evaluate',
      { attributes: { 'nunchi.event.id': event.id } },
      async (span) => {
        const choice = await this.chooser.choose(input);
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
