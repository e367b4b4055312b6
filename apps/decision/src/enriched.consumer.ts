import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { partitionOf, Streams, Subjects, type EnrichedEvent } from '@nunchi/contracts';
import { ConsumerRunner, NATS_CONNECTION, partitionOwnershipFor, type PartitionOwnership } from '@nunchi/messaging';
import { Readiness } from '@nunchi/telemetry';
import { ContactClaims } from './contact-claims.js';
import { DecideUseCase } from './decide.usecase.js';

/**
 * ENRICHED → decision. Replicas split the partitions by lease (libs/messaging PartitionOwnership), as the
 * context service does: each partition is decided by one replica at a time, so one customer's decisions
 * are made in order. Caps and budgets do not depend on it: they are exact however many replicas decide
 * one customer at once (during a handover, for example).
 */
@Injectable()
export class EnrichedConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('partitions');
  readonly ownership: PartitionOwnership;

  constructor(
    @Inject(CONFIG) config: NunchiConfig,
    @Inject(NATS_CONNECTION) nc: NatsConnection,
    private readonly runner: ConsumerRunner,
    private readonly decide: DecideUseCase,
    private readonly contacts: ContactClaims,
    readiness: Readiness,
  ) {
    const partitions = config.nats.partitions;
    this.ownership = partitionOwnershipFor({
      group: 'decision',
      nc,
      partitions,
      ttlMs: config.nats.leaseTtlMs,
      readiness,
      onAcquire: (p) => this.startPartition(p),
      onRelease: async (p) => {
        await this.stopPartition(p);
        // Its customers are decided elsewhere now: their cached ledgers would only go stale.
        this.contacts.forget((customerId) => partitionOf(customerId, partitions) === p);
      },
      logger: this.logger,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.ownership.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.ownership.stop();
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
      fromAckFloor: true,
      lag: { group: 'decision', partition },
    });
  }

  /** Stops pulling the partition; resolves once the messages in hand are decided. */
  stopPartition(partition: number): Promise<void> {
    return this.runner.stop(durableOf(partition));
  }
}

const durableOf = (partition: number) => `decision-p${partition}`;
