import type { PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { PayloadOf, ReplyOf, RequestSubject } from '@nunchi/contracts/core';
import { context } from '@nunchi/telemetry';
import type { Observable } from 'rxjs';
import { decodeJson, encodeJson } from '../codec.js';
import type { Publisher } from '../publisher.js';
import { headersWithTrace } from '../trace-headers.js';

/** A payload with what travels beside it: headers, and for a stream the deduplication key. */
export class MessageRecord<T> {
  constructor(
    readonly data: T,
    readonly options: { headers?: Record<string, string>; msgID?: string; timeoutMs?: number } = {},
  ) {}
}

/** Subjects stored by a JetStream stream: `emit` waits for the stream's acknowledgement there. */
const STREAM_SUBJECT = /^mkt\.(events|enriched|decisions|dlq)\./;

/**
 * NatsClient as its users see it (inject it with `@Inject(NatsClient) client: MessageClient`): send and emit
 * typed by subject, so a wrong payload is a compile error. (ClientProxy's own signatures take `any`, and a
 * subclass may not narrow them.)
 */
export type MessageClient = Omit<NatsClient, 'send' | 'emit'> & {
  send<S extends RequestSubject>(
    subject: S,
    payload: PayloadOf<S> | MessageRecord<PayloadOf<S>>,
  ): Observable<ReplyOf<S>>;
  emit<S extends string>(
    subject: S,
    payload: PayloadOf<S> | MessageRecord<PayloadOf<S>>,
  ): Observable<PubAck | undefined>;
};

/**
 * The NestJS ClientProxy over the process's NATS connection, typed by subject (libs/contracts PayloadOf):
 * - `send(subject, payload)`: core request/reply; emits the decoded reply (ReplyOf the subject);
 * - `emit(subject, payload)`: on a stream subject, stored in JetStream (with `new MessageRecord(payload,
 *   { msgID })` for deduplication) and emits the PubAck; elsewhere a core publish.
 * Payloads are JSON, or sent as they are when already bytes. Trace context travels in the headers.
 */
export class NatsClient extends ClientProxy {
  constructor(
    private readonly nc: NatsConnection,
    private readonly publisher: Publisher,
    private readonly defaultTimeoutMs = 10_000,
  ) {
    super();
  }

  connect(): Promise<NatsConnection> {
    return Promise.resolve(this.nc);
  }

  /** The connection belongs to the process (MessagingModule), not to this client. */
  close(): void {}

  unwrap<T>(): T {
    return this.nc as T;
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const { data, options } = recordOf(packet.data);
    const headers = natsHeaders();
    for (const [k, v] of Object.entries(options.headers ?? {})) headers.set(k, v);
    const traced = headersWithTrace(options.headers, context.active());
    for (const k of traced.keys()) headers.set(k, traced.get(k));
    this.nc
      .request(String(packet.pattern), bytesOf(data), {
        timeout: options.timeoutMs ?? this.defaultTimeoutMs,
        headers,
      })
      .then(
        (reply) => callback({ response: decodeJson(reply.data), isDisposed: true }),
        (err: unknown) => callback({ err, isDisposed: true }),
      );
    return () => undefined;
  }

  protected async dispatchEvent<T = PubAck | undefined>(packet: ReadPacket): Promise<T> {
    const { data, options } = recordOf(packet.data);
    const subject = String(packet.pattern);
    if (STREAM_SUBJECT.test(subject))
      return (await this.publisher.persistRaw(subject, bytesOf(data), options)) as T;
    this.nc.publish(subject, bytesOf(data), {
      headers: headersWithTrace(options.headers, context.active()),
    });
    return undefined as T;
  }
}

function recordOf(payload: unknown): MessageRecord<unknown> {
  return payload instanceof MessageRecord ? payload : new MessageRecord(payload);
}

function bytesOf(data: unknown): Uint8Array {
  return data instanceof Uint8Array ? data : encodeJson(data);
}
