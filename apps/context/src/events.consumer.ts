import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { Streams, Subjects, type AcceptedEvent } from '@nunchi/contracts';
import { ConsumerRunner } from '@nunchi/messaging';
import { ApplyEventUseCase } from './apply-event.usecase.js';

/** EVENTS → context: one durable consumer per partition, so one customer's events apply in order. */
@Injectable()
export class EventsConsumer implements OnApplicationBootstrap {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly runner: ConsumerRunner,
    private readonly applyEvent: ApplyEventUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (let p = 0; p < this.config.nats.partitions; p++) {
      await this.runner.start<AcceptedEvent>({
        stream: Streams.EVENTS.name,
        durable: `context-p${p}`,
        filterSubject: Subjects.eventsOfPartition(p),
        spanName: 'context.apply',
        stage: 'context',
        orderingKey: (event) => event.customerId,
        handler: (delivery) => this.applyEvent.execute(delivery),
      });
    }
  }
}
