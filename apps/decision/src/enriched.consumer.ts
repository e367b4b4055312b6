import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { Streams, Subjects, type EnrichedEvent } from '@nunchi/contracts';
import { ConsumerRunner } from '@nunchi/messaging';
import { DecideUseCase } from './decide.usecase.js';

/**
 * ENRICHED → decision: one durable consumer per partition (one customer's decisions in order within a
 * replica). Today every replica consumes every partition through the shared durable consumers; partition
 * ownership (leases, being built in libs/messaging) will call startPartition/stopPartition as leases move.
 * Caps and budgets do not depend on it: they are exact however many replicas decide one customer at once.
 */
@Injectable()
export class EnrichedConsumer implements OnApplicationBootstrap {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly runner: ConsumerRunner,
    private readonly decide: DecideUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (let p = 0; p < this.config.nats.partitions; p++) await this.startPartition(p);
  }

  async startPartition(partition: number): Promise<void> {
    await this.runner.start<EnrichedEvent>({
      stream: Streams.ENRICHED.name,
      durable: durableOf(partition),
      filterSubject: Subjects.enriched(partition),
      spanName: 'decision.decide',
      stage: 'decision',
      orderingKey: (enriched) => enriched.event.customerId,
      handler: (delivery) => this.decide.execute(delivery),
    });
  }

  /** Stops pulling the partition; resolves once the messages in hand are decided. */
  stopPartition(partition: number): Promise<void> {
    return this.runner.stop(durableOf(partition));
  }
}

const durableOf = (partition: number) => `decision-p${partition}`;
