import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { newContext, openContext } from '@nunchi/context-model';
import { ContextRepository, CustomerKeyring, CustomerRepository } from '@nunchi/cassandra';
import { CustomerStateCache, type CustomerState } from './customer-state.cache.js';

/** Reads a customer's state from the hot tier, or from Cassandra on a miss (see ContextRepository.storedHistory). */
@Injectable()
export class LoadCustomerStateUseCase {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly cache: CustomerStateCache,
    private readonly customers: CustomerRepository,
    private readonly history: ContextRepository,
    private readonly keys: CustomerKeyring,
  ) {}

  async execute(customerId: string, nowMs: number): Promise<CustomerState> {
    return this.cache.get(customerId) ?? this.loadCold(customerId, nowMs);
  }

  /** Always from Cassandra (benchmarks and tests measure this path); fills the hot tier when allowed. */
  async loadCold(customerId: string, nowMs: number): Promise<CustomerState> {
    const ticket = this.cache.ticket(customerId);
    const timeZone = this.config.domain.timeZone;
    // A data key read from Cassandra now says the customer is not erased: the erasure deletes the key (fenced),
    // and no key is created for an erased id afterwards (ingestion refuses them; context checks before it
    // creates one). So the tombstone is read only when no key is found — or when the key comes from memory,
    // which an erasure since may not have reached yet. The key is read here rather than when the event is
    // opened (the keyring keeps it): no read more.
    const keyInMemory = this.keys.cached(customerId) !== undefined;
    const [{ profile, mergedInto, generation }, keyStored, tombstone, read] = await Promise.all([
      this.customers.getWithLink(customerId),
      keyInMemory ? undefined : this.keys.find(customerId),
      keyInMemory ? this.customers.isErased(customerId) : undefined,
      // (the history is sealed under that key: opening it shares the read above)
      this.history.storedHistory(customerId, { nowMs, timeZone }).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
    ]);
    const erased = tombstone ?? (keyStored ? false : await this.customers.isErased(customerId));
    // An erased customer's sealed rows may outlive its key for a moment (the erasure deletes both): its
    // history, which cannot be opened then, is not needed to refuse its events.
    if ('error' in read && !erased) throw read.error;
    const stored = 'error' in read ? undefined : read.value;
    const state: CustomerState = {
      ...(stored ? openContext({ profile, ...stored, timeZone }) : newContext(profile, { nowMs, timeZone })),
      erased,
      ...(mergedInto ? { mergedInto } : {}),
      generation,
      months: new Set(stored?.months),
      ...(stored && !stored.monthsListed ? { monthListMissing: true } : {}),
    };
    this.cache.fill(state, ticket);
    return state;
  }
}
