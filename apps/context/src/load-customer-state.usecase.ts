import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import {
  addDays,
  HORIZON_DAYS,
  localDay,
  RECENT_MAX,
  sortRecent,
  toRecentEvent,
} from '@nunchi/context-model';
import { ContextRepository, CustomerRepository } from '@nunchi/cassandra';
import { CustomerStateCache, type CustomerState } from './customer-state.cache.js';

/** Reads a customer's state from the hot tier, or from Cassandra on a miss (four reads in parallel, then the newest month buckets). */
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
    const ticket = this.cache.ticket();
    const today = localDay(nowMs, this.config.domain.timeZone);
    const [profile, rows, erased, recentEvents] = await Promise.all([
      this.customers.get(customerId),
      this.history.dailySince(customerId, addDays(today, -(HORIZON_DAYS - 1))),
      this.customers.isErased(customerId),
      this.history.recentEvents(customerId, RECENT_MAX),
    ]);
    const state: CustomerState = {
      profile,
      rows,
      recent: sortRecent(recentEvents.map(toRecentEvent)),
      erased,
    };
    this.cache.fill(customerId, state, ticket);
    return state;
  }
}
