import { jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Headers, type DlqStage, Subjects } from '@nunchi/contracts';
import { context, type Context } from '@nunchi/telemetry';
import { encodeJson } from './codec.js';
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
  constructor(readonly nc: NatsConnection) {
    this.js = jetstream(nc, { timeout: 5_000 });
  }

  /** Stores the message in JetStream; resolves once the stream has it (PubAck.duplicate for a repeat msgID). */
  async persist(subject: string, body: unknown, options: PublishOptions = {}): Promise<PubAck> {
    return this.persistRaw(subject, encodeJson(body), options);
  }

  async persistRaw(subject: string, data: Uint8Array, options: PublishOptions = {}): Promise<PubAck> {
    return this.js.publish(subject, data, {
      msgID: options.msgID,
      headers: headersWithTrace(options.headers, options.traceContext ?? context.active()),
      timeout: options.timeoutMs,
    });
  }

  /** Core NATS: fire and forget (offers to adapters; losing one to a disconnected adapter is acceptable, it is also on DECISIONS). */
  emit(subject: string, body: unknown, options: Pick<PublishOptions, 'headers' | 'traceContext'> = {}): void {
    this.nc.publish(subject, encodeJson(body), { headers: headersWithTrace(options.headers, options.traceContext ?? context.active()) });
  }

  /** Rejected input with its original bytes, subject and reason. Stored, never dropped. */
  async deadLetter(stage: DlqStage, originalSubject: string, data: Uint8Array, reason: string, dedupeKey?: string): Promise<void> {
    await this.persistRaw(Subjects.dlq(stage), data, {
      msgID: dedupeKey ? `dlq:${stage}:${dedupeKey}` : undefined,
      headers: {
        [Headers.dlqReason]: reason.slice(0, 1024).replace(/[\r\n]+/g, ' '),
        [Headers.dlqSubject]: originalSubject,
        'Nunchi-Dlq-At': new Date().toISOString(),
      },
    });
  }
}
