import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ContractError,
  Headers,
  IDENTITY_TYPES,
  partitionOf,
  Subjects,
  toAcceptedEvent,
  validateEvent,
  type EventEnvelopeDto,
  type IngestReply,
} from '@nunchi/contracts';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { decodeJson, DecodeError, KeyedSerializer, Publisher } from '@nunchi/messaging';
import { withSpan } from '@nunchi/telemetry';
import { IdentityRepository } from './identity.repository.js';


export interface IngestInput {
  /** the bytes as received: they go to the DLQ unchanged when rejected */
  bytes: Uint8Array;
  /** already-decoded body (HTTP batches); decoded from bytes otherwise */
  body?: unknown;
  /** subject or route it came in on, for the DLQ record */
  origin: string;
  /** mkt.in.<channel>.<type> tokens the body must agree with */
  subject?: { channel: string; type: string };
}

/**
 * The front door's one behaviour, whichever door: decode → validate → resolve identity → store in EVENTS
 * (msgID = event id) → answer. Rejected input is answered and kept in the DLQ; storage failure is answered
 * with a retryable error and nothing is acknowledged that was not stored.
 */
@Injectable()
export class IngestEventUseCase {
  private readonly logger = new Logger('ingest');
  private readonly order = new KeyedSerializer();

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly publisher: Publisher,
    private readonly identities: IdentityRepository,
  ) {}

  async execute(input: IngestInput): Promise<IngestReply> {
    const receivedAtMs = Date.now();
    return withSpan('ingestion.receive', { attributes: { 'nunchi.origin': input.origin } }, async (span) => {
      let envelope: EventEnvelopeDto;
      try {
        const body = input.body !== undefined ? input.body : decodeJson(input.bytes);
        envelope = await withSpan('ingestion.validate', {}, () => validateEvent(body, { nowMs: receivedAtMs, subject: input.subject }));
      } catch (error) {
        return this.reject(input, error, span);
      }
      span.setAttributes({ 'nunchi.event.id': envelope.id, 'nunchi.event.type': envelope.type, 'nunchi.channel': envelope.channel });
      const ref = envelope.customer;
      const orderKey = ref.id ?? IDENTITY_TYPES.map((t) => ref[t] ?? '').join('|');
      return this.order.run(orderKey, () => this.store(envelope, receivedAtMs));
    });
  }

  private async store(envelope: EventEnvelopeDto, receivedAtMs: number): Promise<IngestReply> {
    let customerId: string;
    try {
      customerId = await this.resolveCustomer(envelope);
    } catch (error) {
      this.logger.error(`identity resolution failed for ${envelope.id}: ${(error as Error).message}`);
      return { ok: false, id: envelope.id, error: { code: 'UNAVAILABLE_RETRY', message: 'identity store unavailable; retry', details: [] } };
    }
    const event = toAcceptedEvent(envelope, customerId, receivedAtMs);
    const partition = partitionOf(customerId, this.config.nats.partitions);
    try {
      const ack = await withSpan('ingestion.publish', { attributes: { 'nunchi.partition': partition } }, () =>
        this.publisher.persist(Subjects.event(partition, event.type), event, {
          msgID: event.id,
          headers: { [Headers.receivedAt]: String(receivedAtMs) },
        }),
      );
      return { ok: true, id: event.id, customerId, ...(ack.duplicate ? { duplicate: true } : {}) };
    } catch (error) {
      this.logger.warn(`EVENTS did not store ${event.id}: ${(error as Error).message}`);
      return { ok: false, id: envelope.id, error: { code: 'UNAVAILABLE_RETRY', message: 'event store unavailable; nothing was stored, retry', details: [] } };
    }
  }

  private async resolveCustomer(envelope: EventEnvelopeDto): Promise<string> {
    const ref = envelope.customer;
    if (ref.id) return ref.id;
    for (const type of IDENTITY_TYPES) {
      const value = ref[type];
      if (value) return (await this.identities.resolve(type, value)).customerId;
    }
    throw new Error('validated event without an identifier');
  }

  private async reject(input: IngestInput, error: unknown, span: { setAttribute(k: string, v: string): void }): Promise<IngestReply> {
    const contract =
      error instanceof ContractError
        ? error
        : error instanceof DecodeError
          ? new ContractError('MALFORMED_JSON', [{ path: '', message: error.message }])
          : undefined;
    if (!contract) throw error;
    span.setAttribute('nunchi.rejected', contract.code);
    const id = idOf(input.body);
    try {
      const bytes = input.body !== undefined && input.bytes.length === 0 ? new TextEncoder().encode(JSON.stringify(input.body)) : input.bytes;
      await this.publisher.deadLetter('ingestion', input.origin, bytes, contract.message);
    } catch (dlqError) {
      this.logger.error(`DLQ unavailable, rejected input from ${input.origin} not recorded: ${(dlqError as Error).message}`);
    }
    return { ok: false, ...(id ? { id } : {}), error: { code: contract.code, details: contract.details } };
  }
}

function idOf(body: unknown): string | undefined {
  const id = body && typeof body === 'object' ? (body as Record<string, unknown>)['id'] : undefined;
  return typeof id === 'string' && id.length <= 128 ? id : undefined;
}
