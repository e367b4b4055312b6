import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { addDays, HORIZON_DAYS, localDay, pushRecent } from '@nunchi/context-model';
import type { RecentEvent } from '@nunchi/contracts';
import { ContextRepository, CustomerRepository } from '@nunchi/cassandra';
import { CustomerStateCache, type CustomerState } from './customer-state.cache.js';

/** Reads a customer's state from the hot tier, or from Cassandra (three reads) on a miss. */
@Injectable()
export class LoadCustomerStateUseCase {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly cache: CustomerStateCache,
    private readonly customers: CustomerRepository,
    private readonly history: ContextRepository,
  ) {}

  async execute(customerId: string, nowMs: number): Promise<CustomerState> {
    const cached = this.cache.get(customerId);
    if (cached) return cached;
    const today = localDay(nowMs, this.config.domain.timeZone);
    const [profile, rows, erased, recentEvents] = await Promise.all([
      this.customers.get(customerId),
      this.history.dailySince(customerId, addDays(today, -(HORIZON_DAYS - 1))),
      this.customers.isErased(customerId),
      this.history.recentEvents(customerId, [today.slice(0, 7), previousMonth(today)], 20),
    ]);
    let recent: RecentEvent[] = [];
    for (const e of recentEvents) recent = pushRecent(recent, e);
    const state: CustomerState = { profile, rows, recent, erased };
    this.cache.set(customerId, state);
    return state;
  }
}

function previousMonth(day: string): string {
  const [y, m] = day.split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}
