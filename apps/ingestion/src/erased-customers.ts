import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CQL_CLIENT, ErasureRepository, type CqlClient } from '@nunchi/cassandra';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { Readiness } from '@nunchi/telemetry';

/**
 * Every erased customer id, in memory, so that ingestion refuses an erased customer's events without reading
 * a tombstone per event. Loaded whole from `erased_customers` at start (the service is not ready before),
 * then kept current by reading the erasure log of today and yesterday (`erasures_by_day`, one small partition
 * a day) every half NUNCHI_IDENTITY_CACHE_TTL_MS, and at once on the customers-changed hint. Erasures never
 * end, so the set only grows: ~50 bytes an erased customer.
 *
 * An erasure returns no sooner than NUNCHI_IDENTITY_CACHE_TTL_MS after its tombstone is written (settleMs), so
 * by then every replica has refreshed at least once. A replica that cannot refresh for longer than that says
 * so (`isErased` → undefined) and its caller reads the tombstone instead.
 */
@Injectable()
export class ErasedCustomers implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('erasures');
  private readonly ids = new Set<string>();
  private readonly erasure: ErasureRepository;
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
    for (const id of await this.erasure.erasedSince(sinceMs, Date.now())) this.ids.add(id);
  }

  private fresh(): boolean {
    return performance.now() - this.refreshedAt < this.ttlMs;
  }
}
