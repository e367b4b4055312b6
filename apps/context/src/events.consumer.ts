import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { partitionOf, Streams, Subjects, type AcceptedEvent } from '@nunchi/contracts';
import {
  ConsumerRunner,
  NATS_CONNECTION,
  partitionOwnershipFor,
  type PartitionOwnership,
  type ReleaseReason,
} from '@nunchi/messaging';
import { Readiness } from '@nunchi/telemetry';
import { ApplyEventUseCase } from './apply-event.usecase.js';
import { CustomerStateCache } from './customer-state.cache.js';

/**
 * EVENTS → context. Replicas split the partitions by lease (libs/messaging PartitionOwnership): each
 * partition is consumed by exactly one replica at a time, through one durable consumer, so one customer's
 * events apply in order, in one place, and that replica's hot tier is the only one holding those customers.
 */
@Injectable()
export class EventsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('partitions');
  readonly ownership: PartitionOwnership;

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    @Inject(NATS_CONNECTION) nc: NatsConnection,
    private readonly runner: ConsumerRunner,
    private readonly applyEvent: ApplyEventUseCase,
    private readonly cache: CustomerStateCache,
    readiness: Readiness,
  ) {
    this.ownership = partitionOwnershipFor({
      group: 'context',
      nc,
      partitions: config.nats.partitions,
      ttlMs: config.nats.leaseTtlMs,
      readiness,
      onAcquire: (p) => this.startPartition(p),
      onRelease: (p, reason) => this.stopPartition(p, reason),
      logger: this.logger,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.cache.admitOnly((customerId) =>
      this.ownership.owns(partitionOf(customerId, this.config.nats.partitions)),
    );
    await this.ownership.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.ownership.stop();
  }

  private async startPartition(partition: number): Promise<void> {
    // Entries left from an earlier turn of ownership may have missed what another replica applied since.
    this.cache.evictWhere((id) => partitionOf(id, this.config.nats.partitions) === partition);
    await this.runner.start<AcceptedEvent>({
      stream: Streams.EVENTS.name,
      durable: `context-p${partition}`,
      filterSubject: Subjects.eventsOfPartition(partition),
      spanName: 'context.apply',
      stage: 'context',
      orderingKey: (event) => event.customerId,
      handler: (delivery) => this.applyEvent.execute(delivery),
      fromAckFloor: true,
      lag: { group: 'context', partition },
    });
  }

  private async stopPartition(partition: number, reason: ReleaseReason): Promise<void> {
    await this.runner.stop(`context-p${partition}`);
    const dropped = this.cache.evictWhere((id) => partitionOf(id, this.config.nats.partitions) === partition);
    if (reason !== 'shutdown')
      this.logger.log(
        `partition ${partition}: stopped (${reason}), ${dropped} customers dropped from the hot tier`,
      );
  }
}
