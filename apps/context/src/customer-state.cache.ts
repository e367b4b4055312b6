import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import type { ContextSnapshot, CustomerProfile, RecentEvent } from '@nunchi/contracts';
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
  /** the snapshot of one local day (index), built on first read: see snapshotOf */
  snapshot?: { day: number; ctx: ContextSnapshot };
}

/** Taken before reading Cassandra on a miss; a fill with a stale ticket is refused. */
export type LoadTicket = number & { readonly __ticket: unique symbol };

/**
 * Estimated heap bytes of one state. Measured on Node 20 (`node --expose-gc`, 5,000 states): ~170 B per
 * rollup row, ~200 B per recent event, ~400 B for the entry, profile and map slot; the memoised snapshot
 * (snapshotOf) adds ~9 B per row (6.6 KB for 750 rows). Cheap (no traversal of the rows), and close enough to
 * bound memory: the row count dominates.
 */
export function estimateBytes(state: CustomerState): number {
  let attributes = 0;
  for (const [k, v] of Object.entries(state.profile?.attributes ?? {}))
    attributes += 2 * (k.length + v.length) + 32;
  return 400 + state.rows.length * 180 + state.recent.length * 200 + attributes;
}

interface Entry {
  state: CustomerState;
  bytes: number;
}

/**
 * The hot tier: an LRU of customer states bounded by count (NUNCHI_CACHE_MAX_ENTRIES) and by estimated heap
 * (NUNCHI_CACHE_MAX_MIB), updated on write and filled from Cassandra on a miss. Never the only copy:
 * everything here was written to Cassandra first.
 *
 * Only customers of partitions this replica owns are kept (see admitOnly): their events are applied here and
 * nowhere else, so their entries cannot go stale behind this replica's back. Reads of other customers go to
 * Cassandra. Two rules keep a slow read from overwriting a newer write:
 * - a miss fills the tier only if nothing was evicted while it read Cassandra (LoadTicket);
 * - a write updates the tier only if the entry it started from is still the one cached (commit), else it
 *   evicts, and the next read refills from Cassandra.
 */
@Injectable()
export class CustomerStateCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** increments on every eviction: a load that saw another value may have read what was just invalidated */
  private evictions = 0;
  private admit: (customerId: string) => boolean = () => true;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly hits = meter().createCounter('nunchi_context_cache_hits', {
    description: 'hot-tier look-ups answered from memory',
  });
  private readonly misses = meter().createCounter('nunchi_context_cache_misses', {
    description: 'hot-tier look-ups that read Cassandra',
  });
  private hitCount = 0;
  private missCount = 0;

  constructor(@Inject(CONFIG) config: NunchiConfig) {
    this.maxEntries = config.domain.cacheMaxEntries;
    this.maxBytes = config.domain.cacheMaxMiB * 1_048_576;
    const m = meter();
    m.createObservableGauge('nunchi_context_cache_entries', {
      description: 'customers in the hot tier',
    }).addCallback((r) => r.observe(this.entries.size));
    m.createObservableGauge('nunchi_context_cache_bytes', {
      description: 'estimated heap bytes of the hot tier',
      unit: 'By',
    }).addCallback((r) => r.observe(this.bytes));
    m.createObservableGauge('nunchi_context_cache_hit_ratio', {
      description: 'hot-tier hits / look-ups since start, 0..1',
    }).addCallback((r) => r.observe(this.hitRatio()));
  }

  /** Keeps only customers for which `admit` is true (this replica's partitions); drops the others now. */
  admitOnly(admit: (customerId: string) => boolean): void {
    this.admit = admit;
    this.evictWhere((id) => !admit(id));
  }

  get(customerId: string): CustomerState | undefined {
    const entry = this.entries.get(customerId);
    if (entry) {
      // Re-insert: Map iteration order is insertion order, so the first key is the least recently used.
      this.entries.delete(customerId);
      this.entries.set(customerId, entry);
      this.hits.add(1);
      this.hitCount++;
      return entry.state;
    }
    this.misses.add(1);
    this.missCount++;
    return undefined;
  }

  /** Before reading Cassandra on a miss. */
  ticket(): LoadTicket {
    return this.evictions as LoadTicket;
  }

  /** After a miss: keeps the state read from Cassandra unless something was evicted meanwhile or it is cached already. */
  fill(customerId: string, state: CustomerState, ticket: LoadTicket): void {
    if (ticket !== this.evictions || this.entries.has(customerId) || !this.admit(customerId)) return;
    this.put(customerId, state);
  }

  /**
   * After a write to Cassandra: `state` is `before` updated with that write. Cached only if `before` is still
   * the cached state; otherwise the customer was evicted or refilled meanwhile, and is evicted to be safe.
   */
  commit(customerId: string, before: CustomerState, state: CustomerState): void {
    if (this.entries.get(customerId)?.state === before && this.admit(customerId)) this.put(customerId, state);
    else this.evict(customerId);
  }

  evict(customerId: string): void {
    this.evictions++;
    this.remove(customerId);
  }

  /** Evicts every customer matching; returns how many. */
  evictWhere(predicate: (customerId: string) => boolean): number {
    this.evictions++;
    let n = 0;
    for (const id of [...this.entries.keys()]) {
      if (predicate(id)) {
        this.remove(id);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.evictions++;
    this.entries.clear();
    this.bytes = 0;
  }

  hitRatio(): number {
    const total = this.hitCount + this.missCount;
    return total ? this.hitCount / total : 0;
  }

  stats() {
    return {
      entries: this.entries.size,
      /** estimated heap bytes */
      bytes: this.bytes,
      maxEntries: this.maxEntries,
      maxBytes: this.maxBytes,
      hits: this.hitCount,
      misses: this.missCount,
      /** hits / look-ups since start, 0..1 */
      hitRatio: this.hitRatio(),
    };
  }

  private put(customerId: string, state: CustomerState): void {
    if (this.maxEntries === 0 || this.maxBytes === 0) return;
    this.remove(customerId);
    const entry = { state, bytes: estimateBytes(state) };
    this.entries.set(customerId, entry);
    this.bytes += entry.bytes;
    while (this.entries.size > this.maxEntries || (this.bytes > this.maxBytes && this.entries.size > 1)) {
      this.remove(this.entries.keys().next().value!);
    }
  }

  private remove(customerId: string): void {
    const entry = this.entries.get(customerId);
    if (!entry) return;
    this.entries.delete(customerId);
    this.bytes -= entry.bytes;
  }
}
