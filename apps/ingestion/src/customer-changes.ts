import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CQL_CLIENT } from '@nunchi/cassandra/nest';
import { CustomerRepository, ErasureRepository, type CqlClient } from '@nunchi/cassandra';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { Readiness } from '@nunchi/telemetry/nest';

/**
 * What ingestion must know of changes to customers, without a read per event:
 * - every erased customer id, in memory, so that an erased customer's events are refused without reading a
 *   tombstone. Loaded whole from `erased_customers` at start (the service is not ready before), then kept
 *   current from the erasure log (`erasures_by_day`). Erasures never end, so the set only grows: ~50 bytes
 *   an erased customer;
 * - customers who lost an identifier to another (`identifier_changes_by_day`), and customers newly erased: each
 *   is handed to `onIdentifiersChanged` (IdentityRepository drops the owners it cached for them).
 * Both logs are read for today and yesterday (one small partition a day each) every half
 * NUNCHI_IDENTITY_CACHE_TTL_MS, and at once on the customers-changed hint.
 *
 * An erasure returns no sooner than NUNCHI_IDENTITY_CACHE_TTL_MS after its tombstone is written (settleMs), so
 * by then every replica has refreshed at least once. A replica that cannot refresh for longer than that says
 * so (`isErased` → undefined) and its caller reads the tombstone instead.
 */
@Injectable()
export class CustomerChanges implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('erasures');
  private readonly ids = new Set<string>();
  private readonly erasure: ErasureRepository;
  private readonly customers: CustomerRepository;
  /** identifier changes already handed on (today's and yesterday's log) */
  private readonly changesSeen = new Set<string>();
  private onChanged: (customerIds: string[]) => void = () => undefined;
  private readonly ttlMs: number;
  /** performance.now() when the last complete refresh was sent; -Infinity before the first */
  private refreshedAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    @Inject(CQL_CLIENT) client: CqlClient,
    @Inject(CONFIG) config: NunchiConfig,
    readiness: Readiness,
  ) {
    this.erasure = new ErasureRepository(client);
    this.customers = new CustomerRepository(client);
    this.ttlMs = config.domain.identityCacheTtlMs;
    readiness.register('erasures', () =>
      Promise.resolve(
        this.fresh()
          ? { ok: true, detail: `${this.ids.size} erased customers known` }
          : { ok: false, detail: 'the set of erased customers is not current' },
      ),
    );
  }

  async onModuleInit(): Promise<void> {
    const startedAt = performance.now();
    const wallMs = Date.now();
    for (const id of await this.erasure.allErased()) this.ids.add(id);
    // Erasures written during the scan are in today's log: one refresh closes the gap.
    await this.refreshSince(wallMs - 60_000);
    this.refreshedAt = startedAt;
    this.timer = setInterval(() => void this.refresh(), Math.max(100, this.ttlMs / 2)).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Called with the customers who lost identifiers since the last refresh (each once). */
  onIdentifiersChanged(listener: (customerIds: string[]) => void): void {
    this.onChanged = listener;
  }

  /** The logs were read within the last NUNCHI_IDENTITY_CACHE_TTL_MS: what they would say is known. */
  current(): boolean {
    return this.fresh();
  }

  /** true or false while the set is current; undefined when it could not be refreshed for a TTL. */
  isErased(customerId: string): boolean | undefined {
    return this.fresh() ? this.ids.has(customerId) : undefined;
  }

  /** performance.now() as of which isErased answers (the last complete refresh). */
  get asOf(): number {
    return this.refreshedAt;
  }

  /** Reads today's and yesterday's erasures now (the customers-changed hint); concurrent calls share one read. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const startedAt = performance.now();
      try {
        await this.refreshSince(Date.now() - 86_400_000);
        this.refreshedAt = startedAt;
      } catch (error) {
        this.logger.warn(`erasure log not read: ${(error as Error).message}`);
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async refreshSince(sinceMs: number): Promise<void> {
    const nowMs = Date.now();
    const [erased, changed] = await Promise.all([
      this.erasure.erasedSince(sinceMs, nowMs),
      this.customers.identifierChangesSince(sinceMs, nowMs),
    ]);
    // A newly erased customer's identifiers go from the identity cache too: a replica that missed the hint
    // must not keep them (personal data) until they age out.
    const newlyErased = erased.filter((id) => !this.ids.has(id));
    for (const id of erased) this.ids.add(id);
    // Each change once; the log keeps a day or two of entries, so what is seen is bounded the same way.
    const fresh = changed.filter((c) => !this.changesSeen.has(`${c.atMs}/${c.customerId}`));
    if (this.changesSeen.size > 100_000) this.changesSeen.clear();
    for (const c of fresh) this.changesSeen.add(`${c.atMs}/${c.customerId}`);
    if (fresh.length || newlyErased.length)
      this.onChanged([...fresh.map((c) => c.customerId), ...newlyErased]);
  }

  private fresh(): boolean {
    return performance.now() - this.refreshedAt < this.ttlMs;
  }
}
