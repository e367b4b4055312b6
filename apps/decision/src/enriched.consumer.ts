import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { Streams, Subjects, type EnrichedEvent } from '@nunchi/contracts';
import { ConsumerRunner } from '@nunchi/messaging';
import { DecideUseCase } from './decide.usecase.js';

/** ENRICHED → decision: one durable consumer per partition (one customer's decisions in order). */
@Injectable()
export class EnrichedConsumer implements OnApplicationBootstrap {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly runner: ConsumerRunner,
    private readonly decide: DecideUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (let p = 0; p < this.config.nats.partitions; p++) {
      await this.runner.start<EnrichedEvent>({
        stream: Streams.ENRICHED.name,
        durable: `decision-p${p}`,
        filterSubject: Subjects.enriched(p),
        spanName: 'decision.decide',
        stage: 'decision',
        orderingKey: (enriched) => enriched.event.customerId,
        handler: (delivery) => this.decide.execute(delivery),
      });
    }
  }
}
