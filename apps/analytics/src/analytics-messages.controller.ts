import { EventPattern, Payload } from '@nestjs/microservices';
import { Streams, Subjects, type DecisionRecord, type LagReport } from '@nunchi/contracts/core';
import type { EventsMessage } from '@nunchi/contracts';
import { onStream, MessageController, type Outcome } from '@nunchi/messaging';
import { HotPathFirst } from './hot-path-first.js';
import { RecordDecision } from './state/record-decision.usecase.js';
import { RecordEvent } from './state/record-event.usecase.js';

/**
 * EVENTS and DECISIONS into analytics state, through durable consumers: a restart resumes where the last
 * acknowledged message left off (nothing is replayed from the streams' start), and a message is
 * acknowledged only after its effects are in Cassandra. One customer's messages are handled in order within
 * each stream; across the two streams any order gives the same figures (docs/analytics.md). While the hot path
 * is behind, each handler first waits for it a while (HotPathFirst).
 */
@MessageController()
export class AnalyticsMessagesController {
  constructor(
    private readonly recordEvent: RecordEvent,
    private readonly recordDecision: RecordDecision,
    private readonly hotPath: HotPathFirst,
  ) {}

  @EventPattern(
    Subjects.eventsAll,
    onStream<EventsMessage>({
      stream: Streams.EVENTS.name,
      group: 'analytics-events',
      stage: 'analytics',
      span: 'analytics.count',
      orderingKey: (event) => event.customerId,
    }),
  )
  async event(@Payload() event: EventsMessage): Promise<Outcome> {
    await this.hotPath.turn();
    return this.recordEvent.execute(event);
  }

  @EventPattern(
    Subjects.decisionsAll,
    onStream<DecisionRecord>({
      stream: Streams.DECISIONS.name,
      group: 'analytics-decisions',
      stage: 'analytics',
      span: 'analytics.count',
      orderingKey: (decision) => decision.customerId,
    }),
  )
  async decision(@Payload() decision: DecisionRecord): Promise<Outcome> {
    await this.hotPath.turn();
    return this.recordDecision.execute(decision);
  }

  /** The hot path's lag reports (context and decision replicas), for HotPathFirst. */
  @EventPattern(Subjects.lagAll)
  lag(@Payload() report: LagReport): void {
    this.hotPath.receive(report);
  }
}
