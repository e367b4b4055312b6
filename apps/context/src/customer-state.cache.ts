import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import type { CustomerProfile, RecentEvent } from '@nunchi/contracts';
import type { DailyRollup } from '@nunchi/context-model';
import { meter } from '@nunchi/telemetry';

/** What the hot tier holds per customer: enough to build a snapshot without touching Cassandra. */
export interface CustomerState {
  profile: CustomerProfile | null;
  /** daily rollups of the last 365 days */
  rows: DailyRollup[];
  /** newest first */
  recent: RecentEvent[];
  erased: boolean;
}

/**
 * The hot tier: a bounded LRU of customer states, updated on write and filled from Cassandra on a miss.
 * Never the only copy: everything here was written to Cassandra first.
 */
@Injectable()
export class CustomerStateCache {
  private readonly entries = new Map<string, CustomerState>();
  private readonly hits = meter().createCounter('nunchi_context_cache_hits', { description: 'hot-tier look-ups answered from memory' });
  private readonly misses = meter().createCounter('nunchi_context_cache_misses', { description: 'hot-tier look-ups that read Cassandra' });
  private hitCount = 0;
  private missCount = 0;

  constructor(@Inject(CONFIG) private readonly config: NunchiConfig) {
    meter()
      .createObservableGauge('nunchi_context_cache_entries', { description: 'customers in the hot tier' })
      .addCallback((result) => result.observe(this.entries.size));
  }

  get(customerId: string): CustomerState | undefined {
    const state = this.entries.get(customerId);
    if (state) {
      // Re-insert: Map iteration order is insertion order, so the first key is the least recently used.
      this.entries.delete(customerId);
      this.entries.set(customerId, state);
      this.hits.add(1);
      this.hitCount++;
    } else {
      this.misses.add(1);
      this.missCount++;
    }
    return state;
  }

  set(customerId: string, state: CustomerState): void {
    const max = this.config.domain.cacheMaxEntries;
    if (max === 0) return;
    this.entries.delete(customerId);
    this.entries.set(customerId, state);
    while (this.entries.size > max) this.entries.delete(this.entries.keys().next().value!);
  }

  evict(customerId: string): void {
    this.entries.delete(customerId);
  }

  clear(): void {
    this.entries.clear();
  }

  stats() {
    const total = this.hitCount + this.missCount;
    return { entries: this.entries.size, hits: this.hitCount, misses: this.missCount, hitRate: total ? this.hitCount / total : 0 };
  }
}
