import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ActiveCustomersRepository } from '@nunchi/cassandra';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { partitionOf } from '@nunchi/contracts';
import { PartitionAssignments } from '@nunchi/messaging';
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
  /** partitions gained and not yet preloaded, in the order gained */
  private readonly queue: number[] = [];
  private inProgress?: number;
  /** per partition, bumped on every acquisition and release: a pass of an older turn of ownership stops */
  private readonly turns = new Map<number, number>();
  private running?: Promise<void>;
  private stopped = false;
  private readonly counts = { partitionsDone: 0, loaded: 0, skipped: 0, failed: 0 };
  private outOfRoom = false;
  private lastPassMs?: number;
  private readonly preloaded = meter().createCounter('nunchi_context_preloaded_total', {
    description: 'customers loaded into the hot tier ahead of their events, for partitions gained',
  });

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly assignments: PartitionAssignments,
    private readonly cache: CustomerStateCache,
    private readonly active: ActiveCustomersRepository,
    private readonly load: LoadCustomerStateUseCase,
  ) {}

  onModuleInit(): void {
    if (this.config.domain.preloadDays === 0) return;
    this.assignments.group(CONTEXT_GROUP).onChange({
      acquired: (partition) => {
        this.nextTurn(partition);
        this.queue.push(partition);
        this.kick();
      },
      released: (partition) => {
        this.nextTurn(partition);
        const at = this.queue.indexOf(partition);
        if (at >= 0) this.queue.splice(at, 1);
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    await this.running;
  }

  stats(): PreloadStats {
    return {
      days: this.config.domain.preloadDays,
      pending: [...(this.inProgress === undefined ? [] : [this.inProgress]), ...this.queue],
      ...this.counts,
      outOfRoom: this.outOfRoom,
      ...(this.lastPassMs === undefined ? {} : { lastPassMs: this.lastPassMs }),
    };
  }

  private nextTurn(partition: number): void {
    this.turns.set(partition, (this.turns.get(partition) ?? 0) + 1);
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.queue.length) this.kick(); // gained while the last pass was ending
    });
  }

  /** One partition at a time, in the order gained, until none is left. */
  private async drain(): Promise<void> {
    const started = performance.now();
    for (let partition = this.queue.shift(); partition !== undefined && !this.stopped;) {
      this.inProgress = partition;
      try {
        await this.preload(partition, this.turns.get(partition)!);
      } catch (error) {
        this.logger.warn(`partition ${partition}: preload stopped: ${(error as Error).message}`);
      }
      partition = this.queue.shift();
    }
    this.inProgress = undefined;
    this.lastPassMs = Math.round(performance.now() - started);
  }

  private async preload(partition: number, turn: number): Promise<void> {
    const nowMs = Date.now();
    const days = this.config.domain.preloadDays;
    const ids = await this.active.recent(partition, days, this.config.domain.timeZone, nowMs);
    const current = () => !this.stopped && this.turns.get(partition) === turn;
    let next = 0;
    let loaded = 0;
    /** the first failure: the partition's preload stops there (most likely Cassandra is unwell; events wait) */
    let failure: Error | undefined;
    const worker = async () => {
      while (next < ids.length && current() && !failure) {
        if (!this.hasRoom()) {
          this.outOfRoom = true;
          return;
        }
        const id = ids[next++];
        // the index is per partition, but NUNCHI_PARTITIONS may have changed since it was written
        if (partitionOf(id, this.config.nats.partitions) !== partition || this.cache.has(id)) {
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
          this.counts.failed++;
          failure ??= error as Error;
        }
      }
    };
    await Promise.all(Array.from({ length: PRELOAD_CONCURRENCY }, worker));
    if (loaded) this.preloaded.add(loaded);
    const done = `partition ${partition}: ${loaded} of ${ids.length} customers active in the last ${days} days preloaded`;
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
