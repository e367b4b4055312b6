import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ActiveCustomersRepository, DecisionRepository } from '@nunchi/cassandra';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { partitionOf } from '@nunchi/contracts';
import { PartitionAssignments, PartitionWarmUp } from '@nunchi/messaging';
import { meter } from '@nunchi/telemetry';
import { ContactClaims } from './contact-claims.js';
import { DECISION_GROUP } from './decision-messages.controller.js';

/** ledgers a request reads: one partition key each, so a few dozen at most */
const LEDGERS_PER_REQUEST = 50;
/** the warm-up stops at this share of the cache's entries: it must not push out ledgers live decisions put there */
const ROOM_SHARE = 0.9;

/**
 * Reads into the ledger cache, for each partition this replica gains, the contact ledgers of the customers
 * active there in the last NUNCHI_PRELOAD_DAYS days (`active_customers`), in the background: a regular's first
 * offer after a restart or a handover then claims against a cached ledger instead of reading it first (one
 * request, ~1–3 ms, off the event's path). A customer without a ledger row is cached with the empty one.
 *
 * A cached ledger is a guess either way (ContactClaims: every claim is conditional on its seq), so a warm-up
 * read that another replica's claim overtook only costs that claim one conflict and a re-read. It never
 * replaces a ledger a live decision cached meanwhile, stops when the partition moves (the released partition's
 * entries are dropped by DecisionMessagesController), and stops when the cache nears its bound.
 */
@Injectable()
export class LedgerWarmUp implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ledger-warm-up');
  private warmUp?: PartitionWarmUp;
  private readonly preloaded = meter().createCounter('nunchi_ledgers_preloaded_total', {
    description:
      "customers' contact ledgers read into the cache ahead of their events, for partitions gained",
  });

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly assignments: PartitionAssignments,
    private readonly active: ActiveCustomersRepository,
    private readonly decisions: DecisionRepository,
    private readonly contacts: ContactClaims,
  ) {}

  onModuleInit(): void {
    if (this.config.domain.preloadDays === 0 || this.contacts.cache.maxEntries === 0) return;
    this.warmUp = new PartitionWarmUp(
      this.assignments.group(DECISION_GROUP),
      (partition, current) => this.warm(partition, current),
      (partition, error) =>
        this.logger.warn(
          `partition ${partition}: ledgers not preloaded (read with the first offers instead): ${error.message}`,
        ),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.warmUp?.stop();
  }

  /** The ledgers of one partition's recent customers; how many were cached. */
  async warm(partition: number, current: () => boolean): Promise<number> {
    const { preloadDays: days, timeZone } = this.config.domain;
    const cache = this.contacts.cache;
    const ids = (await this.active.recent(partition, days, timeZone)).filter(
      // the index is per partition, but NUNCHI_PARTITIONS may have changed since it was written
      (id) => partitionOf(id, this.config.nats.partitions) === partition && !cache.has(id),
    );
    let cached = 0;
    for (let at = 0; at < ids.length && current();) {
      const room = Math.floor(cache.maxEntries * ROOM_SHARE) - cache.size;
      if (room <= 0 || cache.estimatedBytes >= cache.maxBytes * ROOM_SHARE) break;
      const chunk = ids.slice(at, (at += Math.min(LEDGERS_PER_REQUEST, room)));
      const ledgers = await this.decisions.contactsOfMany(chunk);
      if (!current()) break; // released while reading: its entries were dropped, do not bring them back
      for (const [id, ledger] of ledgers) {
        if (cache.has(id)) continue; // a live decision read or claimed it meanwhile: newer than this read
        cache.set(id, ledger);
        cached++;
      }
    }
    if (cached) this.preloaded.add(cached);
    this.logger.log(
      `partition ${partition}: contact ledgers of ${cached} of ${ids.length} customers active in the last ${days} days preloaded`,
    );
    return cached;
  }
}
