import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { partitionOf } from '@nunchi/contracts/core';
import { PartitionAssignments } from '@nunchi/messaging';
import { CustomerStateCache } from './customer-state.cache.js';
import { CONTEXT_GROUP } from './events.controller.js';

/** The hot tier holds only customers of partitions this replica owns, and forgets a partition's on each handover. */
@Injectable()
export class HotTierPartitions implements OnModuleInit {
  private readonly logger = new Logger('partitions');

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly assignments: PartitionAssignments,
    private readonly cache: CustomerStateCache,
  ) {}

  onModuleInit(): void {
    const partitions = this.config.nats.partitions;
    const group = this.assignments.group(CONTEXT_GROUP);
    const inPartition = (partition: number) => (id: string) => partitionOf(id, partitions) === partition;
    this.cache.admitOnly((customerId) => group.owns(partitionOf(customerId, partitions)));
    group.onChange({
      // Entries left from an earlier turn of ownership may have missed what another replica applied since.
      acquired: (partition) => void this.cache.evictWhere(inPartition(partition)),
      released: (partition, reason) => {
        const dropped = this.cache.evictWhere(inPartition(partition));
        if (reason !== 'shutdown')
          this.logger.log(
            `partition ${partition}: stopped (${reason}), ${dropped} customers dropped from the hot tier`,
          );
      },
    });
  }
}
