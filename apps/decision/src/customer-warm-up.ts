import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ActiveCustomersRepository, CustomerKeyring, DecisionRepository } from '@nunchi/cassandra';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { PartitionAssignments, PartitionWarmUp } from '@nunchi/messaging';
import { meter } from '@nunchi/telemetry';
import { ContactClaims } from './contact-claims.js';
import { DECISION_GROUP } from './decision-messages.controller.js';

/** ledgers a request reads: one partition key each, so a few dozen at most */
const LEDGERS_PER_REQUEST = 50;
/** the warm-up stops at this share of the cache's entries: it must not push out ledgers live decisions put there */
const ROOM_SHARE = 0.9;

/**
 * For each partition this replica gains, reads the customers active there in the last NUNCHI_PRELOAD_DAYS days
 * (`active_customers`, once) and warms, in the background, what their next decisions need: their data keys
 * (CustomerKeyring.preload: ENRICHED opens without a key read) and their contact ledgers, into the ledger
 * cache (a regular's first offer after a restart or a handover then claims against a cached ledger instead of
 * reading it first: one request, ~1–3 ms, off the event's path). A customer without a ledger row is cached
 * with the empty one. Only gained partitions: this replica decides no other customer.
 *
 * A cached ledger is a guess either way (ContactClaims: every claim is conditional on its seq), so a warm-up
 * read that another replica's claim overtook only costs that claim one conflict and a re-read. It never
 * replaces a ledger a live decision cached meanwhile, stops when the partition moves (the released partition's
 * entries are dropped by DecisionMessagesController), and stops when the cache nears its bound.
 */
@Injectable()
export class CustomerWarmUp implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('warm-up');
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
    private readonly keys: CustomerKeyring,
  ) {}

  onModuleInit(): void {
    if (this.config.domain.preloadDays === 0) return;
    this.warmUp = new PartitionWarmUp(
      this.assignments.group(DECISION_GROUP),
      (partition, current) => this.warm(partition, current),
      (partition, error) =>
        this.logger.warn(
          `partition ${partition}: customers not warmed up (keys and ledgers read with their events instead): ${error.message}`,
        ),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.warmUp?.stop();
  }

  /** The data keys and ledgers of one partition's recent customers; how many of each were cached. */
  async warm(partition: number, current: () => boolean): Promise<{ keys: number; ledgers: number }> {
    const { preloadDays: days, timeZone } = this.config.domain;
    const active = await this.active.recent(partition, days, timeZone, {
      partitions: this.config.nats.partitions,
    });
    const keys = await this.keys.preload(active, { shouldStop: () => !current() });
    const ledgers = await this.warmLedgers(active, current);
    this.logger.log(
      `partition ${partition}: data keys of ${keys} and contact ledgers of ${ledgers} of the ${active.length} customers active in the last ${days} days preloaded`,
    );
    return { keys, ledgers };
  }

  private async warmLedgers(active: readonly string[], current: () => boolean): Promise<number> {
    const cache = this.contacts.cache;
    if (cache.maxEntries === 0) return 0;
    const ids = active.filter((id) => !cache.has(id));
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
    return cached;
  }
}
