import { Inject, Injectable } from '@nestjs/common';
import { CustomerKeyring, DecisionRepository } from '@nunchi/cassandra';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { localDay } from '@nunchi/context-model';
import {
  decisionIdOf,
  Headers,
  splitLossDetails,
  Subjects,
  type CandidateLoss,
  type DecisionRecord,
  type OfferMessage,
} from '@nunchi/contracts/core';
import type { AcceptedEvent, EnrichedEvent, EnrichedMessage, EnrichedPersonal } from '@nunchi/contracts';
import { Outcome, Publisher, type Delivery } from '@nunchi/messaging';
import { SealedDataError } from '@nunchi/sealing';
import { currentTraceId, latencyHistogram, meter, trace, withSpan } from '@nunchi/telemetry';
import { CampaignSetHolder } from '@nunchi/cassandra/nest';
import { OfferChooser } from './choose-offer.js';

/** A decision record but for what the rules saw, which is sealed after the offer is sent. */
type DecidedFields = Omit<DecisionRecord, 'losses' | 'inputs' | 'sealedInputs' | 'sealedLossDetails'>;

/** milliseconds: how far before ingestion's receipt an earlier attempt's record may lie (clock skew between hosts) */
const CLOCK_SKEW_MS = 60_000;

/**
 * Decides one enriched event: choose (OfferChooser: evaluate, claim budget and contact slot), send the
 * offer, publish the record on DECISIONS (campaign outcomes) and store it with its explanation by id.
 *
 * What it costs, cheapest first (docs/architecture.md "Which decisions are recorded"):
 * - no active campaign's trigger takes the event (most events): nothing — no read, no write, no
 *   publication, no span of its own; acknowledged and counted;
 * - past its deadline on arrival (a backlog): recorded `late` without any claim or ledger/budget read;
 * - otherwise: the decision, then one record write (`decisions_by_id`) and, for a campaign outcome, one
 *   DECISIONS publication.
 *
 * Safe to run twice and on several replicas at once: a decision already recorded under this id is not
 * made again; a half-made one (the replica died) finds its own claims and reuses them.
 */
@Injectable()
export class DecideUseCase {
  /** The latency SLOs read this histogram (slo/slo.yaml). */
  private readonly eventToOffer = latencyHistogram(
    'nunchi_event_to_offer_ms',
    "milliseconds from ingestion's receipt to the offer handed to NATS (to the decision when there is no offer), every decided event",
  );
  private readonly decideMs = latencyHistogram(
    'nunchi_decide_ms',
    'milliseconds the decision service spends on one decided event: reads, claims, record, publish',
  );
  private readonly outcomes = meter().createCounter('nunchi_decisions_total', {
    description:
      'decisions by outcome (events no campaign triggers on are not decisions: see nunchi_events_untriggered_total)',
  });
  private readonly untriggered = meter().createCounter('nunchi_events_untriggered_total', {
    description:
      'events no active campaign triggers on: acknowledged without a decision, record or publication',
  });
  private readonly redeliveries = meter().createCounter('nunchi_decision_redeliveries_total', {
    description: 'events delivered to the decision service more than once',
  });
  private readonly offers = meter().createCounter('nunchi_offers_total', {
    description: 'offers sent, by campaign',
  });

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly campaigns: CampaignSetHolder,
    private readonly decisions: DecisionRepository,
    private readonly chooser: OfferChooser,
    private readonly publisher: Publisher,
    private readonly keys: CustomerKeyring,
  ) {}

  async execute(delivery: Delivery<EnrichedMessage>): Promise<Outcome> {
    const startedMs = performance.now();
    const message = delivery.body ?? ({} as EnrichedMessage);
    const routing = message.event;
    if (!routing?.id || typeof routing.customerId !== 'string' || !(message.personal ?? message.ctx))
      return Outcome.reject('not an EnrichedEvent');
    // One set for the whole decision, however often it is evaluated: one consistent set of versions.
    const set = this.campaigns.current;
    // The trigger is read from the clear part: an event no campaign takes costs no key and no opening.
    if (!set.triggeredBy(routing)) {
      this.untriggered.add(1);
      return Outcome.done();
    }
    const decisionId = decisionIdOf(routing);
    const redelivered = delivery.redelivered;
    if (redelivered) {
      this.redeliveries.add(1);
      if (await this.decisions.findById(decisionId)) return Outcome.done();
    }
    const enriched = await this.open(message);
    if ('kind' in enriched) return enriched;
    const event = enriched.event;

    const receivedAtMs = Number(delivery.header(Headers.receivedAt) ?? event.receivedAtMs);
    const input = {
      enriched,
      set,
      decisionId,
      receivedAtMs,
      // Caps count the local day on which the event occurred, the instant the rules see as `now` (not the day
      // it happens to be processed: a Saturday purchase delivered after midnight is capped against Saturday).
      today: localDay(event.occurredAtMs, this.config.domain.timeZone),
    };
    // Already past the deadline on arrival (a backlog): late, decided on the rules alone — no ledger or
    // budget read, no claim — so that a backlog drains at full speed.
    const choice =
      Date.now() - receivedAtMs > this.config.domain.slaMs
        ? this.chooser.lateOnArrival(input)
        : await this.chooser.choose(input);
    let decidedAtMs = Date.now();
    // A redelivered campaign outcome keeps the instant of an attempt that already wrote its index rows (same
    // keys, no copies in `nunchi decisions list`); one read, on redelivery only.
    if (redelivered && choice.evaluation.candidates.length > 0)
      decidedAtMs =
        (await this.decisions.decidedAtOf(event.customerId, decisionId, receivedAtMs - CLOCK_SKEW_MS)) ??
        decidedAtMs;
    const winner = choice.winner;
    // Attributes on the consumer's span (decision.decide): no nested span for the evaluation.
    trace.getActiveSpan()?.setAttributes({
      'nunchi.event.id': event.id,
      'nunchi.campaigns.considered': choice.evaluation.considered,
      'nunchi.campaigns.matched': choice.evaluation.candidates.length,
      'nunchi.decision.outcome': choice.outcome,
      ...(winner
        ? {
            'nunchi.campaign.id': winner.campaignId,
            'nunchi.campaign.version': winner.campaignVersion,
            'nunchi.offer.id': winner.offer.id,
          }
        : {}),
    });
    const decided: DecidedFields = {
      decisionId,
      eventId: event.id,
      customerId: event.customerId,
      channel: event.channel,
      ...(event.storeId ? { storeId: event.storeId } : {}),
      ...(event.sessionId ? { sessionId: event.sessionId } : {}),
      outcome: choice.outcome,
      ...(winner
        ? {
            campaignId: winner.campaignId,
            campaignVersion: winner.campaignVersion,
            offerId: winner.offer.id,
            title: winner.offer.title,
            value: winner.offer.value,
            cost: winner.offer.cost,
          }
        : {}),
      decidedAt: new Date(decidedAtMs).toISOString(),
      latencyMs: decidedAtMs - receivedAtMs,
      traceId: currentTraceId(),
      campaignVersions: choice.evaluation.campaignVersions,
    };

    // The offer first: the till is waiting for it, not for our bookkeeping (nor for the seals below). A crash
    // before the record is complete redelivers the event, which finds its claims and sends the same offer
    // (same decision id) again. The end of the event's journey when there is an offer: the SLO's latency is
    // measured to this instant.
    const publishedAtMs = decided.outcome === 'offer' ? this.sendOffer(decided) : decidedAtMs;
    const record: DecisionRecord = {
      ...decided,
      // what the rules saw is personal (the winner's inputs, the losers' details): sealed under the customer's
      // key, like ENRICHED (clear only for a message from before sealing, whose customer may have no key yet)
      ...(await this.sealedPersonal(event.customerId, winner?.inputs, choice.losses)),
    };
    // DECISIONS before the record by id: the record's presence means "complete" (a redelivery skips it), so
    // everything else must have happened. DECISIONS deduplicates a repeat on the decision id.
    if (record.campaignId)
      await this.publisher.persist(Subjects.decision(record.campaignId), record, { msgID: decisionId });
    await this.decisions.record(record, localDay(decidedAtMs, this.config.domain.timeZone));
    this.eventToOffer.record(publishedAtMs - receivedAtMs, { outcome: record.outcome });
    this.decideMs.record(performance.now() - startedMs, { outcome: record.outcome });
    this.outcomes.add(1, { outcome: record.outcome });
    return Outcome.done();
  }

  /**
   * The message with its personal part opened under the customer's data key (from memory for a repeat
   * customer), or why it cannot be: a customer erased since — the key is gone with it — is refused like any
   * event of an erased customer (DLQ, not retried); a value that does not open (altered, moved) likewise.
   * A message from before sealing (in clear) is taken as it is.
   */
  private async open(message: EnrichedMessage): Promise<EnrichedEvent | Outcome> {
    const { personal, patterns } = message;
    const extra = patterns ? { patterns } : {};
    if (!personal)
      return {
        event: { payload: {}, ...message.event },
        customer: message.customer ?? null,
        ctx: message.ctx!,
        ...extra,
      };
    const customerId = message.event.customerId;
    if (personal.customerId !== customerId)
      return Outcome.reject(`sealed for customer ${personal.customerId}, not for the event's ${customerId}`);
    try {
      const opened = await this.keys.open<EnrichedPersonal>(personal);
      if (opened.kind === 'erased')
        return Outcome.reject(
          `customer ${customerId} was erased (${opened.erasedAt.toISOString()}): its data key is gone, the event cannot be opened; event refused`,
        );
      if (opened.kind === 'missing')
        return Outcome.reject(
          `customer ${customerId} has no data key, and was not erased: the event cannot be opened; refused (replay it from the DLQ once the key is back)`,
        );
      const { payload, customer, ctx } = opened.value;
      const event: AcceptedEvent = { ...message.event, payload };
      return { event, customer, ctx, ...extra };
    } catch (error) {
      if (error instanceof SealedDataError) return Outcome.reject(error.message);
      throw error;
    }
  }

  private async sealedPersonal(
    customerId: string,
    inputs: Record<string, unknown> | undefined,
    losses: CandidateLoss[],
  ): Promise<Pick<DecisionRecord, 'inputs' | 'sealedInputs' | 'losses' | 'sealedLossDetails'>> {
    const split = splitLossDetails(losses);
    const [sealedInputs, sealedLossDetails] = await Promise.all([
      inputs && this.keys.sealIfKeyed(customerId, inputs),
      split.details && this.keys.sealIfKeyed(customerId, split.details),
    ]);
    return {
      ...(inputs ? (sealedInputs ? { sealedInputs } : { inputs }) : {}),
      ...(sealedLossDetails ? { losses: split.losses, sealedLossDetails } : { losses }),
    };
  }

  /** Sends the offer (core NATS, no acknowledgement to wait for); returns the instant it was handed over. */
  private sendOffer(record: DecidedFields): number {
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
      this.publisher.emit(Subjects.offerTo(record), offer),
    );
    this.offers.add(1, { campaign: offer.campaignId });
    return Date.now();
  }
}
