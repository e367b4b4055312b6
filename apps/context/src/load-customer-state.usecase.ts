import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { openContext } from '@nunchi/context-model';
import { ContextRepository, CustomerRepository } from '@nunchi/cassandra';
import { CustomerStateCache, type CustomerState } from './customer-state.cache.js';

/** Reads a customer's state from the hot tier, or from Cassandra on a miss (see ContextRepository.storedHistory). */
@Injectable()
export class LoadCustomerStateUseCase {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly cache: CustomerStateCache,
    private readonly customers: CustomerRepository,
    private readonly history: ContextRepository,
  ) {}

  async execute(customerId: string, nowMs: number): Promise<CustomerState> {
    return this.cache.get(customerId) ?? this.loadCold(customerId, nowMs);
  }

  /** Always from Cassandra (benchmarks and tests measure this path); fills the hot tier when allowed. */
  async loadCold(customerId: string, nowMs: number): Promise<CustomerState> {
    const ticket = this.cache.ticket(customerId);
    const timeZone = this.config.domain.timeZone;
    const [{ profile, mergedInto, generation }, erased, stored] = await Promise.all([
      this.customers.getWithLink(customerId),
      this.customers.isErased(customerId),
      this.history.storedHistory(customerId, { nowMs, timeZone }),
    ]);
    const state: CustomerState = {
      ...openContext({ profile, ...stored, timeZone }),
      erased,
      ...(mergedInto ? { mergedInto } : {}),
      generation,
      months: new Set(stored.months),
      ...(stored.monthsListed ? {} : { monthListMissing: true }),
    };
    this.cache.fill(state, ticket);
    return state;
  }
}
