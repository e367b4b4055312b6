import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { localDay, mergeHistories, profileGaps, survivorOf } from '@nunchi/context-model';
import { decisionIdOf, eventKey, Headers, partitionOf, Subjects } from '@nunchi/contracts/core';
import type { AcceptedEvent, CustomerLink } from '@nunchi/contracts';
import {
  ContextRepository,
  CustomerKeyring,
  CustomerRepository,
  DecisionRepository,
  MergeRepository,
} from '@nunchi/cassandra';
import { Outcome, Publisher, type Delivery } from '@nunchi/messaging';
import { withMergedLedger } from '@nunchi/rules';
import { meter } from '@nunchi/telemetry';
import { CustomerStateCache, type CustomerState } from './customer-state.cache.js';
import { LoadCustomerStateUseCase } from './load-customer-state.usecase.js';

/**
 * Two customers become one (docs/identity.md). The event that links them travels twice through EVENTS, so
 * that each step runs at the owner of the customer it changes, in order with that customer's events:
 *
 * 1. **freeze**, on the absorbed customer's partition: a merge record is claimed (a lightweight transaction:
 *    one survivor, whatever the redeliveries and replicas), the absorbed customer points at the survivor
 *    (`customers.merged_into`), and the event goes on to the survivor's partition. From here on the absorbed
 *    customer's events are passed on to the survivor: its history is final.
 * 2. **absorb**, on the survivor's partition: both histories are read whole, the absorbed events are written
 *    under the survivor and every day they touch is rebuilt from the union (libs/context-model
 *    mergeHistories: the context of one identifier from the start), then the profile gaps, identities,
 *    contact ledger and decisions are taken over, and the record says done. Every write is a keyed upsert or
 *    guarded (the ledger by its merge marker), so a merge cut short is finished by the redelivery, and a
 *    merge done is not done again.
 */
@Injectable()
export class MergeCustomersUseCase {
  private readonly logger = new Logger('merge');
  private readonly merged = meter().createCounter('nunchi_context_customers_merged_total', {
    description: 'customers merged into another (docs/identity.md)',
  });

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly load: LoadCustomerStateUseCase,
    private readonly cache: CustomerStateCache,
    private readonly customers: CustomerRepository,
    private readonly history: ContextRepository,
    private readonly decisions: DecisionRepository,
    private readonly merges: MergeRepository,
    private readonly publisher: Publisher,
    private readonly keys: CustomerKeyring,
  ) {}

  /**
   * An event of a customer merged into `target`: on to the target's partition. A link naming it passes on
   * as a link between its other customer and the target.
   */
  async passOn(delivery: Delivery<AcceptedEvent>, target: string): Promise<Outcome> {
    const event = delivery.body;
    const link = event.link;
    if (!link) {
      const { customerId: forwardedFrom } = event;
      await this.send(
        { ...event, customerId: target, forwardedFrom },
        `${eventKey(event)}~to~${target}`,
        delivery,
      );
      return Outcome.done();
    }
    if (link.stage === 'absorb') {
      // The survivor was merged into `target` between the two steps: the frozen merge goes there instead.
      const record = await this.merges.readdress(link.absorbedId, link.survivorId, target);
      if (record?.survivorId !== target)
        return Outcome.reject(
          `cannot merge ${link.absorbedId} into ${link.survivorId}: ${link.survivorId} was merged into ${target} meanwhile, and the merge record names ${record?.survivorId ?? 'nobody'}`,
        );
      return this.sendAbsorb(delivery, { ...link, survivorId: target });
    }
    const other = link.survivorId === event.customerId ? link.absorbedId : link.survivorId;
    if (other === target) return this.sendAbsorb(delivery, link);
    return this.relink(delivery, other, target);
  }

  /** Step 1, at the absorbed customer's owner (`state` is the absorbed customer's, not merged yet). */
  async freeze(delivery: Delivery<AcceptedEvent>, state: CustomerState): Promise<Outcome> {
    const event = delivery.body;
    const link = event.link!;
    const survivor = await this.customers.getWithLink(link.survivorId);
    if (await this.customers.isErased(link.survivorId))
      return Outcome.reject(
        `cannot merge ${link.absorbedId} into ${link.survivorId}: ${link.survivorId} was erased; nothing was merged`,
      );
    // The survivor was itself merged meanwhile: the link is between this customer and where it went.
    if (survivor.mergedInto) return this.relink(delivery, link.absorbedId, survivor.mergedInto);
    const record = await this.merges.freeze(link.absorbedId, link.survivorId, eventKey(event), new Date());
    if (record.survivorId !== link.survivorId)
      return this.relink(delivery, link.survivorId, record.survivorId);
    this.cache.commit(link.absorbedId, state, { ...state, mergedInto: link.survivorId });
    return this.sendAbsorb(delivery, link);
  }

  /**
   * Step 2, at the survivor's owner: the survivor's state with the absorbed customer merged in (read again
   * from Cassandra), or the reason the merge cannot be made.
   */
  async absorb(delivery: Delivery<AcceptedEvent>, nowMs: number): Promise<CustomerState | Outcome> {
    const link = delivery.body.link!;
    const { survivorId, absorbedId } = link;
    const record = await this.merges.get(absorbedId);
    if (!record || record.survivorId !== survivorId)
      return Outcome.reject(
        `cannot merge ${absorbedId} into ${survivorId}: its merge record ${record ? `names ${record.survivorId}` : 'is missing'}`,
      );
    if (record.state !== 'done') {
      if (await this.customers.isErased(absorbedId))
        return Outcome.reject(`cannot merge ${absorbedId} into ${survivorId}: ${absorbedId} was erased`);
      await this.mergeInto(survivorId, absorbedId, nowMs);
      this.merged.add(1);
      this.logger.log(`merged ${absorbedId} into ${survivorId} (event ${delivery.body.id})`);
    }
    this.cache.evict(survivorId);
    return this.load.loadCold(survivorId, nowMs);
  }

  private async mergeInto(survivorId: string, absorbedId: string, nowMs: number): Promise<void> {
    const timeZone = this.config.domain.timeZone;
    const [survivorEvents, absorbedEvents, survivor, absorbed, identities, absorbedLedger] =
      await Promise.all([
        this.history.allEvents(survivorId),
        this.history.allEvents(absorbedId),
        this.customers.getWithLink(survivorId),
        this.customers.get(absorbedId),
        this.customers.identitiesOf(absorbedId),
        this.decisions.contacts(absorbedId),
      ]);
    const merged = mergeHistories(survivorId, survivorEvents, absorbedEvents, timeZone);
    await this.history.writeMerged(merged.moved, merged.days, survivorId, timeZone, survivor.generation);
    const gaps = profileGaps(survivor.profile, absorbed);
    // At write time 0: every field the survivor has, and every later profile_update, wins over what is filled in.
    if (Object.keys(gaps).length) await this.customers.updateFields(survivorId, gaps, 0);
    const at = new Date(nowMs);
    await Promise.all(
      identities.map(([type, value]) => this.customers.linkIdentity(survivorId, type, value, at)),
    );
    const today = localDay(nowMs, timeZone);
    if (
      !(await this.decisions.updateContacts(survivorId, (l) =>
        withMergedLedger(l, absorbedLedger, absorbedId, today),
      ))
    )
      throw new Error(
        `contact ledger of ${survivorId}: too much contention while merging ${absorbedId}; retry`,
      );
    await this.decisions.moveDecisions(
      absorbedId,
      survivorId,
      absorbedEvents.map((e) => decisionIdOf(e)),
    );
    // Ingestion replicas drop the absorbed customer's cached identifiers (the log makes it certain, the hint
    // immediate); context replicas drop both customers from their hot tiers.
    await this.customers.logIdentifierChanges([absorbedId], at);
    this.publisher.emit(Subjects.customersChanged, { ids: [survivorId, absorbedId] });
    await this.merges.complete(absorbedId, identities, JSON.stringify(absorbedLedger));
  }

  /** The link between `a` and `b` instead, sent to the partition of the one of them that is absorbed. */
  private async relink(delivery: Delivery<AcceptedEvent>, a: string, b: string): Promise<Outcome> {
    const event = delivery.body;
    if (a === b) {
      const plain = { ...event, customerId: a };
      delete plain.link;
      await this.send(plain, `${eventKey(event)}~to~${a}`, delivery);
      return Outcome.done();
    }
    const pair = survivorOf(a, b);
    const link: CustomerLink = { ...pair, stage: 'freeze' };
    await this.send(
      { ...event, customerId: pair.absorbedId, link },
      `${eventKey(event)}~freeze~${pair.absorbedId}`,
      delivery,
    );
    return Outcome.done();
  }

  private async sendAbsorb(delivery: Delivery<AcceptedEvent>, link: CustomerLink): Promise<Outcome> {
    const event = delivery.body;
    await this.send(
      { ...event, customerId: link.survivorId, link: { ...link, stage: 'absorb' } },
      `${eventKey(event)}~absorb~${link.absorbedId}~${link.survivorId}`,
      delivery,
    );
    return Outcome.done();
  }

  /**
   * Onto EVENTS again, under a message id of its own (the event's key was taken by its first trip), its payload
   * sealed under the key of the customer it now goes to.
   */
  private async send(event: AcceptedEvent, msgID: string, delivery: Delivery<AcceptedEvent>): Promise<void> {
    const partition = partitionOf(event.customerId, this.config.nats.partitions);
    const message = await this.keys.sealEvent(event);
    await this.publisher.persist(Subjects.event(partition, event.type), message, {
      msgID,
      headers: { [Headers.receivedAt]: delivery.header(Headers.receivedAt) ?? String(event.receivedAtMs) },
    });
  }
}
