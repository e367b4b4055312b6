import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import {
  ContractError,
  Headers,
  Subjects,
  type CustomersChanged,
  type IngestReply,
  type LagReport,
} from '@nunchi/contracts/core';
import { NatsMessageContext, onSubject, MessageController } from '@nunchi/messaging';
import { AdapterRateLimit } from './adapter-rate-limit.js';
import { Admission } from './admission.js';
import { IdentityRepository } from './identity.repository.js';
import { IngestEventUseCase } from './ingest-event.usecase.js';

@MessageController()
export class IngestionMessagesController {
  constructor(
    private readonly ingest: IngestEventUseCase,
    private readonly identities: IdentityRepository,
    private readonly admission: Admission,
    private readonly limits: AdapterRateLimit,
  ) {}

  /**
   * The NATS door: request or publish on mkt.in.<channel>.<type>; ingestion replicas share the queue. A
   * request gets the reply; a plain publish's errors go to the DLQ only. The bytes reach the use case as
   * received and in arrival order (it keeps that order into EVENTS). Each channel's adapters are held to their
   * rate, all replicas together, before anything is read: over it, RATE_LIMITED and nothing stored.
   */
  @MessagePattern(Subjects.inboundAll, onSubject({ queue: 'nunchi-ingestion', body: 'bytes' }))
  receive(@Payload() bytes: Uint8Array, @Ctx() message: NatsMessageContext): Promise<IngestReply> {
    const replayOf = message.header(Headers.dlqReplayOf);
    if (replayOf !== undefined && !/^\d{1,20}$/.test(replayOf))
      throw new Error(`bad ${Headers.dlqReplayOf} header`);
    const input = { bytes, origin: message.subject, ...(replayOf ? { replayOf } : {}) };
    // mkt.in.<channel>.<type>: anything else on this wildcard is refused as a subject error.
    const [, , channel, type, ...rest] = message.subject.split('.');
    if (!channel || !type || rest.length !== 0)
      return this.ingest.refuse(
        input,
        new ContractError('SUBJECT_MISMATCH', [{ path: '', message: 'publish on mkt.in.<channel>.<type>' }]),
      );
    const go = (limited: IngestReply | undefined) =>
      limited ? this.ingest.limited(limited) : this.ingest.execute({ ...input, subject: { channel, type } });
    // Synchronous unless a draw from the shared bucket is needed; waiting messages keep their order.
    const limited = this.limits.admitChannel(channel);
    return limited instanceof Promise ? limited.then(go) : go(limited);
  }

  /**
   * Customers erased, imported or whose identifiers moved: forget what this replica cached about them, so
   * the change is seen at once. Every replica gets it; a lost hint is covered by the cache's TTL.
   */
  @EventPattern(Subjects.customersChanged)
  customersChanged(@Payload() hint: CustomersChanged): void {
    if (Array.isArray(hint?.ids)) this.identities.forget(hint.ids.filter((id) => typeof id === 'string'));
  }

  /** Consumers' lag reports, for admission control. */
  @EventPattern(Subjects.lagAll)
  lag(@Payload() report: LagReport): void {
    this.admission.receive(report);
  }
}
