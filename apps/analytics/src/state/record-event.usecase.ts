import { Inject, Injectable } from '@nestjs/common';
import { CustomerKeyring, type AnalyticsRepository, type DecisionRepository } from '@nunchi/cassandra';
import { MAX_ATTRIBUTION_WINDOW_DAYS } from '@nunchi/analytics-model';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { eventKey } from '@nunchi/contracts/core';
import type { AcceptedEvent, EventsMessage } from '@nunchi/contracts';
import { Outcome } from '@nunchi/messaging';
import { localDayAndHour } from '@nunchi/operations';
import { Attribution } from './attribution.js';
import { pseudonymFor } from './pseudonym.js';
import { EventCounts } from './event-counts.js';
import { ANALYTICS_REPOSITORY, DECISION_REPOSITORY } from './tokens.js';

const DAY_MS = 86_400_000;
const RESPONSES = new Set(['accepted', 'redeemed', 'dismissed']);

/**
 * An event into analytics state: every event is counted for the live rates; a purchase is stored and
 * re-attributes the customer's recent decisions; an offer response is checked against the stored decision
 * and marks it (once, however often it comes).
 */
@Injectable()
export class RecordEvent {
  constructor(
    @Inject(ANALYTICS_REPOSITORY) private readonly repository: AnalyticsRepository,
    @Inject(DECISION_REPOSITORY) private readonly decisions: DecisionRepository,
    private readonly attribution: Attribution,
    private readonly counts: EventCounts,
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly keys: CustomerKeyring,
  ) {}

  async execute(message: EventsMessage): Promise<Outcome> {
    let outcome: Outcome;
    if (message.type === 'purchase' || message.type === 'offer_response') {
      // Their payloads (an amount; the decision answered) are read, so opened with the customer's data key.
      const opened = await this.keys.openEvent(message);
      // An erased customer's: nothing recorded — their analytics rows went with them, and must not come back.
      outcome =
        opened.kind === 'erased'
          ? Outcome.done()
          : opened.kind !== 'opened'
            ? Outcome.reject(opened.why)
            : message.type === 'purchase'
              ? await this.purchase(opened.value)
              : await this.response(opened.value);
    } else outcome = Outcome.done();
    if (outcome.kind === 'done') this.counts.add(message);
    return outcome;
  }

  private async purchase(event: AcceptedEvent): Promise<Outcome> {
    const amount = (event.payload as { amount?: unknown }).amount;
    if (typeof amount !== 'number' || !Number.isFinite(amount))
      return Outcome.reject(
        `purchase ${event.id}: payload.amount must be a number, got ${JSON.stringify(amount)}`,
      );
    const named = await pseudonymFor(this.keys, event.customerId, `purchase ${event.id}`);
    if ('outcome' in named) return named.outcome;
    const { pseudonym } = named;
    await this.repository.recordPurchase(pseudonym, event.occurredAtMs, eventKey(event), amount);
    const recent = await this.repository.customerDecisionsBetween(
      pseudonym,
      event.occurredAtMs - MAX_ATTRIBUTION_WINDOW_DAYS * DAY_MS,
      event.occurredAtMs,
    );
    const converted = recent.filter((d) => event.occurredAtMs - d.decidedAtMs <= d.windowDays * DAY_MS);
    await this.attribution.refreshConversions(pseudonym, converted, [
      ...new Set(converted.map((d) => d.campaignId)),
    ]);
    return Outcome.done();
  }

  private async response(event: AcceptedEvent): Promise<Outcome> {
    const { decisionId, response, campaignId } = event.payload as {
      decisionId?: unknown;
      response?: unknown;
      campaignId?: unknown;
    };
    const what = `offer_response ${event.id}`;
    if (typeof decisionId !== 'string' || !decisionId)
      return Outcome.reject(`${what}: payload.decisionId is missing`);
    if (typeof response !== 'string' || !RESPONSES.has(response))
      return Outcome.reject(`${what}: payload.response must be accepted, redeemed or dismissed`);
    const decision = await this.decisions.findById(decisionId);
    if (!decision)
      return Outcome.reject(`${what} names decision ${decisionId}, which is not a stored decision`);
    if (decision.customerId !== event.customerId)
      return Outcome.reject(`${what} names decision ${decisionId}, which was made for another customer`);
    if (!decision.campaignId || decision.outcome !== 'offer')
      return Outcome.reject(
        `${what} names decision ${decisionId}, which made no offer (outcome ${decision.outcome})`,
      );
    if (typeof campaignId === 'string' && campaignId !== decision.campaignId)
      return Outcome.reject(
        `${what} names campaign ${campaignId}, but decision ${decisionId} was made for campaign ${decision.campaignId}`,
      );
    const named = await pseudonymFor(this.keys, decision.customerId, what);
    if ('outcome' in named) return named.outcome;
    const { day } = localDayAndHour(Date.parse(decision.decidedAt), this.config.domain.timeZone);
    await this.repository.recordResponse(
      { campaignId: decision.campaignId, day, pseudonym: named.pseudonym, decisionId },
      response as 'accepted' | 'redeemed' | 'dismissed',
    );
    return Outcome.done();
  }
}
