import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ActiveCustomersRepository, CustomerKeyring } from '@nunchi/cassandra';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { PartitionAssignments, PartitionWarmUp } from '@nunchi/messaging';
import { MissingKekError, SealedDataError } from '@nunchi/sealing';
import { meter } from '@nunchi/telemetry';
import { CustomerStateCache } from './customer-state.cache.js';
import { CONTEXT_GROUP } from './events.controller.js';
import { LoadCustomerStateUseCase } from './load-customer-state.usecase.js';

/** cold loads a preload keeps in flight: enough to keep Cassandra busy, few enough to leave live events room */
const PRELOAD_CONCURRENCY = 4;
/** the preload stops at this share of the hot tier's bounds: it must not push out customers the live path put there */
const ROOM_SHARE = 0.9;

/** What the preload has done since the replica started (GET /v1/context/stats). */
export interface PreloadStats {
  /** NUNCHI_PRELOAD_DAYS: days of activity preloaded per partition (0: off) */
  days: number;
  /** partitions waiting or being preloaded */
  pending: number[];
  /** partitions preloaded to the end (or until the hot tier had no more room), none failed */
  partitionsDone: number;
  /** customers loaded into the hot tier */
  loaded: number;
  /** customers already in the hot tier, or whose partition left meanwhile */
  skipped: number;
  /** loads that failed: the partition's preload stops at the first (logged); the customers load with their events */
  failed: number;
  /**
   * customers whose stored profile or history does not open (a data key under an identity key this replica
   * lacks, or erased meanwhile): skipped, the preload goes on; their events will say why
   */
  unreadable: number;
  /** the hot tier was full before the last partition's customers were all loaded */
  outOfRoom: boolean;
  /** milliseconds the last completed pass over the pending partitions took */
  lastPassMs?: number;
}

/**
 * Warms the hot tier of each partition this replica gains — at start, on a takeover — with the customers
 * active there in the last NUNCHI_PRELOAD_DAYS days (active_customers, written by the fold of each
 * customer's first event of a day), newest day first, in the background, while the partition's events are
 * already being applied. Regulars' first events after a restart or a handover then find them in memory instead
 * of each paying a cold load on the event's path (~150 rollup rows for a regular).
 *
 * Exactness is the hot tier's: each load is an ordinary cold load with a ticket (LoadCustomerStateUseCase), so a
 * customer whose events were applied meanwhile (cached already), evicted, or whose partition was handed over
 * meanwhile (even if it came back) is not filled with what the preload read. It stops when the tier nears its
 * bounds, when the partition leaves, and at the first failed load.
 */
@Injectable()
export class HotTierPreload implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('preload');
  private warmUp?: PartitionWarmUp;
  private readonly counts = { partitionsDone: 0, loaded: 0, skipped: 0, failed: 0, unreadable: 0 };
  private outOfRoom = false;
  private readonly preloaded = meter().createCounter('nunchi_context_preloaded_total', {
    description: 'customers loaded into the hot tier ahead of their events, for partitions gained',
  });

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly assignments: PartitionAssignments,
    private readonly cache: CustomerStateCache,
    private readonly active: ActiveCustomersRepository,
    private readonly load: LoadCustomerStateUseCase,
    private readonly keys: CustomerKeyring,
  ) {}

  onModuleInit(): void {
    if (this.config.domain.preloadDays === 0) return;
    this.warmUp = new PartitionWarmUp(
      this.assignments.group(CONTEXT_GROUP),
      (partition, current) => this.preload(partition, current),
      (partition, error) => this.logger.warn(`partition ${partition}: preload stopped: ${error.message}`),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.warmUp?.stop();
  }

  stats(): PreloadStats {
    return {
      days: this.config.domain.preloadDays,
      pending: this.warmUp?.pending ?? [],
      ...this.counts,
      outOfRoom: this.outOfRoom,
      ...(this.warmUp?.lastPassMs === undefined ? {} : { lastPassMs: this.warmUp.lastPassMs }),
    };
  }

  private async preload(partition: number, current: () => boolean): Promise<void> {
    const nowMs = Date.now();
    const days = this.config.domain.preloadDays;
    const ids = await this.active.recent(partition, days, this.config.domain.timeZone, {
      nowMs,
      partitions: this.config.nats.partitions,
    });
    // their data keys first, 50 a request (each cold load opens the sealed profile and history with one)
    await this.keys.preload(ids, { shouldStop: () => !current() });
    let next = 0;
    let loaded = 0;
    /** the first failure: the partition's preload stops there (most likely Cassandra is unwell; events wait) */
    let failure: Error | undefined;
    /** the first customer whose data did not open */
    let unreadable: Error | undefined;
    const worker = async () => {
      while (next < ids.length && current() && !failure) {
        if (!this.hasRoom()) {
          this.outOfRoom = true;
          return;
        }
        const id = ids[next++];
        if (this.cache.has(id)) {
          this.counts.skipped++;
          continue;
        }
        try {
          await this.load.loadCold(id, nowMs);
          if (this.cache.has(id)) {
            this.counts.loaded++;
            loaded++;
          } else this.counts.skipped++;
        } catch (error) {
          if (error instanceof SealedDataError || error instanceof MissingKekError) {
            // this customer's data, not Cassandra: the others are worth loading
            this.counts.unreadable++;
            unreadable ??= error;
            continue;
          }
          this.counts.failed++;
          failure ??= error as Error;
        }
      }
    };
    await Promise.all(Array.from({ length: PRELOAD_CONCURRENCY }, worker));
    if (loaded) this.preloaded.add(loaded);
    const done =
      `partition ${partition}: ${loaded} of ${ids.length} customers active in the last ${days} days preloaded` +
      (unreadable ? `; some skipped, their data does not open, e.g. ${unreadable.message}` : '');
    if (failure)
      this.logger.warn(
        `${done}; stopped by a failed load (the others load with their events): ${failure.message}`,
      );
    else if (!current()) this.logger.log(`${done}; stopped: the partition moved`);
    else {
      this.counts.partitionsDone++;
      this.logger.log(done);
    }
  }

  private hasRoom(): boolean {
    const { entries, maxEntries, bytes, maxBytes } = this.cache.stats();
    return entries < maxEntries * ROOM_SHARE && bytes < maxBytes * ROOM_SHARE;
  }
}
