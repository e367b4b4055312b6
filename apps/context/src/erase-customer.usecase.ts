import { Inject, Injectable } from '@nestjs/common';
import { ErasureRepository } from '@nunchi/cassandra';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { Subjects, type ErasureReceipt } from '@nunchi/contracts';
import { Publisher } from '@nunchi/messaging';
import { CustomerStateCache } from './customer-state.cache.js';

/** Erases a customer everywhere (libs/cassandra ErasureRepository) and drops them from every replica's hot tier. */
@Injectable()
export class EraseCustomerUseCase {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly erasure: ErasureRepository,
    private readonly cache: CustomerStateCache,
    private readonly publisher: Publisher,
  ) {}

  async execute(customerId: string): Promise<ErasureReceipt> {
    const receipt = await this.erasure.erase(customerId, { timeZone: this.config.domain.timeZone });
    this.cache.evict(customerId);
    // A hint for the other replicas; the owner refuses the customer's events from the tombstone anyway.
    this.publisher.emit(Subjects.customersChanged, { ids: [customerId] });
    return receipt;
  }
}
