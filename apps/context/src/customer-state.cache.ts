import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import type { ContextSnapshot } from '@nunchi/contracts';
import type { CustomerContext } from '@nunchi/context-model';
import type { PatternState } from '@nunchi/rules';
import { meter } from '@nunchi/telemetry';

/**
 * What the hot tier holds per customer: the folded context (libs/context-model), enough to fold the next
 * event and build a snapshot without touching Cassandra.
 */
export interface CustomerState extends CustomerContext {
  erased: boolean;
  /** the customer this one was merged into (docs/identity.md): its events are passed on there */
  mergedInto?: string;
  /** the generation the customer's daily rollups are written at (absent: 0, until an unlink: docs/identity.md) */
  generation?: number;
  /** month buckets ('YYYY-MM') whose index row is known to be written: a fold in them need not write it again */
  months: ReadonlySet<string>;
  /**
   * customer_days' month list is missing (days from before migration 0017, or no day in the horizon): the
   * next write lists every month of `months`, so that a list, once present, is complete
   */
  monthListMissing?: boolean;
  /** the snapshot of one local day (index), built on first read: see snapshotOf */
  snapshot?: { day: number; ctx: ContextSnapshot };
  /**
   * partial matches of the stateful event patterns (docs/patterns.md); undefined until first needed: read
   * from Cassandra only while a campaign with such a pattern is active
   */
  patterns?: PatternState;
}

/** Taken before reading Cassandra on a miss: the customer's eviction count then; a fill with a stale ticket is refused. */
export interface LoadTicket {
  readonly customerId: string;
  readonly evictions: number;
}

/** evicted customers remembered for stale-fill checks; a ticket older than the oldest forgotten one is refused */
const EVICTIONS_REMEMBERED = 100_000;
/** partition handovers (evictWhere) remembered for stale-fill checks; older tickets are refused */
const BULK_EVICTIONS_REMEMBERED = 64;

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
  // pattern state: ~550 B for a customer with one pending timer (bench/patterns.ts), ~60 B per remembered id
  const patterns = state.patterns
    ? 300 + Object.keys(state.patterns.slots).length * 250 + state.patterns.seen.length * 60
    : 0;
  return (
    400 +
    state.rows.length * 180 +
    state.recent.length * 200 +
    state.openEvents.length * 600 +
    attributes +
    patterns
  );
}

interface Entry {
  state: CustomerState;
  bytes: number;
}

/**
 * The hot tier: an LRU of customer states bounded by count (NUNCHI_CACHE_MAX_ENTRIES) and by estimated heap
 * (NUNCHI_CACHE_MAX_MIB), updated on write and filled from Cassandra on a miss. It is the source of truth for
 * the customers of the partitions this replica owns (see admitOnly): their events are folded here and nowhere
 * else, one at a time per customer, and what is folded is written to Cassandra before the event is
 * acknowledged (a failed write evicts the customer, so the retry starts again from Cassandra).
 * Reads of other customers go to Cassandra. Two rules keep a slow read from overwriting a newer write:
 * - a miss fills the tier only if that customer was not evicted while it read Cassandra (LoadTicket, per
 *   customer: a capacity eviction or another customer's invalidation refuses nothing);
 * - a write updates the tier only if the entry it started from is still the one cached (commit), else it
 *   evicts, and the next read refills from Cassandra.
 */
@Injectable()
export class CustomerStateCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** increments on every invalidation (evict, evictWhere, clear) */
  private evictions = 0;
  /** customer id → the value of `evictions` when it was last invalidated (bounded, oldest first) */
  private readonly evictedAt = new Map<string, number>();
  /** invalidations of many customers at once (evictWhere): the value of `evictions` then, and whom */
  private readonly bulkEvictions: Array<{ at: number; predicate: (customerId: string) => boolean }> = [];
  /** tickets with fewer evictions than this predate an invalidation no longer remembered: refused */
  private forgottenBefore = 0;
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

  /** Whether the customer is cached; unlike get, neither counts a look-up nor makes it recent. */
  has(customerId: string): boolean {
    return this.entries.has(customerId);
  }

  /** Before reading Cassandra on a miss. */
  ticket(customerId: string): LoadTicket {
    return { customerId, evictions: this.evictions };
  }

  /** After a miss: keeps the state read from Cassandra unless the customer was invalidated meanwhile or is cached already. */
  fill(state: CustomerState, ticket: LoadTicket): boolean {
    const { customerId } = ticket;
    if (!this.isCurrent(ticket) || this.entries.has(customerId) || !this.admit(customerId)) return false;
    this.put(customerId, state);
    return true;
  }

  /** Nothing invalidated this customer since the ticket was taken. */
  isCurrent(ticket: LoadTicket): boolean {
    if (ticket.evictions < this.forgottenBefore) return false;
    for (const bulk of this.bulkEvictions)
      if (bulk.at > ticket.evictions && bulk.predicate(ticket.customerId)) return false;
    const at = this.evictedAt.get(ticket.customerId);
    return at === undefined || at <= ticket.evictions;
  }

  /**
   * After a write to Cassandra: `state` is `before` updated with that write. Cached only if `before` is still
   * the cached state; otherwise the customer was evicted or refilled meanwhile, and is evicted to be safe.
   */
  commit(customerId: string, before: CustomerState, state: CustomerState): void {
    if (this.entries.get(customerId)?.state === before && this.admit(customerId)) this.put(customerId, state);
    else this.evict(customerId);
  }

  /** Invalidates one customer: dropped now, and a load of it already under way will not fill. */
  evict(customerId: string): void {
    this.evictions++;
    this.evictedAt.delete(customerId);
    this.evictedAt.set(customerId, this.evictions);
    if (this.evictedAt.size > EVICTIONS_REMEMBERED) {
      const [, oldest] = this.evictedAt.entries().next().value!;
      this.evictedAt.delete(this.evictedAt.keys().next().value!);
      this.forgottenBefore = Math.max(this.forgottenBefore, oldest);
    }
    this.remove(customerId);
  }

  /**
   * Invalidates every customer matching (a partition handed over): the cached ones are dropped (returns how
   * many), and a load of one already under way will not fill — even if the partition comes back before it ends,
   * since another replica may have applied its events meanwhile.
   */
  evictWhere(predicate: (customerId: string) => boolean): number {
    this.bulkEvictions.push({ at: ++this.evictions, predicate });
    if (this.bulkEvictions.length > BULK_EVICTIONS_REMEMBERED)
      this.forgottenBefore = Math.max(this.forgottenBefore, this.bulkEvictions.shift()!.at);
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
    this.forgottenBefore = ++this.evictions;
    this.evictedAt.clear();
    this.bulkEvictions.length = 0;
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
    // Evicted, not just removed: a load of that customer under way (a preload, a read) may have started
    // before the write this entry holds, and must not fill the older state back in.
    while (this.entries.size > this.maxEntries || (this.bytes > this.maxBytes && this.entries.size > 1)) {
      this.evict(this.entries.keys().next().value!);
    }
  }

  private remove(customerId: string): void {
    const entry = this.entries.get(customerId);
    if (!entry) return;
    this.entries.delete(customerId);
    this.bytes -= entry.bytes;
  }
}
