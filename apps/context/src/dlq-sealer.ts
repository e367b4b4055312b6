import { Injectable, type OnModuleInit } from '@nestjs/common';
import { CustomerKeyring, CustomerRepository } from '@nunchi/cassandra';
import { Headers, type AcceptedEvent, type DeadLetteredEvent } from '@nunchi/contracts';
import { ConsumerRunner, decodeJson, encodeJson, type DlqCopy } from '@nunchi/messaging';

/**
 * What the context stage's DLQ keeps of an event it refused (DeadLetteredEvent): the payload sealed under the
 * customer's data key — created if the customer has none yet, as the event's own ENRICHED message would have
 * been — or dropped when the customer was erased (refused for ever: nothing to replay, nothing to keep).
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
    let event: AcceptedEvent;
    try {
      event = decodeJson(data) as AcceptedEvent;
    } catch {
      return { data };
    }
    if (typeof event !== 'object' || event === null || typeof event.customerId !== 'string' || !event.payload)
      return { data };
    const { payload, ...rest } = event;
    // Checked first: sealing would create a key, and an erased customer must never get one again.
    if (await this.customers.isErased(event.customerId)) {
      const dropped: DeadLetteredEvent = { ...rest, payloadDropped: 'customer erased' };
      return {
        data: encodeJson(dropped),
        headers: { [Headers.dlqSealed]: 'payload (dropped: customer erased)' },
      };
    }
    const sealed: DeadLetteredEvent = {
      ...rest,
      sealedPayload: await this.keys.seal(event.customerId, payload),
    };
    return { data: encodeJson(sealed), headers: { [Headers.dlqSealed]: 'payload' } };
  }
}
