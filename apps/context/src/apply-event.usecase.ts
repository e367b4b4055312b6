import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { localDay, localDayRange, mergeRows, pruneRows, pushRecent, rollupDay } from '@nunchi/context-model';
import {
  Headers,
  partitionOf,
  Subjects,
  type AcceptedEvent,
  type CustomerProfile,
  type EnrichedEvent,
} from '@nunchi/contracts';
import { ContextRepository, CustomerRepository } from '@nunchi/cassandra';
import { Outcome, Publisher, type Delivery } from '@nunchi/messaging';
import { withSpan } from '@nunchi/telemetry';
import { snapshotOf } from './customer-snapshot.js';
import { CustomerStateCache, type CustomerState } from './customer-state.cache.js';
import { LoadCustomerStateUseCase } from './load-customer-state.usecase.js';

/**
 * Applies one accepted event to the customer's context and emits it enriched with a snapshot.
 * Safe to run twice, and safe to stop anywhere (a killed replica's message is redelivered): the event row
 * is a keyed upsert, the day's rollups are recomputed from the day's events (never incremented), ENRICHED
 * deduplicates on the event id, and the seen mark — which skips all of this on a repeat — is written last.
 */
@Injectable()
export class ApplyEventUseCase {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly load: LoadCustomerStateUseCase,
    private readonly cache: CustomerStateCache,
    private readonly customers: CustomerRepository,
    private readonly history: ContextRepository,
    private readonly publisher: Publisher,
  ) {}

  async execute(delivery: Delivery<AcceptedEvent>): Promise<Outcome> {
    const event = delivery.body;
    if (
      !event ||
      typeof event.id !== 'string' ||
      typeof event.customerId !== 'string' ||
      typeof event.occurredAtMs !== 'number'
    ) {
      return Outcome.reject('not an AcceptedEvent');
    }
    const tz = this.config.domain.timeZone;
    // Read every time, not from the hot tier: an erasure on another replica must stop the very next event.
    const [seen, erased] = await Promise.all([
      this.history.wasSeen(event.id),
      this.customers.isErased(event.customerId),
    ]);
    if (erased) return Outcome.reject(`customer ${event.customerId} was erased; event refused`);
    // Fully applied before (seen is written last): a duplicate beyond JetStream's window, or a redelivery.
    if (seen) return Outcome.done();

    const nowMs = Date.now();
    const before = await this.load.execute(event.customerId, nowMs);
    const day = localDay(event.occurredAtMs, tz);
    const state = await withSpan(
      'context.update',
      { attributes: { 'nunchi.customer.id': event.customerId, 'nunchi.day': day } },
      async () => {
        let profile = before.profile;
        if (event.type === 'profile_update') {
          await this.customers.updateFields(event.customerId, profileFields(event), event.occurredAtMs);
          // Read back: Cassandra resolved it field by field on event time, which a late update may have lost.
          profile = await this.customers.get(event.customerId);
        }
        await this.history.insertEvent(event, day);
        const range = localDayRange(day, tz);
        const dayEvents = await this.history.eventsOfDay(event.customerId, day, range.startMs, range.endMs);
        const rows = rollupDay(dayEvents, day, tz);
        await this.history.upsertDay(event.customerId, day, rows, dayEvents.length);
        const next: CustomerState = {
          profile,
          rows: pruneRows(mergeRows(before.rows, rows), localDay(nowMs, tz)),
          recent: pushRecent(before.recent, event),
          erased: false,
        };
        this.cache.commit(event.customerId, before, next);
        return next;
      },
    );

    // Built once per event; memoised in the state, it also serves reads of this customer until the next write.
    const ctx = snapshotOf(event.customerId, state, nowMs, tz, event.storeId);
    const enriched: EnrichedEvent = { event, customer: state.profile, ctx };
    await this.publisher.persist(
      Subjects.enriched(partitionOf(event.customerId, this.config.nats.partitions)),
      enriched,
      {
        msgID: event.id,
        headers: { [Headers.receivedAt]: delivery.header(Headers.receivedAt) ?? String(event.receivedAtMs) },
      },
    );
    await this.history.markSeen(event.id, event.customerId, new Date(nowMs));
    return Outcome.done();
  }
}

/** The profile fields a profile_update names (validated by ingestion); the rest stay as they are. */
function profileFields(event: AcceptedEvent): Omit<Partial<CustomerProfile>, 'id'> {
  const p = event.payload as Partial<CustomerProfile>;
  return {
    age: p.age,
    gender: p.gender,
    region: p.region,
    creditTier: p.creditTier,
    marketingConsent: p.marketingConsent,
    attributes: p.attributes,
  };
}
