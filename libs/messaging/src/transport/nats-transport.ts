import { jetstreamManager } from '@nats-io/jetstream';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { context } from '@nunchi/telemetry';
import { isObservable, lastValueFrom } from 'rxjs';
import { decodeJson, DecodeError, encodeJson } from '../codec.js';
import type { ConsumerRunner, Delivery, Logger } from '../consumer-runner.js';
import type { Outcome } from '../outcome.js';
import { traceContextOf } from '../trace-headers.js';
import {
  STREAM_BINDING,
  SUBJECT_BINDING,
  subjectCovers,
  subjectsOverlap,
  TransportBindingError,
  type StreamBinding,
  type SubjectBinding,
} from './bindings.js';
import { JetStreamContext, NatsMessageContext } from './contexts.js';
import type { PartitionAssignments } from './partition-assignments.js';

export interface NatsTransportOptions {
  nc: NatsConnection;
  runner: ConsumerRunner;
  assignments: PartitionAssignments;
  /** streams this service exists to consume: boot fails when one has no handler bound to it */
  consumes?: string[];
  logger: Logger;
}

interface StreamRoute {
  pattern: string;
  binding: StreamBinding;
  handler: MessageHandler;
}

/**
 * NATS and JetStream as a NestJS transport (`app.connectMicroservice({ strategy })`), on the @nats-io v3
 * client. Controllers bind handlers the Nest way, and guards, pipes, interceptors and exception filters
 * apply to messages as to HTTP requests:
 *
 * - `@MessagePattern(subject, onSubject({ queue }))`: core request/reply; the return value is the reply.
 * - `@EventPattern(subject)`: core NATS broadcast (hints such as "campaigns changed"); nothing is replied.
 * - `@EventPattern(subject, onStream({ stream, group, ... }))`: a JetStream stream through durable pull
 *   consumers (ConsumerRunner): the handler returns an Outcome (done → ack, retry → nak(delay),
 *   reject → DLQ then term); a thrown error is retried with back-off. With `partitionSubject`, the group's
 *   replicas split the partitions by lease (PartitionAssignments) and consumers follow the leases.
 *
 * W3C trace context is taken from the message's headers: the handler runs inside it (core) or inside the
 * consumer span that continues it (JetStream). `@Ctx()` gives a NatsMessageContext or JetStreamContext.
 */
export class NatsTransport extends Server implements CustomTransportStrategy {
  private readonly subscriptions: Subscription[] = [];
  /** requests and broadcasts being handled (core NATS): shutdown lets them finish and answer */
  private readonly handling = new Set<Promise<void>>();
  private readonly durables: string[] = [];

  constructor(private readonly options: NatsTransportOptions) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      const { core, streams } = this.routes();
      await this.checkStreamRoutes(streams);
      for (const [pattern, handler] of core) this.subscribe(pattern, handler);
      const groups = new Set<string>();
      for (const route of streams) {
        if (route.binding.partitionSubject) {
          this.bindPartitioned(route);
          groups.add(route.binding.group);
        } else await this.startDurable(route, route.binding.group, route.pattern);
      }
      for (const group of groups) await this.options.assignments.group(group).start();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    // Leases first: each partition's consumers stop (messages in hand finish) before its lease is freed.
    await Promise.all(this.options.assignments.all().map((g) => g.stop()));
    await Promise.all(this.durables.splice(0).map((d) => this.options.runner.stop(d)));
    await Promise.all(this.subscriptions.splice(0).map((s) => s.drain().catch(() => undefined)));
    // A drained subscription takes no more messages, but handlers of the last ones may still be storing an
    // event: they finish and answer before the connection is drained (the adapter gets its reply).
    await Promise.allSettled([...this.handling]);
  }

  on(): never {
    throw new Error('NatsTransport has no events to listen to; use readiness and metrics');
  }

  unwrap<T>(): T {
    return this.options.nc as T;
  }

  /** Handlers by kind: core subjects, and stream bindings. */
  private routes(): { core: [string, MessageHandler][]; streams: StreamRoute[] } {
    const core: [string, MessageHandler][] = [];
    const streams: StreamRoute[] = [];
    for (const [pattern, handler] of this.messageHandlers) {
      const binding = handler.extras?.[STREAM_BINDING] as StreamBinding | undefined;
      if (!binding) {
        core.push([pattern, handler]);
        continue;
      }
      if (!handler.isEventHandler)
        throw new TransportBindingError(
          `${pattern}: a stream is consumed with @EventPattern, not @MessagePattern (nothing replies to a stream message)`,
        );
      if (handler.next)
        throw new TransportBindingError(
          `${pattern}: two handlers are bound to this subject of stream ${binding.stream}; keep one (each message is acknowledged once)`,
        );
      streams.push({ pattern, binding, handler });
    }
    return { core, streams };
  }

  /** Every stream route names a stream that stores its subject; no two routes of a group overlap; nothing consumed is left unhandled. */
  private async checkStreamRoutes(routes: StreamRoute[]): Promise<void> {
    const jsm = await jetstreamManager(this.options.nc);
    const subjectsOf = new Map<string, string[]>();
    for (const route of routes) {
      const { stream } = route.binding;
      if (!subjectsOf.has(stream)) {
        const info = await jsm.streams.info(stream).catch(() => undefined);
        if (!info)
          throw new TransportBindingError(
            `${route.pattern}: stream ${stream} does not exist; streams are created by the migration step (nunchi migrate) — check the stream name`,
          );
        subjectsOf.set(stream, info.config.subjects ?? []);
      }
      const subjects = subjectsOf.get(stream) ?? [];
      if (!subjects.some((s) => subjectCovers(s, route.pattern)))
        throw new TransportBindingError(
          `${route.pattern}: stream ${stream} stores ${subjects.join(', ')}, which does not cover this subject; bind the handler to one of those`,
        );
    }
    for (const [i, a] of routes.entries())
      for (const b of routes.slice(i + 1))
        if (
          a.binding.stream === b.binding.stream &&
          a.binding.group === b.binding.group &&
          subjectsOverlap(a.pattern, b.pattern)
        )
          throw new TransportBindingError(
            `${a.pattern} and ${b.pattern}: two handlers of group ${a.binding.group} share subjects of stream ${a.binding.stream}; narrow one so each message has one handler`,
          );
    for (const stream of this.options.consumes ?? [])
      if (!routes.some((r) => r.binding.stream === stream))
        throw new TransportBindingError(
          `this service consumes stream ${stream}, but no handler is bound to it: add a controller method with @EventPattern(<subject>, onStream({ stream: '${stream}', ... }))`,
        );
  }

  private bindPartitioned(route: StreamRoute): void {
    const { binding } = route;
    const partitionSubject = binding.partitionSubject!;
    const durableOf = (partition: number) => `${binding.group}-p${partition}`;
    this.options.assignments.group(binding.group).bind({
      start: (partition) =>
        this.startDurable(route, durableOf(partition), partitionSubject(partition), partition),
      stop: (partition) => this.options.runner.stop(durableOf(partition)),
    });
  }

  private async startDurable(
    route: StreamRoute,
    durable: string,
    filterSubject: string,
    partition?: number,
  ): Promise<void> {
    const { binding, handler } = route;
    await this.options.runner.start<unknown>({
      stream: binding.stream,
      durable,
      filterSubject,
      spanName: binding.span,
      stage: binding.stage,
      handler: (delivery) => this.handleDelivery(handler, delivery),
      ...(binding.orderingKey ? { orderingKey: binding.orderingKey } : {}),
      ...(binding.concurrency ? { concurrency: binding.concurrency } : {}),
      ...(binding.maxAckPending ? { maxAckPending: binding.maxAckPending } : {}),
      ...(binding.ackWaitMs ? { ackWaitMs: binding.ackWaitMs } : {}),
      ...(binding.maxDeliveries ? { maxDeliveries: binding.maxDeliveries } : {}),
      // A partition taken over may have messages its last owner pulled and never acknowledged.
      fromAckFloor: partition !== undefined,
      ...(partition !== undefined ? { lag: { group: binding.group, partition } } : {}),
    });
    if (partition === undefined) this.durables.push(durable);
  }

  /** Through Nest's pipeline; the Outcome is the handler's last value (none: done). */
  private async handleDelivery(handler: MessageHandler, delivery: Delivery<unknown>): Promise<Outcome> {
    const value = await settle(await handler(delivery.body, new JetStreamContext([delivery])));
    return (value as Outcome | undefined) ?? { kind: 'done' };
  }

  private subscribe(pattern: string, handler: MessageHandler): void {
    const binding = (handler.extras?.[SUBJECT_BINDING] ?? {}) as SubjectBinding;
    const subscription = this.options.nc.subscribe(pattern, {
      ...(binding.queue ? { queue: binding.queue } : {}),
      callback: (error, msg) => {
        if (error) return this.options.logger.error(`${pattern}: subscription error: ${error.message}`);
        this.handleMessage(handler, binding, msg);
      },
    });
    this.subscriptions.push(subscription);
  }

  /**
   * Handed to the handler synchronously, in arrival order: every message takes the same steps through
   * Nest's pipeline, so handlers start in that order (ingestion keeps it into EVENTS).
   */
  private handleMessage(handler: MessageHandler, binding: SubjectBinding, msg: Msg): void {
    const respond = (value: unknown) => {
      if (msg.reply && !handler.isEventHandler) msg.respond(encodeJson(value ?? null));
    };
    let body: unknown = msg.data;
    if (binding.body !== 'bytes') {
      try {
        body = decodeJson(msg.data);
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
        respond({
          ok: false,
          error: { code: 'MALFORMED_JSON', message: error.message, details: [] },
        });
        return;
      }
    }
    const ctx = new NatsMessageContext([msg]);
    const parent = msg.headers ? traceContextOf(msg.headers) : context.active();
    const handled: Promise<void> = context.with(parent, async () => {
      for (let h: MessageHandler | undefined = handler; h; h = h.next) {
        try {
          respond(await settle(h(body, ctx)));
        } catch (error) {
          // The exception filter answers contract errors; what reaches here escaped it.
          this.options.logger.error(
            `${msg.subject}: unexpected failure: ${(error as Error).stack ?? String(error)}`,
          );
          respond({
            ok: false,
            error: { code: 'INTERNAL', message: 'unexpected error; retry', details: [] },
          });
        }
      }
    });
    this.handling.add(handled);
    const settled = () => void this.handling.delete(handled);
    handled.then(settled, settled);
  }
}

/** A handler's result (a value, a promise or an observable) as a promise of its last value. */
async function settle(result: unknown): Promise<unknown> {
  const value = await result;
  return isObservable(value) ? lastValueFrom(value, { defaultValue: undefined }) : value;
}
