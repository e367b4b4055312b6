import { jetstream, PubHeaders, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Headers, type DlqStage, type PayloadOf, Subjects } from '@nunchi/contracts/core';
import { context, type Context } from '@nunchi/telemetry';
import { encodeJson } from './codec.js';
import { PubAckInbox } from './pub-ack-inbox.js';
import { headersWithTrace } from './trace-headers.js';

export interface PublishOptions {
  /** JetStream deduplication key: the business key (event id, decision id). */
  msgID?: string;
  headers?: Record<string, string>;
  /** trace context to propagate; the active one by default */
  traceContext?: Context;
  /** milliseconds to wait for the stream's acknowledgement */
  timeoutMs?: number;
}

/** All publishing goes through here, so every message carries trace context. */
export class Publisher {
  readonly js: JetStreamClient;
  private readonly acks: PubAckInbox;
  constructor(readonly nc: NatsConnection) {
    this.js = jetstream(nc, { timeout: 5_000 });
    this.acks = new PubAckInbox(nc, 5_000);
  }

  /** Stores the message in JetStream; resolves once the stream has it (PubAck.duplicate for a repeat msgID). */
  persist<S extends string>(subject: S, body: PayloadOf<S>, options: PublishOptions = {}): Promise<PubAck> {
    return this.persistRaw(subject, encodeJson(body), options);
  }

  /** Handed to the connection synchronously (publishes keep their call order); resolves with the stream's answer. */
  persistRaw(subject: string, data: Uint8Array, options: PublishOptions = {}): Promise<PubAck> {
    const headers = headersWithTrace(options.headers, options.traceContext ?? context.active());
    if (options.msgID) headers.set(PubHeaders.MsgIdHdr, options.msgID);
    return this.acks.publish(subject, data, headers, options.timeoutMs);
  }

  /** Core NATS: fire and forget (offers to adapters; losing one to a disconnected adapter is acceptable, it is also on DECISIONS). */
  emit<S extends string>(
    subject: S,
    body: PayloadOf<S>,
    options: Pick<PublishOptions, 'headers' | 'traceContext'> = {},
  ): void {
    this.nc.publish(subject, encodeJson(body), {
      headers: headersWithTrace(options.headers, options.traceContext ?? context.active()),
    });
  }

  /** Rejected input with its original bytes, subject and reason. Stored, never dropped. */
  async deadLetter(
    stage: DlqStage,
    originalSubject: string,
    data: Uint8Array,
    reason: string,
    dedupeKey?: string,
    headers: Record<string, string> = {},
  ): Promise<void> {
    await this.persistRaw(Subjects.dlq(stage), data, {
      msgID: dedupeKey ? `dlq:${stage}:${dedupeKey}` : undefined,
      headers: {
        ...headers,
        [Headers.dlqReason]: reason.slice(0, 1024).replace(/[\r\n]+/g, ' '),
        [Headers.dlqSubject]: originalSubject,
        [Headers.dlqAt]: new Date().toISOString(),
      },
    });
  }
}
