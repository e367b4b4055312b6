import { EventPattern, Payload } from '@nestjs/microservices';
import { Streams, Subjects, type AcceptedEvent, type DecisionRecord } from '@nunchi/contracts';
import { onStream, MessageController } from '@nunchi/messaging';
import { CampaignStatsAggregator } from './campaign-stats.js';

/**
 * Feeds the aggregator by replaying EVENTS and DECISIONS from their start, then following them live
 * (ephemeral ordered consumers: nothing to clean up, and a restart rebuilds the same state).
 */
@MessageController()
export class AnalyticsMessagesController {
  constructor(private readonly stats: CampaignStatsAggregator) {}

  @EventPattern(
    Subjects.eventsAll,
    onStream({
      stream: Streams.EVENTS.name,
      group: 'analytics',
      mode: 'replay',
      stage: 'analytics',
      span: 'analytics.count',
    }),
  )
  event(@Payload() event: AcceptedEvent): void {
    this.stats.addEvent(event);
  }

  @EventPattern(
    Subjects.decisionsAll,
    onStream({
      stream: Streams.DECISIONS.name,
      group: 'analytics',
      mode: 'replay',
      stage: 'analytics',
      span: 'analytics.count',
    }),
  )
  decision(@Payload() decision: DecisionRecord): void {
    this.stats.addDecision(decision);
  }
}
