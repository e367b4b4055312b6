import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { localDay, rollupDay } from '@nunchi/context-model';
import { decisionIdOf, eventKey, Subjects } from '@nunchi/contracts/core';
import type { UnlinkReceipt } from '@nunchi/contracts';
import {
  ContextRepository,
  CustomerRepository,
  DecisionRepository,
  mapBounded,
  MergeRepository,
  type StoredContacts,
} from '@nunchi/cassandra';
import { Publisher } from '@nunchi/messaging';
import { withoutMergedLedger } from '@nunchi/rules';
import { ApiError } from '@nunchi/telemetry/nest';
import { CustomerStateCache } from './customer-state.cache.js';

/**
 * Undoes a merge made by mistake (docs/identity.md, "Unlinking"), split by its merge record: the absorbed
 * customer's events leave the survivor (their days rebuilt from what is left, at the survivor's next rollup
 * generation, so the smaller days win over the merged ones), its identities, decisions and ledger counts go
 * back to it, and it takes events again under its own id. Events that reached the survivor after the merge
 * stay with the survivor: nothing says which identifier was the other person's. Safe to run again until it
 * completes (every step is keyed, the ledger guarded by its merge marker); then the record is gone and a
 * repeat answers 404.
 */
@Injectable()
export class UnlinkCustomerUseCase {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly customers: CustomerRepository,
    private readonly history: ContextRepository,
    private readonly decisions: DecisionRepository,
    private readonly merges: MergeRepository,
    private readonly cache: CustomerStateCache,
    private readonly publisher: Publisher,
  ) {}

  async execute(absorbedId: string): Promise<UnlinkReceipt> {
    const record = await this.merges.get(absorbedId);
    if (!record)
      throw new ApiError(404, 'NOT_FOUND', `customer ${absorbedId} is not merged into another`, [
        { path: 'id', message: 'no merge record: name the customer that was absorbed, not the survivor' },
      ]);
    if (record.state !== 'done')
      throw new ApiError(
        409,
        'CONFLICT',
        `the merge of ${absorbedId} is still under way; try again shortly`,
        [],
      );
    const { survivorId } = record;
    const timeZone = this.config.domain.timeZone;
    const [survivor, survivorEvents, absorbedEvents] = await Promise.all([
      this.customers.getWithLink(survivorId),
      this.history.allEvents(survivorId),
      this.history.allEvents(absorbedId),
    ]);
    if (survivor.mergedInto)
      throw new ApiError(
        409,
        'CONFLICT',
        `${survivorId} was merged into ${survivor.mergedInto} since: unlink ${survivorId} first`,
        [],
      );

    // The absorbed customer's own events leave; the linking event stays with the survivor (it was theirs too).
    // Events are named by their key (channel and id). The merge record names the linking event by its key;
    // records written before keys name it by its bare id.
    const own = new Map(absorbedEvents.map((e) => [eventKey(e), e]));
    if (!own.delete(record.eventId)) for (const [key, e] of own) if (e.id === record.eventId) own.delete(key);
    const leaving = survivorEvents.filter((e) => own.has(eventKey(e)));
    const staying = survivorEvents.filter((e) => !own.has(eventKey(e)));
    const generation = survivor.generation + 1;
    const days = [...new Set(leaving.map((e) => localDay(e.occurredAtMs, timeZone)))];
    await this.history.deleteEvents(leaving, timeZone);
    await mapBounded(days, 32, (day) => {
      const ofDay = staying.filter((e) => localDay(e.occurredAtMs, timeZone) === day);
      return this.history.upsertDay(
        survivorId,
        day,
        rollupDay(ofDay, day, timeZone),
        ofDay.length,
        generation,
      );
    });
    await this.customers.setGeneration(survivorId, generation);

    const at = new Date();
    for (const [type, value] of record.identities) {
      await this.customers.linkIdentity(absorbedId, type, value, at);
      await this.customers.unindexIdentity(survivorId, type, value);
    }
    const ledger = record.absorbedLedger ? (JSON.parse(record.absorbedLedger) as StoredContacts) : undefined;
    if (
      ledger &&
      !(await this.decisions.updateContacts(survivorId, (l) => withoutMergedLedger(l, ledger, absorbedId)))
    )
      throw new ApiError(
        503,
        'UNAVAILABLE_RETRY',
        `contact ledger of ${survivorId} too busy; run the unlink again`,
        [],
      );
    const decisions = await this.decisions.moveDecisions(
      survivorId,
      absorbedId,
      // by the absorbed customer's own events, not by what left now: an unlink run again after a failure
      [...own.values()].map((e) => decisionIdOf(e)),
      true,
    );
    await this.customers.clearMergedInto(absorbedId);
    await this.customers.logIdentifierChanges([survivorId], at);
    await this.merges.remove(absorbedId, survivorId);
    this.cache.evict(survivorId);
    this.cache.evict(absorbedId);
    this.publisher.emit(Subjects.customersChanged, { ids: [survivorId, absorbedId] });
    return {
      absorbedId,
      survivorId,
      events: leaving.length,
      days: days.length,
      identities: record.identities.length,
      decisions,
    };
  }
}
