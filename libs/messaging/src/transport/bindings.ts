import type { DlqStage } from '@nunchi/contracts/core';

/**
 * How an `@EventPattern` handler is bound to a JetStream stream: pass `onStream({...})` as the pattern's
 * extras. Everything about acknowledgement, redelivery, ordering and partition ownership lives in the
 * transport (NatsTransport); the handler only returns an Outcome.
 */
export interface StreamBinding<T = unknown> {
  /** the stream's name, e.g. Streams.EVENTS.name */
  stream: string;
  /**
   * The consumer group: replicas of one service share the stream's messages. Durable consumers are named
   * `<group>` or, when partitioned, `<group>-p<partition>`.
   */
  group: string;
  /**
   * Split the stream among the group's live replicas by lease (PartitionOwnership): the filter subject of
   * one partition, e.g. Subjects.eventsOfPartition. One replica consumes a partition at a time.
   */
  partitionSubject?: (partition: number) => string;
  /** where a rejected message goes: DLQ subject mkt.dlq.<stage> */
  stage: DlqStage;
  /** span name for handling one message, e.g. "context.apply" */
  span: string;
  /**
   * The ordering key of a message (its customer id): up to `concurrency` messages of one consumer are
   * handled at once, messages with the same key strictly in stream order. Without it, one at a time.
   */
  orderingKey?: (body: T) => string;
  /** messages of one consumer in flight with an ordering key; @default 32 */
  concurrency?: number;
  /** unacknowledged messages per consumer (JetStream back-pressure); @default 512 */
  maxAckPending?: number;
  /** milliseconds before an unacknowledged message is redelivered; @default 30_000 */
  ackWaitMs?: number;
  /** deliveries after which a message that still fails goes to the DLQ; @default 20 */
  maxDeliveries?: number;
}

/**
 * How a core NATS handler (`@MessagePattern` for request/reply, `@EventPattern` for a broadcast hint) is
 * subscribed: pass `onSubject({...})` as the pattern's extras, or nothing for the defaults.
 */
export interface SubjectBinding {
  /** queue group: each message goes to one replica of the group; without one every replica gets it */
  queue?: string;
  /** 'json' (default): the payload is the decoded body; 'bytes': the raw Uint8Array (the handler decodes) */
  body?: 'json' | 'bytes';
}

export const STREAM_BINDING = 'nunchi.stream';
export const SUBJECT_BINDING = 'nunchi.subject';

/** Extras for `@EventPattern(subject, onStream({...}))`: consume the subject from a JetStream stream. */
export function onStream<T>(binding: StreamBinding<T>): Record<string, unknown> {
  return { [STREAM_BINDING]: binding };
}

/** Extras for `@MessagePattern(subject, onSubject({...}))` or `@EventPattern(subject, onSubject({...}))`. */
export function onSubject(binding: SubjectBinding): Record<string, unknown> {
  return { [SUBJECT_BINDING]: binding };
}

/** A handler's binding is wrong or missing; boot stops with a message naming the fix. */
export class TransportBindingError extends Error {
  override readonly name = 'TransportBindingError';
}

/**
 * Whether two NATS subject patterns can match the same subject ('*' one token, '>' one or more at the end).
 */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === '>' || q === '>') return p !== undefined && q !== undefined;
    if (p === undefined || q === undefined) return false;
    if (p !== '*' && q !== '*' && p !== q) return false;
  }
  return true;
}

/** Whether every subject `inner` matches is also matched by `outer`. */
export function subjectCovers(outer: string, inner: string): boolean {
  const o = outer.split('.');
  const n = inner.split('.');
  for (let i = 0; i < o.length; i++) {
    const p = o[i];
    const q = n[i];
    if (p === '>') return q !== undefined;
    if (q === undefined || q === '>') return false;
    if (p === '*') continue;
    if (q === '*' || p !== q) return false;
  }
  return o.length === n.length;
}
