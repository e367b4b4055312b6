import { Injectable, type OnModuleInit } from '@nestjs/common';
import { CustomerKeyring, CustomerRepository } from '@nunchi/cassandra';
import { Headers, isSealedEvent } from '@nunchi/contracts/core';
import type { AcceptedEvent, DeadLetteredEvent, EventsMessage } from '@nunchi/contracts';
import { ConsumerRunner, decodeJson, encodeJson, type DlqCopy } from '@nunchi/messaging';

/**
 * What the context stage's DLQ keeps of an event it refused (DeadLetteredEvent): the payload sealed under the
 * customer's data key — as EVENTS carried it, or sealed here for a message in clear (from before ingestion
 * sealed, or an absence event), creating the key if the customer has none — or dropped when the customer was
 * erased (refused for ever: nothing to replay, nothing to keep).
 * Bytes that are not an accepted event are kept as they came: ingestion let through only accepted events,
 * so those are neither an event nor a customer's data.
 */
@Injectable()
export class ContextDlqSealer implements OnModuleInit {
  constructor(
    private readonly runner: ConsumerRunner,
    private readonly keys: CustomerKeyring,
    private readonly customers: CustomerRepository,
  ) {}

  onModuleInit(): void {
    this.runner.sealDeadLetters((stage, data) =>
      stage === 'context' ? this.seal(data) : Promise.resolve({ data }),
    );
  }

  async seal(data: Uint8Array): Promise<DlqCopy> {
    let event: EventsMessage;
    try {
      event = decodeJson(data) as EventsMessage;
    } catch {
      return { data };
    }
    if (typeof event !== 'object' || event === null || typeof event.customerId !== 'string') return { data };
    const sealed = isSealedEvent(event);
    if (!sealed && !(event as AcceptedEvent).payload) return { data };
    // Checked first: sealing would create a key, and an erased customer must never get one again.
    if (await this.customers.isErased(event.customerId)) {
      const rest: Partial<AcceptedEvent & DeadLetteredEvent> = { ...event };
      delete rest.payload;
      delete rest.sealedPayload;
      const dropped = { ...rest, payloadDropped: 'customer erased' } as DeadLetteredEvent;
      return {
        data: encodeJson(dropped),
        headers: { [Headers.dlqSealed]: 'payload (dropped: customer erased)' },
      };
    }
    // Sealed as EVENTS carries it (ingestion sealed it): kept as it is. Else sealed here.
    if (sealed) return { data, headers: { [Headers.dlqSealed]: 'payload' } };
    const copy: DeadLetteredEvent = await this.keys.sealEvent(event as AcceptedEvent);
    return { data: encodeJson(copy), headers: { [Headers.dlqSealed]: 'payload' } };
  }
}
