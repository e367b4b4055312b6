import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { buildSnapshot, localDay, localDayRange, mergeRows, pushRecent, rollupDay } from '@nunchi/context-model';
import { Headers, partitionOf, Subjects, type AcceptedEvent, type CustomerProfile, type EnrichedEvent } from '@nunchi/contracts';
import { ContextRepository, CustomerRepository } from '@nunchi/cassandra';
import { Outcome, Publisher, type Delivery } from '@nunchi/messaging';
import { withSpan } from '@nunchi/telemetry';
import { CustomerStateCache } from './customer-state.cache.js';
import { LoadCustomerStateUseCase } from './load-customer-state.usecase.js';

/**
 * Applies one accepted event to the customer's context and emits it enriched with a snapshot.
 * Safe to run twice: the event row is a keyed upsert, the day's rollups are recomputed from the day's
 * events (never incremented), and ENRICHED deduplicates on the event id.
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
    if (!event || typeof event.id !== 'string' || typeof event.customerId !== 'string' || typeof event.occurredAtMs !== 'number') {
      return Outcome.reject('not an AcceptedEvent');
    }
    const tz = this.config.domain.timeZone;
    // Fully applied before (seen is written last): a duplicate beyond JetStream's window, or a redelivery.
    if (await this.history.wasSeen(event.id)) return Outcome.done();

    const nowMs = Date.now();
    const state = await this.load.execute(event.customerId, nowMs);
    if (state.erased) return Outcome.reject(`customer ${event.customerId} was erased; event refused`);

    const day = localDay(event.occurredAtMs, tz);
    await withSpan('context.update', { attributes: { 'nunchi.customer.id': event.customerId, 'nunchi.day': day } }, async () => {
      if (event.type === 'profile_update') {
        const profile = mergeProfile(state.profile, event);
        await this.customers.upsert(profile, new Date(event.occurredAtMs));
        state.profile = profile;
      }
      await this.history.insertEvent(event, day);
      const range = localDayRange(day, tz);
      const dayEvents = await this.history.eventsOfDay(event.customerId, day, range.startMs, range.endMs);
      const rows = rollupDay(dayEvents, day, tz);
      await this.history.upsertDaily(event.customerId, rows);
      state.rows = mergeRows(state.rows, rows);
      state.recent = pushRecent(state.recent, event);
      this.cache.set(event.customerId, state);
    });

    const ctx = buildSnapshot({ customerId: event.customerId, rows: state.rows, recent: state.recent, nowMs, timeZone: tz, currentStoreId: event.storeId });
    const enriched: EnrichedEvent = { event, customer: state.profile, ctx };
    await this.publisher.persist(Subjects.enriched(partitionOf(event.customerId, this.config.nats.partitions)), enriched, {
      msgID: event.id,
      headers: { [Headers.receivedAt]: delivery.header(Headers.receivedAt) ?? String(event.receivedAtMs) },
    });
    await this.history.markSeen(event.id, event.customerId, new Date(nowMs));
    return Outcome.done();
  }
}

function mergeProfile(current: CustomerProfile | null, event: AcceptedEvent): CustomerProfile {
  const p = event.payload as Partial<CustomerProfile> & { attributes?: Record<string, string> };
  return {
    ...(current ?? { id: event.customerId, attributes: {} }),
    ...(p.age !== undefined ? { age: p.age } : {}),
    ...(p.gender !== undefined ? { gender: p.gender } : {}),
    ...(p.region !== undefined ? { region: p.region } : {}),
    ...(p.creditTier !== undefined ? { creditTier: p.creditTier } : {}),
    ...(p.marketingConsent !== undefined ? { marketingConsent: p.marketingConsent } : {}),
    attributes: { ...(current?.attributes ?? {}), ...(p.attributes ?? {}) },
    id: event.customerId,
  };
}
