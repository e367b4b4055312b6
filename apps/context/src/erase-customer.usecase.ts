import { Inject, Injectable } from '@nestjs/common';
import { ErasureRepository } from '@nunchi/cassandra';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { Subjects, type ErasureReceipt } from '@nunchi/contracts';
import { Publisher } from '@nunchi/messaging';
import { CustomerStateCache } from './customer-state.cache.js';

/** Erases a customer everywhere (libs/cassandra ErasureRepository) and drops them from every replica's caches. */
@Injectable()
export class EraseCustomerUseCase {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly erasure: ErasureRepository,
    private readonly cache: CustomerStateCache,
    private readonly publisher: Publisher,
  ) {}

  async execute(customerId: string): Promise<ErasureReceipt> {
    // The hint (other context replicas, every ingestion replica) goes out once the tombstone is written; the
    // owner refuses the customer's events from the tombstone anyway, and ingestion replicas that missed the
    // hint do by the time erase() returns (settleMs).
    const receipt = await this.erasure.erase(customerId, {
      timeZone: this.config.domain.timeZone,
      settleMs: this.config.domain.identityCacheTtlMs,
      onTombstone: () => this.publisher.emit(Subjects.customersChanged, { ids: [customerId] }),
    });
    this.cache.evict(customerId);
    return receipt;
  }
}
