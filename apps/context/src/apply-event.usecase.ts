import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import {
  foldEvent,
  foldIntoClosedDay,
  localDayRange,
  withOnlyPartsRead,
  type FoldResult,
} from '@nunchi/context-model';
import { eventKey, Headers, isSealedEvent, partitionOf, Subjects } from '@nunchi/contracts/core';
import type {
  AcceptedEvent,
  CustomerProfile,
  EnrichedMessage,
  EnrichedPersonal,
  EventsMessage,
} from '@nunchi/contracts';
import { CampaignSetHolder } from '@nunchi/cassandra/nest';
import {
  ContextRepository,
  CustomerKeyring,
  CustomerRepository,
  profileWriteTimestamp,
  type TimerRowChange,
} from '@nunchi/cassandra';
import {
  ABSENCE_EVENT_TYPE,
  EMPTY_PATTERN_STATE,
  fireAbsence,
  type CampaignSet,
  foldPatterns,
  type PatternState,
  type TimerChange,
} from '@nunchi/rules';
import { Outcome, Publisher, type Delivery } from '@nunchi/messaging';
import { latencyHistogram } from '@nunchi/telemetry';
import { snapshotOf } from './customer-snapshot.js';
import { CustomerStateCache, type CustomerState } from './customer-state.cache.js';
import { LoadCustomerStateUseCase } from './load-customer-state.usecase.js';
import { MergeCustomersUseCase } from './merge-customers.usecase.js';

/**
 * Folds one accepted event into the customer's context (libs/context-model foldEvent) and emits it enriched
 * with a snapshot. This replica owns the customer's partition, so its hot tier is the source of truth: a warm
 * customer costs no read at all. The fold is published on ENRICHED at once and written to Cassandra at the
 * same time (one batch: the event row and the day's rollup rows); the EVENTS message is acknowledged only
 * after both are stored.
 *
 * Safe to run twice and to stop anywhere. A crash before the write redelivers the event to a replica that
 * loads the customer from Cassandra without it, folds it again and publishes the same ENRICHED message (its
 * msgID is the event id). A repeat is recognised in the open days' events (memory) or in the stored events of
 * a closed day; every repeat rewrites its day and publishes again, marked as a repeat (decision then treats it
 * as a redelivery: a recorded decision is not made again), in case the first attempt was cut short between
 * the two. A repeat cannot be told from a first delivery by the message alone: a consumer recreated at its
 * ack floor after a takeover or a NATS failure delivers it afresh, and a sender may retry past the dedupe
 * window. A write that fails evicts the customer, so the retry starts from Cassandra.
 */
@Injectable()
export class ApplyEventUseCase {
  private readonly applyMs = latencyHistogram(
    'nunchi_context_apply_ms',
    'milliseconds to apply one event: load (hot tier or Cassandra), fold, write and publish on ENRICHED',
  );

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly load: LoadCustomerStateUseCase,
    private readonly cache: CustomerStateCache,
    private readonly customers: CustomerRepository,
    private readonly history: ContextRepository,
    private readonly publisher: Publisher,
    private readonly merges: MergeCustomersUseCase,
    private readonly campaigns: CampaignSetHolder,
    private readonly keys: CustomerKeyring,
  ) {}

  async execute(sealed: Delivery<EventsMessage>): Promise<Outcome> {
    const message = sealed.body;
    if (
      !message ||
      typeof message.id !== 'string' ||
      typeof message.customerId !== 'string' ||
      typeof message.occurredAtMs !== 'number'
    ) {
      return Outcome.reject('not an AcceptedEvent');
    }
    // The campaigns say which event patterns to fold: an event before their first load waits for it.
    const campaignSet = this.campaigns.current as CampaignSet | undefined;
    if (!campaignSet) return Outcome.retry(500, 'campaigns not loaded yet');
    const startedMs = performance.now();
    const customerId = message.customerId;
    const nowMs = Date.now();
    const options = { timeZone: this.config.domain.timeZone, nowMs };
    let before = await this.load.execute(customerId, nowMs);
    if (before.erased)
      return Outcome.reject(
        message.link
          ? `cannot merge ${message.link.absorbedId} into ${message.link.survivorId}: ${customerId} was erased; nothing was merged`
          : `customer ${customerId} was erased; event refused`,
      );
    // The payload travels sealed under the customer's data key; the key read here is the one ENRICHED's seal uses.
    const opened = await this.keys.openEvent(message);
    if (opened.kind !== 'opened') return Outcome.reject(opened.why);
    const event = opened.value;
    const delivery: Delivery<AcceptedEvent> = { ...sealed, body: event };
    // One customer across identifiers (MergeCustomersUseCase): an event of a customer merged away goes on to
    // the survivor; a linking event freezes the absorbed customer here, or merges into the survivor here.
    if (before.mergedInto) return this.merges.passOn(delivery, before.mergedInto);
    if (event.link?.stage === 'freeze') return this.merges.freeze(delivery, before);
    if (event.link?.stage === 'absorb') {
      const merged = await this.merges.absorb(delivery, nowMs);
      if ('kind' in merged) return merged;
      before = merged;
    }
    // A due absence timer (AbsenceTimers), in order with the customer's own events: not a customer event.
    if ((event.type as string) === ABSENCE_EVENT_TYPE)
      return this.fireTimer(event, campaignSet, before, delivery, nowMs);

    let result: FoldResult = foldEvent(before, event, options);
    if (result.kind === 'closed-day') {
      // A late event: its day left memory, so the day's stored events are read (the one read on this path).
      const range = localDayRange(result.day, options.timeZone);
      const stored = await this.history.eventsOfDay(customerId, result.day, range.startMs, range.endMs);
      result = foldIntoClosedDay(result.context, event, stored, options);
    }
    if (result.kind === 'closed-day') throw new Error('unreachable: a closed day folded as closed');

    const month = result.day.slice(0, 7);
    const newMonth = !before.months.has(month);
    const months = newMonth ? new Set([...before.months, month]) : before.months;
    const listMonths = before.monthListMissing ? [...months] : newMonth ? [month] : [];
    let next: CustomerState = { ...result.context, erased: false, generation: before.generation, months };
    // Event patterns (docs/patterns.md): only while a campaign has a stateful one — no read or write otherwise.
    const patterns = campaignSet.statefulPatterns;
    let matched: readonly string[] = [];
    let timers: TimerRowChange[] = [];
    if (patterns.length > 0) {
      const stored = before.patterns ?? (await this.storedPatterns(customerId));
      if (result.kind === 'applied') {
        const fold = foldPatterns(stored, event, patterns);
        next = { ...next, patterns: fold.state };
        matched = fold.matched;
        timers = fold.timers.map((t) => this.timerRow(customerId, t));
      } else {
        // A repeat changes nothing; it reports what the first attempt found, if still remembered.
        next = { ...next, patterns: stored };
        matched = stored.seen.find((s) => s.id === eventKey(event))?.matched ?? [];
      }
    }
    if (result.kind === 'applied' && event.type === 'profile_update') {
      // Stamped with the event's time, but no further ahead than an erasure's deletions reach (write-fence.ts).
      await this.customers.updateFields(
        customerId,
        profileFields(event),
        event.occurredAtMs,
        profileWriteTimestamp(event.occurredAtMs, event.receivedAtMs),
      );
      // Read back: Cassandra resolves the fields one by one on event time, which a late update may have lost.
      next = { ...next, profile: await this.customers.get(customerId) };
    }
    this.cache.commit(customerId, before, next);
    try {
      await Promise.all([
        this.history.writeFolded(event, result.day, result.dayRows, result.dayEventCount, {
          indexMonth: newMonth,
          listMonths,
          generation: before.generation,
          patternState: patterns.length > 0 && next.patterns ? JSON.stringify(next.patterns) : undefined,
          timers,
          // Stored as EVENTS sealed it (when under the key the row would be sealed with): not sealed again.
          ...(isSealedEvent(message) ? { sealedPayload: message.sealedPayload } : {}),
          // The customer's first event of the day: a replica gaining the partition preloads it (HotTierPreload).
          ...(result.dayEventCount === 1
            ? { activeIn: partitionOf(customerId, this.config.nats.partitions) }
            : {}),
        }),
        this.publishEnriched(event, next, delivery, nowMs, campaignSet, matched, result.kind === 'duplicate'),
      ]);
    } catch (error) {
      this.cache.evict(customerId);
      throw error;
    }
    // Crash tests: die between the write and the acknowledgement.
    const failpoint = this.config.failpoint;
    if (failpoint?.point === 'context.after-write' && failpoint.eventId === event.id)
      process.kill(process.pid, 'SIGKILL');
    this.applyMs.record(performance.now() - startedMs, { result: result.kind });
    return Outcome.done();
  }

  /**
   * Fires a due absence timer if it is still the customer's pending one for that pattern (not cancelled or
   * re-armed since it was published): ENRICHED gets the synthetic event (fireAbsence), then the state without
   * the timer and the timer row's deletion are stored. In that order: a crash in between fires it again, with
   * the same id, which ENRICHED and decision take once.
   */
  private async fireTimer(
    message: AcceptedEvent,
    campaignSet: CampaignSet,
    before: CustomerState,
    delivery: Delivery<AcceptedEvent>,
    nowMs: number,
  ): Promise<Outcome> {
    const customerId = message.customerId;
    const { patternKey, anchorEventId } = message.payload as { patternKey?: string; anchorEventId?: string };
    const pattern = campaignSet.statefulPatterns.find((p) => p.key === patternKey);
    if (pattern?.kind !== 'absence') return Outcome.done(); // its campaign is no longer active
    const stored = before.patterns ?? (await this.storedPatterns(customerId));
    const slot = stored.slots[pattern.key];
    if (slot?.kind !== 'absence' || slot.timer?.anchorEventId !== anchorEventId) return Outcome.done();
    const fired = fireAbsence(stored, customerId, pattern, nowMs, this.config.domain.timeZone);
    if (!fired) return Outcome.done(); // not due yet (clocks apart): the scanner publishes it again
    const next: CustomerState = { ...before, patterns: fired.state };
    this.cache.commit(customerId, before, next);
    try {
      await this.publishEnriched(fired.event, next, delivery, nowMs, campaignSet, [pattern.campaignId]);
      await this.history.writePatternState(customerId, JSON.stringify(fired.state), nowMs, [
        this.timerRow(customerId, {
          patternKey: pattern.key,
          campaignId: pattern.campaignId,
          set: null,
          cleared: slot.timer,
        }),
      ]);
    } catch (error) {
      this.cache.evict(customerId);
      throw error;
    }
    return Outcome.done();
  }

  private timerRow(customerId: string, t: TimerChange): TimerRowChange {
    return {
      partition: partitionOf(customerId, this.config.nats.partitions),
      patternKey: t.patternKey,
      set: t.set,
      cleared: t.cleared,
    };
  }

  /** The customer's stored pattern state (one read, the first time a pattern needs it), or an empty one. */
  private async storedPatterns(customerId: string): Promise<PatternState> {
    const text = await this.history.patternState(customerId);
    return text === undefined ? EMPTY_PATTERN_STATE : (JSON.parse(text) as PatternState);
  }

  private async publishEnriched(
    event: AcceptedEvent,
    state: CustomerState,
    delivery: Delivery<AcceptedEvent>,
    nowMs: number,
    campaignSet: CampaignSet,
    patterns: readonly string[],
    repeat = false,
  ): Promise<void> {
    // Built once per event; memoised in the state, it also serves reads of this customer until the next fold.
    // ENRICHED carries the parts of it the active campaigns read (the rest left out, and marked so); of a map
    // by name read only by literal names (ctx.category.beer), those entries.
    const ctx = withOnlyPartsRead(
      snapshotOf(event.customerId, state, nowMs, this.config.domain.timeZone, event.storeId),
      campaignSet.contextPartsRead,
      campaignSet.contextKeysRead,
    );
    // Crypto-shredding (docs/security.md "Per-customer keys"): the personal part — profile, context, the
    // event's payload — is sealed under the customer's data key (created by its first event; from memory
    // after that), so an erasure, which deletes the key, makes every copy of it unreadable. What routing and
    // diagnosis need stays in clear.
    const { payload, ...routing } = event;
    const personal: EnrichedPersonal = { payload, customer: state.profile, ctx };
    const enriched: EnrichedMessage = {
      event: routing,
      personal: await this.keys.seal(event.customerId, personal),
      ...(patterns.length > 0 ? { patterns: [...patterns] } : {}),
    };
    await this.publisher.persist(
      Subjects.enriched(partitionOf(event.customerId, this.config.nats.partitions)),
      enriched,
      {
        // Keyed by channel and id: another adapter's event with the same id is another event.
        msgID: eventKey(event),
        headers: {
          [Headers.receivedAt]: delivery.header(Headers.receivedAt) ?? String(event.receivedAtMs),
          ...(repeat ? { [Headers.repeat]: '1' } : {}),
        },
      },
    );
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
    channelConsent: p.channelConsent,
    attributes: p.attributes,
  };
}
