import { Ctx, EventPattern } from '@nestjs/microservices';
import { Streams, Subjects } from '@nunchi/contracts/core';
import type { EventsMessage } from '@nunchi/contracts';
import { JetStreamContext, onStream, type Outcome, MessageController } from '@nunchi/messaging';
import { ApplyEventUseCase } from './apply-event.usecase.js';

/** The consumer group of context replicas: they split EVENTS' partitions by lease. */
export const CONTEXT_GROUP = 'context';

/**
 * EVENTS → context. Each partition is consumed by exactly one replica at a time (the transport's partition
 * leases), so one customer's events apply in order, in one place, and that replica's hot tier is the only
 * one holding those customers.
 */
@MessageController()
export class EventsController {
  constructor(private readonly applyEvent: ApplyEventUseCase) {}

  @EventPattern(
    Subjects.eventsAll,
    onStream<EventsMessage>({
      stream: Streams.EVENTS.name,
      group: CONTEXT_GROUP,
      partitionSubject: Subjects.eventsOfPartition,
      stage: 'context',
      span: 'context.apply',
      orderingKey: (event) => event.customerId,
    }),
  )
  apply(@Ctx() message: JetStreamContext<EventsMessage>): Promise<Outcome> {
    return this.applyEvent.execute(message.delivery);
  }
}
