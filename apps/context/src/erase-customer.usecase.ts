import { Inject, Injectable } from '@nestjs/common';
import { CustomerKeyring, ErasureRepository } from '@nunchi/cassandra';
import { CONFIG } from '@nunchi/config/nest';
import { identityKeys, type NunchiConfig } from '@nunchi/config';
import { Subjects } from '@nunchi/contracts/core';
import type { ErasureReceipt } from '@nunchi/contracts';
import { Publisher } from '@nunchi/messaging';
import { CustomerStateCache } from './customer-state.cache.js';

/**
 * Erases a customer everywhere (libs/cassandra ErasureRepository) — with every customer merged with it
 * (docs/identity.md), their data keys included (crypto-shredding) — and drops them from every replica's caches.
 */
@Injectable()
export class EraseCustomerUseCase {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly erasure: ErasureRepository,
    private readonly cache: CustomerStateCache,
    private readonly publisher: Publisher,
    private readonly keys: CustomerKeyring,
  ) {}

  async execute(customerId: string): Promise<ErasureReceipt> {
    // The hint (other context replicas, every ingestion replica) goes out once a tombstone is written; the
    // owner refuses the customer's events from the tombstone anyway, and ingestion replicas that missed the
    // hint do by the time erase() returns (settleMs).
    const receipt = await this.erasure.eraseMerged(customerId, {
      timeZone: this.config.domain.timeZone,
      partitions: this.config.nats.partitions,
      settleMs: this.config.domain.identityCacheTtlMs,
      keks: identityKeys(this.config),
      onTombstone: (id) => this.publisher.emit(Subjects.customersChanged, { ids: [id] }),
    });
    const erased = [receipt.customerId, ...(receipt.merged ?? []).map((r) => r.customerId)];
    for (const id of erased) this.cache.evict(id);
    // The data key is deleted in Cassandra; the copy in memory goes too (other replicas: the hint, the log).
    this.keys.evict(erased);
    return receipt;
  }
}
