import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ContractError,
  eventKey,
  Headers,
  IDENTITY_TYPES,
  partitionOf,
  Subjects,
  toAcceptedEvent,
  validateEvent,
  type EventEnvelopeDto,
  type ProblemDetail,
  type IdentityType,
  type IngestReply,
  type CustomerLink,
} from '@nunchi/contracts';
import { CONFIG } from '@nunchi/config/nest';
import { requireIdentityKey, type IdentityKey, type NunchiConfig } from '@nunchi/config';
import { decodeJson, DecodeError, KeyedSerializer, Publisher, sealPersonalData } from '@nunchi/messaging';
import {
  context,
  latencyHistogram,
  meter,
  SpanStatusCode,
  trace,
  tracer,
  withSpan,
  type Context,
  type Span,
} from '@nunchi/telemetry';
import { CustomerKeyring, DecisionRepository, sealEvent } from '@nunchi/cassandra';
import type { DataKey } from '@nunchi/sealing';
import { Admission } from './admission.js';
import { offerResponseProblem, type OfferResponsePayload } from './offer-responses.js';
import { IdentityRepository, type Resolution } from './identity.repository.js';
import { identifiersOf, LinkIdentifiers, type IdentifierRef, type Linked } from './link-identifiers.js';
import { ThrottledLog } from './throttled-log.js';

export interface IngestInput {
  /** the bytes as received: they go to the DLQ unchanged when rejected (absent for an item of an HTTP batch) */
  bytes?: Uint8Array;
  /** already-decoded body (HTTP); decoded from bytes otherwise */
  body?: unknown;
  /** subject or route it came in on, for the DLQ record */
  origin: string;
  /** mkt.in.<channel>.<type> tokens the body must agree with */
  subject?: { channel: string; type: string };
  /** the channels the caller's API key may send for (HTTP door); undefined: any */
  channels?: readonly string[];
  /** DLQ stream sequence this input is a replay of (`nunchi dlq replay`) */
  replayOf?: string;
}

const UNAVAILABLE = (id: string, what: string): IngestReply => ({
  ok: false,
  id,
  error: {
    code: 'UNAVAILABLE_RETRY',
    message: `${what} unavailable; nothing was stored, retry`,
    details: [],
  },
});

const OVERLOADED = (id: string, lagMs: number, retryAfterMs: number): IngestReply => ({
  ok: false,
  id,
  error: {
    code: 'OVERLOADED_RETRY',
    message: `overloaded: this customer's partition is ${lagMs} ms behind; nothing was stored, send it again in ${retryAfterMs} ms`,
    details: [],
    retryAfterMs,
  },
});

/** Answers that are ingestion's failure, not the event's: they spend the availability SLO's budget. */
const RETRYABLE_FAILURES = new Set(['UNAVAILABLE_RETRY', 'OVERLOADED_RETRY']);

/**
 * The front door's one behaviour, whichever door: decode → validate → resolve identity → store in EVENTS
 * (msgID = the event's key: channel and id) → answer. Rejected input is answered and kept in the DLQ; storage failure is answered
 * with a retryable error and nothing is acknowledged that was not stored.
 *
 * Everything up to handing the event to JetStream runs synchronously when the customer is known (a customer
 * id or an identifier this process checked within NUNCHI_IDENTITY_CACHE_TTL_MS) and its data key is in memory
 * (the payload is sealed under it on EVENTS): events reach the stream in the order they arrived, without a
 * per-customer queue, and the publishes of one burst share a socket write. Only a look-up (an identifier's
 * owner, whether a customer was erased, the customer's data key) waits, and later events with the same
 * customer reference queue behind it (KeyedSerializer).
 */
@Injectable()
export class IngestEventUseCase {
  private readonly logger = new Logger('ingest');
  private readonly order = new KeyedSerializer();
  private readonly storeFailures = new ThrottledLog(this.logger, 'EVENTS did not store events');
  /** The ingestion-availability SLO reads this counter (slo/slo.yaml): outcome "failed" spends its budget. */
  private readonly answered = meter().createCounter('nunchi_ingestion_events_total', {
    description:
      'events answered, by outcome (accepted, duplicate, rejected: a fault in the event, failed: ours — UNAVAILABLE_RETRY, OVERLOADED_RETRY) and error code',
  });
  private readonly ackMs = latencyHistogram(
    'nunchi_ingestion_ack_ms',
    'milliseconds from receipt to the answer: stored in JetStream, or the error',
  );
  /** seals personal data in what goes to the DLQ */
  private readonly identityKey: IdentityKey;

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly publisher: Publisher,
    private readonly identities: IdentityRepository,
    private readonly admission: Admission,
    private readonly decisions: DecisionRepository,
    private readonly linker: LinkIdentifiers,
    private readonly keys: CustomerKeyring,
  ) {
    this.identityKey = requireIdentityKey(config);
  }

  execute(input: IngestInput): Promise<IngestReply> {
    const startedMs = performance.now();
    const receivedAtMs = Date.now();
    const parent = context.active();
    const span = tracer().startSpan(
      'ingestion.receive',
      { attributes: { 'nunchi.origin': input.origin } },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    const decoded = { body: input.body };
    let reply: Promise<IngestReply>;
    try {
      const envelope = this.validate(input, decoded, receivedAtMs, ctx);
      span.setAttributes({
        'nunchi.event.id': envelope.id,
        'nunchi.event.type': envelope.type,
        'nunchi.channel': envelope.channel,
      });
      reply = this.route(envelope, receivedAtMs, ctx, (error) =>
        context.with(ctx, () => this.reject({ ...input, body: decoded.body }, error, span)),
      );
    } catch (error) {
      reply = context.with(ctx, () => this.reject({ ...input, body: decoded.body }, error, span));
    }
    return this.measured(reply, startedMs).finally(() => span.end());
  }

  /**
   * Refuses a whole input that is not one event (a body that is not JSON, a batch of the wrong size, a
   * body over the size limit, a subject that is not mkt.in.<channel>.<type>): answered with the error and
   * kept in the DLQ like any rejected event.
   */
  async refuse(input: IngestInput, error: ContractError | DecodeError): Promise<IngestReply> {
    const startedMs = performance.now();
    return withSpan('ingestion.receive', { attributes: { 'nunchi.origin': input.origin } }, (span) =>
      this.measured(this.reject(input, error, span), startedMs),
    );
  }

  /**
   * Answers input refused before it was read, by the adapter's rate limit (AdapterRateLimit): counted like
   * every answer, not dead-lettered — nothing is wrong with it, and a flood must not fill the DLQ.
   */
  limited(reply: IngestReply): Promise<IngestReply> {
    return this.measured(Promise.resolve(reply), performance.now());
  }

  /** Counts the answer by outcome and code, and how long it took. */
  private measured(reply: Promise<IngestReply>, startedMs: number): Promise<IngestReply> {
    const count = (outcome: string, code?: string) => {
      this.answered.add(1, code ? { outcome, code } : { outcome });
      this.ackMs.record(performance.now() - startedMs, { outcome });
    };
    return reply.then(
      (r) => {
        if (r.ok) count(r.duplicate ? 'duplicate' : 'accepted');
        else count(RETRYABLE_FAILURES.has(r.error.code) ? 'failed' : 'rejected', r.error.code);
        return r;
      },
      (error: unknown) => {
        count('failed', 'INTERNAL');
        throw error;
      },
    );
  }

  /** decoded.body is set as soon as the bytes are JSON, so that a rejection can name the event's id. */
  private validate(
    input: IngestInput,
    decoded: { body?: unknown },
    receivedAtMs: number,
    parent: Context,
  ): EventEnvelopeDto {
    const span = tracer().startSpan('ingestion.validate', {}, parent);
    try {
      if (decoded.body === undefined) decoded.body = decodeJson(input.bytes ?? new Uint8Array(0));
      return validateEvent(decoded.body, {
        nowMs: receivedAtMs,
        subject: input.subject,
        channels: input.channels,
      });
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * Publishes now when this process knows, fresh, that the customer is live (IdentityRepository) and nothing
   * for the same customer reference is queued; else queues behind the reference's look-up. An erased
   * customer, or an unknown identifier under NUNCHI_UNKNOWN_IDENTIFIERS=refuse, is refused here: nothing is
   * answered `ok` that the context service would refuse.
   */
  private route(
    envelope: EventEnvelopeDto,
    receivedAtMs: number,
    ctx: Context,
    refuse: (error: ContractError) => Promise<IngestReply>,
  ): Promise<IngestReply> {
    const ref = envelope.customer;
    const refs = identifiersOf(ref);
    if (refs.length > 1) return this.routeLink(envelope, refs, receivedAtMs, ctx, refuse);
    const id = ref.id;
    const type = id ? undefined : (IDENTITY_TYPES.find((t) => ref[t] !== undefined) as IdentityType);
    const value = type ? ref[type]! : '';
    const orderKey = id ? `id\u0000${id}` : `${type}\u0000${value}`;
    /** dataKey: the customer's, to seal the payload under (whenever the resolution is a live customer) */
    const answer = (resolution: Resolution, dataKey?: DataKey): Promise<IngestReply> => {
      if (resolution.kind === 'customer')
        return this.store(envelope, resolution.customerId, dataKey!, receivedAtMs, ctx);
      // Identifier values are never named: phones and e-mails must not reach answers or logs.
      const path = id ? 'customer.id' : `customer.${type}`;
      return refuse(
        resolution.kind === 'erased'
          ? new ContractError('CUSTOMER_ERASED', [
              {
                path,
                message: id
                  ? `customer ${id} was erased; their events are refused`
                  : `the customer this ${type} belonged to was erased; their events are refused`,
              },
            ])
          : new ContractError('UNKNOWN_CUSTOMER', [
              {
                path,
                message: `no customer has this ${type}, and unknown identifiers are refused (NUNCHI_UNKNOWN_IDENTIFIERS=refuse)`,
              },
            ]),
      );
    };
    // A response is checked against the decision it answers (a read): it always takes the queued path.
    const answersOffer = envelope.type === 'offer_response';
    if (this.order.isIdle(orderKey) && !answersOffer) {
      const known: Resolution | undefined = id
        ? this.identities.cachedCustomer(id)
        : customerOrNone(this.identities.cachedIdentifier(type!, value));
      if (known?.kind === 'customer') {
        const dataKey = this.keys.cached(known.customerId);
        if (dataKey) return answer(known, dataKey);
      } else if (known) return answer(known);
    }
    // The queue is released once the event is handed to JetStream, not once it is stored: the reply is
    // wrapped so that the serializer does not wait for the acknowledgement.
    return this.order
      .run(orderKey, async () => {
        let resolution: Resolution;
        try {
          resolution = id
            ? await this.identities.checkCustomer(id)
            : await this.identities.resolve(type!, value);
        } catch (error) {
          this.logger.error(`identity resolution failed for ${envelope.id}: ${(error as Error).message}`);
          return { reply: Promise.resolve(UNAVAILABLE(envelope.id, 'identity store')) };
        }
        if (resolution.kind !== 'customer') return { reply: answer(resolution) };
        if (answersOffer) {
          const refused = await this.refusedResponse(envelope, resolution.customerId, refuse);
          if (refused) return refused;
        }
        const dataKey = await this.dataKeyOf(resolution.customerId, envelope.id);
        if ('reply' in dataKey) return dataKey;
        return { reply: answer(resolution, dataKey.key) };
      })
      .then((queued) => queued.reply);
  }

  /**
   * An event with two identifiers links them (LinkIdentifiers): always a look-up, queued behind the first
   * identifier's. The event goes to the customer both now name; when it merges two, to the absorbed
   * customer's partition first (see AcceptedEvent.link), and the answer names the survivor.
   */
  private routeLink(
    envelope: EventEnvelopeDto,
    refs: IdentifierRef[],
    receivedAtMs: number,
    ctx: Context,
    refuse: (error: ContractError) => Promise<IngestReply>,
  ): Promise<IngestReply> {
    const key = `${refs[0].type}\u0000${refs[0].value}`;
    return this.order
      .run(key, async () => {
        let linked: Linked;
        try {
          linked = await this.linker.resolve(refs);
        } catch (error) {
          if (error instanceof ContractError) return { reply: refuse(error) };
          this.logger.error(`identity link failed for ${envelope.id}: ${(error as Error).message}`);
          return { reply: Promise.resolve(UNAVAILABLE(envelope.id, 'identity store')) };
        }
        if (envelope.type === 'offer_response') {
          const refused = await this.refusedResponse(envelope, linked.customerId, refuse);
          if (refused) return refused;
        }
        // A merge's event travels first as the absorbed customer's (AcceptedEvent.link): sealed under its key.
        const dataKey = await this.dataKeyOf(linked.link?.absorbedId ?? linked.customerId, envelope.id);
        if ('reply' in dataKey) return dataKey;
        return {
          reply: this.store(envelope, linked.customerId, dataKey.key, receivedAtMs, ctx, linked.link),
        };
      })
      .then((queued) => queued.reply);
  }

  /**
   * The customer's data key, created if the customer has none yet (its first event); or the answer when the
   * key store cannot be reached. Only for a customer found live: an erased one never gets a key again.
   */
  private async dataKeyOf(
    customerId: string,
    eventId: string,
  ): Promise<{ key: DataKey } | { reply: Promise<IngestReply> }> {
    try {
      return { key: await this.keys.obtain(customerId) };
    } catch (error) {
      this.logger.error(`data key look-up failed for ${eventId}: ${(error as Error).message}`);
      return { reply: Promise.resolve(UNAVAILABLE(eventId, 'customer key store')) };
    }
  }

  /**
   * The answer to an offer_response that answers no offer of this customer (or cannot be checked now), if so;
   * wrapped, so that the queue does not wait for the DLQ.
   */
  private async refusedResponse(
    envelope: EventEnvelopeDto,
    customerId: string,
    refuse: (error: ContractError) => Promise<IngestReply>,
  ): Promise<{ reply: Promise<IngestReply> } | undefined> {
    let problem: ProblemDetail | undefined;
    try {
      problem = await this.answeredOffer(envelope, customerId);
    } catch (error) {
      this.logger.error(`decision look-up failed for ${envelope.id}: ${(error as Error).message}`);
      return { reply: Promise.resolve(UNAVAILABLE(envelope.id, 'decision store')) };
    }
    return problem ? { reply: refuse(new ContractError('UNKNOWN_DECISION', [problem])) } : undefined;
  }

  /**
   * An offer_response must answer an offer made to this customer (offerResponseProblem). When it does, the
   * payload carries that decision's campaign from here on, so context and analytics never credit a campaign
   * the adapter merely named.
   */
  private async answeredOffer(
    envelope: EventEnvelopeDto,
    customerId: string,
  ): Promise<ProblemDetail | undefined> {
    const payload = envelope.payload as unknown as OfferResponsePayload;
    const decision = await this.decisions.findById(payload.decisionId);
    const problem = offerResponseProblem(payload, customerId, decision);
    if (!problem) payload.campaignId = decision!.campaignId;
    return problem;
  }

  /**
   * Hands the event to JetStream synchronously; the promise settles with the stream's answer. A merge's event
   * (`link`) goes to the absorbed customer's partition first; the answer names `customerId`, the survivor.
   */
  private store(
    envelope: EventEnvelopeDto,
    customerId: string,
    dataKey: DataKey,
    receivedAtMs: number,
    parent: Context,
    link?: CustomerLink,
  ): Promise<IngestReply> {
    const partition = partitionOf(link ? link.absorbedId : customerId, this.config.nats.partitions);
    const admitted = this.admission.admit(partition, receivedAtMs);
    if (!admitted.ok) {
      // Not stored, not dead-lettered: nothing is wrong with the event, the adapter sends it again later.
      trace.getSpan(parent)?.setAttribute('nunchi.rejected', 'OVERLOADED_RETRY');
      return Promise.resolve(OVERLOADED(envelope.id, admitted.lagMs, admitted.retryAfterMs));
    }
    const event = toAcceptedEvent(envelope, customerId, receivedAtMs);
    if (link) Object.assign(event, { customerId: link.absorbedId, link });
    const span = tracer().startSpan(
      'ingestion.publish',
      { attributes: { 'nunchi.partition': partition } },
      parent,
    );
    return this.publisher
      .persist(Subjects.event(partition, event.type), sealEvent(event, dataKey), {
        // Event ids are scoped per adapter (channel): another channel's event with this id is another event.
        msgID: eventKey(event),
        headers: { [Headers.receivedAt]: String(receivedAtMs) },
        traceContext: trace.setSpan(parent, span),
      })
      .then(
        (ack): IngestReply => {
          span.end();
          return ack.duplicate
            ? { ok: true, id: event.id, customerId, duplicate: true }
            : { ok: true, id: event.id, customerId };
        },
        (error: Error): IngestReply => {
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
          span.end();
          this.storeFailures.add(`${event.id}: ${error.message}`);
          return UNAVAILABLE(envelope.id, 'event store');
        },
      );
  }

  private async reject(input: IngestInput, error: unknown, span: Span): Promise<IngestReply> {
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
      const bytes = input.bytes ?? new TextEncoder().encode(JSON.stringify(input.body) ?? '');
      // Loyalty cards, phones, e-mails and device ids are kept sealed, not as sent (docs/security.md).
      const sealed = sealPersonalData(bytes, this.identityKey);
      // A replay that fails again is kept once per DLQ entry (within the duplicate window), marked as such.
      await this.publisher.deadLetter(
        'ingestion',
        input.origin,
        sealed.data,
        contract.message,
        input.replayOf ? `replay-of:${input.replayOf}` : undefined,
        {
          ...(input.replayOf ? { [Headers.dlqReplayOf]: input.replayOf } : {}),
          ...(sealed.paths.length ? { [Headers.dlqSealed]: sealed.paths.join(',').slice(0, 1024) } : {}),
        },
      );
    } catch (dlqError) {
      this.logger.error(
        `DLQ unavailable, rejected input from ${input.origin} not recorded: ${(dlqError as Error).message}`,
      );
    }
    return { ok: false, ...(id ? { id } : {}), error: { code: contract.code, details: contract.details } };
  }
}

function idOf(body: unknown): string | undefined {
  const id = body && typeof body === 'object' ? (body as Record<string, unknown>)['id'] : undefined;
  return typeof id === 'string' && id.length <= 128 ? id : undefined;
}

/** A customer id found in the identity cache as the resolution it stands for. */
function customerOrNone(customerId: string | undefined): Resolution | undefined {
  return customerId === undefined ? undefined : { kind: 'customer', customerId, created: false };
}
