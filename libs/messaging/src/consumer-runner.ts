import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerInfo,
  type ConsumerMessages,
  type JetStreamManager,
  type MsgRequest,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Headers, Subjects, type DlqStage } from '@nunchi/contracts/core';
import { latencyHistogram, meter, SpanKind, withSpan } from '@nunchi/telemetry';
import { decodeJson, DecodeError, encodeJson } from './codec.js';
import { unavailableDependency } from './infrastructure.js';
import { OutageGate, sleep, StoppedError, type Outage } from './outage-gate.js';
import { KeyedSerializer } from './keyed-serializer.js';
import {
  historyRewritten,
  isUnanswered,
  ReplayInterval,
  stuckSince,
  UnansweredConsumers,
  type HandledMark,
  type MissedDelivery,
} from './delivery-watchdog.js';
import type { Outcome } from './outcome.js';
import type { Publisher } from './publisher.js';
import { traceContextOf } from './trace-headers.js';

export interface Delivery<T> {
  body: T;
  subject: string;
  /** stream sequence: strictly increasing within the stream */
  seq: number;
  /** 1 on first delivery */
  deliveryCount: number;
  /**
   * The message may have been handled before: a redelivery, or a message replayed from the ack floor when
   * this replica took the partition over (those arrive with deliveryCount 1). Handlers that skip work on
   * repeats must check this, not deliveryCount.
   */
  redelivered: boolean;
  header(name: string): string | undefined;
}

export type Handler<T> = (delivery: Delivery<T>) => Promise<Outcome>;

export interface ConsumerSpec<T> {
  stream: string;
  /** durable consumer name, e.g. "context-p3" */
  durable: string;
  filterSubject: string;
  /** span name for processing one message, e.g. "context.update" */
  spanName: string;
  stage: DlqStage;
  handler: Handler<T>;
  /** messages in flight per consumer (JetStream back-pressure); @default 512 */
  maxAckPending?: number;
  /** milliseconds before an unacknowledged message is redelivered; @default 30_000 */
  ackWaitMs?: number;
  /** deliveries after which a message that still fails goes to the DLQ; @default 20 */
  maxDeliveries?: number;
  /**
   * The ordering key of a message (e.g. its customer id). With a key, up to `concurrency` messages of
   * one consumer are handled at once, but messages with the same key strictly one after another, in
   * stream order. Without one, messages are handled one at a time.
   */
  orderingKey?: (body: T) => string;
  /** messages of one consumer in flight when orderingKey is given; @default 32 */
  concurrency?: number;
  /**
   * Taking over a partition from another replica: messages it had pulled but not acknowledged would wait
   * for ackWaitMs, and arrive after later ones. With this set, a consumer with unacknowledged messages is
   * recreated at its ack floor, so they are redelivered at once and in order (acknowledged ones after the
   * floor come again too: handlers are idempotent).
   */
  fromAckFloor?: boolean;
  /** the consumer group and partition it serves: its lag is reported on Subjects.lag(group) */
  lag?: { group: string; partition: number };
}

/** How far behind one running consumer is. */
export interface ConsumerLag {
  durable: string;
  /** the consumer group and partition this consumer serves, when it serves one (ConsumerSpec.lag) */
  of?: { group: string; partition: number };
  /** messages stored but not yet acknowledged: waiting in the stream plus delivered and in hand (last poll) */
  pending: number;
  /**
   * seconds since the oldest message not yet settled was stored: the oldest in hand, or — while the consumer
   * has taken none in hand since a poll found it — the first past its ack floor; 0 when none is known
   */
  oldestAgeS: number;
}

/**
 * How one consumer's loop is doing. `waiting`: its messages wait out an infrastructure outage (nothing is
 * acknowledged, nacked or dead-lettered meanwhile). `restarting`: its loop ended unexpectedly and is being
 * started again (with back-off). `failing`: restarts keep failing.
 */
export interface ConsumerHealth {
  durable: string;
  state: 'running' | 'waiting' | 'restarting' | 'failing';
  detail?: string;
}

/** milliseconds between polls of each running consumer's pending count */
export const LAG_POLL_MS = 5_000;

/**
 * How far back, before the last message handled, a consumer whose stream was rewound replays (by store time):
 * longer than a partition of the NATS cluster plus its healing. Replayed messages are handled idempotently.
 */
const REWIND_REPLAY_MS = 15 * 60_000;
/**
 * How often, at most, one consumer's finding replays its stream for the runner's other consumers of it, and
 * a consumer found past its stream's end replays itself: a sick cluster can make a consumer find the same
 * rewind every few seconds, and each replay reads back REWIND_REPLAY_MS of the stream for every partition.
 */
const STREAM_REPLAY_INTERVAL_MS = 5 * 60_000;

/**
 * How long a consumer's requests may go unanswered while its stream answers before it is deleted and created
 * again on a replica group that answers (ConsumerRunnerOptions.unansweredGraceMs): long enough for a consumer
 * group to elect a leader after a NATS server restarts, short beside the deadline of the messages it holds up.
 */
const UNANSWERED_GRACE_MS = 60_000;

export interface ConsumerRunnerOptions {
  /** milliseconds; @default 60_000 (UNANSWERED_GRACE_MS) */
  unansweredGraceMs?: number;
}

/** What the DLQ keeps of a message a stage refused: its bytes, and headers to add (e.g. what was sealed). */
export interface DlqCopy {
  data: Uint8Array;
  headers?: Record<string, string>;
}

/**
 * Turns a refused message into what the DLQ keeps — e.g. its personal part sealed under the customer's key
 * (context: docs/security.md, "Personal data in the DLQ"). A failure is retried like a failed DLQ write (the
 * message kept, unacknowledged); a stage without one keeps the bytes as they came.
 */
export type DlqSealer = (stage: DlqStage, data: Uint8Array) => Promise<DlqCopy>;

export interface Logger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Runs durable pull consumers. Messages of one consumer are handled in stream order: one at a time, or,
 * with an ordering key, one at a time per key (per customer) and concurrently across keys. Different
 * consumers run concurrently.
 */
export class ConsumerRunner {
  private readonly running = new Map<string, Running>();
  /** Consumers whose start is creating the durable consumer: a stop meanwhile aborts the start. */
  private readonly starting = new Map<string, AbortController>();
  private lagTimer: NodeJS.Timeout | undefined;
  /** One for the process: an outage of Cassandra or NATS is everybody's. */
  private readonly gate: OutageGate;
  private readonly rewinds = meter().createCounter('nunchi_consumer_rewinds_total', {
    description:
      'consumers recreated by time because their stream was shorter than what they had acknowledged, or held another message where they had handled one (a rewound or rewritten history)',
  });
  private readonly stalls = meter().createCounter('nunchi_consumer_stalls_total', {
    description:
      'consumers recreated because they stopped delivering stored messages (the watchdog: ConsumerRunner.checkDelivering)',
  });
  private readonly replacements = meter().createCounter('nunchi_consumer_replacements_total', {
    description:
      'consumers deleted and created again because nothing answered for them while their stream did (a replica group without a leader)',
  });
  /**
   * Each hop's wait, apart from the work: how long a message was in the stream before its handler started
   * (delivery, then any queue in this process; a backlog shows here first). By consumer group (`group`, as
   * the partitions' lease metrics name it) and stream; per message, the span attribute `nunchi.queue.wait_ms`.
   * NATS's store time against this host's clock: hosts' clocks apart by a millisecond move it by as much.
   */
  private readonly waits = latencyHistogram(
    'nunchi_consumer_wait_ms',
    "milliseconds from a message's store time in its stream to its handler's start, by consumer group and stream",
  );
  private readonly unanswered: UnansweredConsumers;
  /**
   * durable → the stream sequence up to which it had acknowledged everything, when its info last answered:
   * where a consumer that no longer answers is created again (an older floor only means more is replayed)
   */
  private readonly ackFloors = new Map<string, number>();
  /**
   * Replays by time: of each stream for all its consumers here (replayStreamByTime, key `stream:<name>`), and
   * of each consumer found past its stream's end (checkDelivering, key `ahead:<durable>`)
   */
  private readonly replays = new ReplayInterval(STREAM_REPLAY_INTERVAL_MS);
  /** per stream consumed here: the subscription to other processes' findings of a rewind (Subjects.streamRewound) */
  private readonly rewindHints = new Map<string, Subscription>();
  /** durable → where it is being created again after a deletion (see recreate) */
  private readonly recreating = new Map<string, { at: StartAt; replayedUpTo: number }>();
  private dlqSealer: DlqSealer | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly publisher: Publisher,
    private readonly logger: Logger,
    options: ConsumerRunnerOptions = {},
  ) {
    this.unanswered = new UnansweredConsumers(options.unansweredGraceMs ?? UNANSWERED_GRACE_MS);
    this.gate = new OutageGate({
      onChange: (outage, previous) =>
        outage
          ? this.logger.warn(
              `${outage.dependency} unavailable (${outage.reason}): consumers pause, nothing is acknowledged or dead-lettered until it answers again`,
            )
          : this.logger.log(
              `${previous?.dependency ?? 'dependency'} answers again after ${((Date.now() - (previous?.sinceMs ?? Date.now())) / 1000).toFixed(1)} s: consumers resume`,
            ),
    });
    const m = meter();
    m.createObservableGauge('nunchi_consumer_waiting_for_infrastructure', {
      description: '1 while consumers wait out an outage of Cassandra or NATS, else 0',
    }).addCallback((r) => r.observe(this.gate.outage ? 1 : 0));
    m.createObservableGauge('nunchi_consumer_pending_messages', {
      description: 'messages stored but not yet acknowledged, per durable consumer (polled every 5 s)',
    }).addCallback((r) => {
      for (const lag of this.lag()) r.observe(lag.pending, { consumer: lag.durable });
    });
    m.createObservableGauge('nunchi_consumer_oldest_age_seconds', {
      description: 'age of the oldest message in hand (time since it was stored), per durable consumer',
      unit: 's',
    }).addCallback((r) => {
      for (const lag of this.lag()) r.observe(lag.oldestAgeS, { consumer: lag.durable });
    });
  }

  /**
   * What the DLQ keeps of refused messages, from now on (a service sets it while its module starts, before
   * any consumer runs: context seals accepted events' payloads).
   */
  sealDeadLetters(sealer: DlqSealer): void {
    this.dlqSealer = sealer;
  }

  /** How far behind each running consumer is (see ConsumerLag). */
  lag(nowMs = Date.now()): ConsumerLag[] {
    return [...this.running.entries()].map(([durable, r]) => {
      let oldest = r.unsettled?.storedAtMs ?? Infinity;
      for (const ms of r.inHand.values()) if (ms < oldest) oldest = ms;
      return {
        durable,
        ...(r.of ? { of: r.of } : {}),
        pending: Math.max(r.pending, r.inHand.size),
        oldestAgeS: oldest === Infinity ? 0 : Math.max(0, (nowMs - oldest) / 1000),
      };
    });
  }

  /** The infrastructure outage consumers are waiting out, if any. */
  get outage(): Outage | undefined {
    return this.gate.outage;
  }

  /** Each running consumer's loop: running, waiting out an outage, or being restarted. */
  health(): ConsumerHealth[] {
    const outage = this.gate.outage;
    return [...this.running.entries()].map(([durable, r]): ConsumerHealth => {
      if (r.failure)
        return {
          durable,
          state: r.failure.attempts >= 3 ? 'failing' : 'restarting',
          detail: `loop ended (${r.failure.reason}); restart attempt ${r.failure.attempts}`,
        };
      if (outage && r.inHand.size > 0)
        return { durable, state: 'waiting', detail: `waiting for ${outage.dependency}: ${outage.reason}` };
      return { durable, state: 'running' };
    });
  }

  /**
   * Starts pulling. A stop() of this durable while the consumer is still being created wins: the start then
   * resolves without consuming (a partition whose lease was fenced while its consumer was created must not
   * be consumed unowned).
   */
  async start<T>(spec: ConsumerSpec<T>): Promise<void> {
    if (this.running.has(spec.durable) || this.starting.has(spec.durable))
      throw new Error(`Consumer ${spec.durable} is already running in this process`);
    this.followRewinds(spec.stream);
    // A zero from the start: the alert on rewinds (increase() over 15 min) then sees the first one too.
    this.rewinds.add(0, { consumer: spec.durable });
    const abort = new AbortController();
    this.starting.set(spec.durable, abort);
    let opened: Awaited<ReturnType<typeof this.open>>;
    try {
      opened = await this.open(spec);
    } finally {
      this.starting.delete(spec.durable);
    }
    if (abort.signal.aborted) {
      discard(opened.messages);
      return;
    }
    const running: Running = {
      stream: spec.stream,
      messages: opened.messages,
      loop: Promise.resolve(),
      inHand: new Map(),
      pending: 0,
      filterSubject: spec.filterSubject,
      abort,
      ...(spec.lag ? { of: spec.lag } : {}),
    };
    this.running.set(spec.durable, running);
    running.loop = this.supervise(spec, running, opened.replayedUpTo);
    this.lagTimer ??= setInterval(() => void this.pollPending(), LAG_POLL_MS).unref();
    // at once, not at the next poll: a consumer started on a backlog it cannot take yet reports its age now
    void jetstreamManager(this.nc)
      .then(async (jsm) =>
        this.notePending(jsm, running, await jsm.consumers.info(spec.stream, spec.durable)),
      )
      .catch(() => undefined);
  }

  /** Creates or updates the durable consumer and starts pulling; see ConsumerSpec.fromAckFloor. */
  private async open<T>(
    spec: ConsumerSpec<T>,
    reopen: {
      /** delete and recreate the consumer at its ack floor even with nothing unacknowledged (the watchdog) */
      recreate?: boolean;
      /** epoch ms the last message this runner handled was stored: where a replay after a rewind starts */
      handledUpToMs?: number;
      /** the stream's history was rewritten below the consumer's position (checkDelivering): replay by time */
      rewritten?: boolean;
    } = {},
  ): Promise<{ messages: ConsumerMessages; replayedUpTo: number }> {
    const jsm = await jetstreamManager(this.nc);
    /** stream sequences up to this one were delivered before a takeover: they may have been handled */
    let replayedUpTo = 0;
    const config = {
      durable_name: spec.durable,
      filter_subject: spec.filterSubject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: (spec.ackWaitMs ?? 30_000) * 1_000_000,
      max_ack_pending: spec.maxAckPending ?? 512,
      max_deliver: -1,
    };
    try {
      const info = await jsm.consumers.info(spec.stream, spec.durable);
      const floor = this.answered(spec.durable, info);
      if (reopen.recreate || (spec.fromAckFloor && info.num_ack_pending > 0)) {
        replayedUpTo = info.delivered.stream_seq;
        const last = (await jsm.streams.info(spec.stream)).state.last_seq;
        if (floor <= last && !reopen.rewritten) {
          this.logger.log(
            `${spec.durable}: ${info.num_ack_pending} unacknowledged; redelivering from stream sequence ${floor + 1}`,
          );
          await this.recreate(jsm, spec, config, fromSequence(floor + 1), replayedUpTo);
        } else {
          // The stream is shorter than what the consumer acknowledged, or holds other messages under sequences
          // it handled: its history was rewound or rewritten (see checkDelivering), and what it holds now may be
          // under sequences already passed.
          const fromMs = (reopen.handledUpToMs ?? Date.now()) - REWIND_REPLAY_MS;
          replayedUpTo = last; // what is stored after it now is new; what comes before may have been handled
          this.rewinds.add(1, { consumer: spec.durable });
          this.logger.warn(
            floor <= last
              ? `${spec.durable}: ${spec.stream}'s history was rewritten below what it acknowledged (${floor}); redelivering what it stored since ${new Date(fromMs).toISOString()}`
              : `${spec.durable}: acknowledged up to stream sequence ${floor}, but ${spec.stream} ends at ${last}: its history was rewound; redelivering what it stored since ${new Date(fromMs).toISOString()}`,
          );
          await this.recreate(jsm, spec, config, fromTime(fromMs), replayedUpTo);
        }
      } else {
        await jsm.consumers.update(spec.stream, spec.durable, {
          ack_wait: config.ack_wait,
          max_ack_pending: config.max_ack_pending,
        });
      }
    } catch (error) {
      if (/consumer not found/i.test((error as Error).message)) {
        // Deleted to be created again, and that creation failed: created where it was meant to start.
        const pending = this.recreating.get(spec.durable);
        await jsm.consumers.add(spec.stream, { ...config, ...pending?.at });
        if (pending) {
          this.recreating.delete(spec.durable);
          replayedUpTo = pending.replayedUpTo;
          this.logger.log(`${spec.durable}: created again, redelivering from ${describeStart(pending.at)}`);
        }
      } else if (isUnanswered(error) && this.unanswered.overdue(spec.durable, Date.now()))
        replayedUpTo = await this.replaceUnanswered(jsm, spec, config, reopen.handledUpToMs);
      else throw error;
    }
    const consumer = await jetstream(this.nc).consumers.get(spec.stream, spec.durable);
    const messages = await consumer.consume({
      max_messages: Math.min(256, config.max_ack_pending),
      // A consumer gone (deleted, or lost with a NATS server's store) ends the pull instead of waiting for
      // someone to recreate it: the supervisor reopens it at its ack floor.
      abort_on_missing_resource: true,
    });
    return { messages, replayedUpTo };
  }

  /** Notes that a consumer answered; returns its ack floor. */
  private answered(durable: string, info: ConsumerInfo): number {
    this.unanswered.answered(durable);
    const floor = ackFloorOf(info);
    this.ackFloors.set(durable, floor);
    return floor;
  }

  /**
   * Notes what the consumer has pending, and the oldest message it has not settled — the first on its
   * subject past its ack floor — for lag() to count while nothing at or after it has been taken in hand.
   * Without it a consumer with a backlog but nothing in hand (starting, restarting, stalled, or held by its
   * predecessor's unacknowledged messages until they are redelivered) reported no lag at all, and ingestion's
   * admission control and the work that yields to the hot path went on as if it kept up. Once this runner has
   * taken a message at or past it, what is left of the backlog is in hand or right behind it, and counted
   * from there.
   */
  private async notePending(jsm: JetStreamManager, r: Running, info: ConsumerInfo): Promise<void> {
    r.pending = info.num_pending + info.num_ack_pending;
    if (r.pending === 0) {
      r.unsettled = undefined;
      return;
    }
    const first = await jsm.streams
      .getMessage(r.stream, {
        next_by_subj: r.filterSubject,
        seq: ackFloorOf(info) + 1,
      } as unknown as MsgRequest) // (as in checkDelivering)
      .catch(() => undefined); // gone meanwhile, or NATS unreachable: nothing known
    r.unsettled =
      first && (r.handledMark?.seq ?? 0) < first.seq
        ? { seq: first.seq, storedAtMs: first.time.getTime() }
        : undefined;
  }

  /**
   * A consumer nothing has answered for during the grace period while its stream answers: its replica group
   * has no leader (its server is gone, or, with nats-server 2.9.10 after a partition of a whole host, the group
   * never elects one again — docs/reliability.md). Deleted (through the meta leader, which may not confirm in
   * time: the deletion still takes effect) and created again from its last known ack floor, or, with none
   * known or a stream since rewound, by store time from REWIND_REPLAY_MS before the last message handled (or
   * before its requests first went unanswered). Returns the stream sequence up to which messages may have
   * been handled before.
   */
  private async replaceUnanswered<T>(
    jsm: JetStreamManager,
    spec: ConsumerSpec<T>,
    config: Parameters<JetStreamManager['consumers']['add']>[1],
    handledUpToMs: number | undefined,
  ): Promise<number> {
    // Unanswered too: NATS itself is out of reach, which is waited out, not repaired.
    const last = (await jsm.streams.info(spec.stream)).state.last_seq;
    const sinceMs = this.unanswered.unansweredSince(spec.durable) ?? Date.now();
    const floor = this.ackFloors.get(spec.durable);
    const fromMs = (handledUpToMs ?? sinceMs) - REWIND_REPLAY_MS;
    const at = floor !== undefined && floor <= last ? fromSequence(floor + 1) : fromTime(fromMs);
    this.logger.warn(
      `${spec.durable}: unanswered for ${((Date.now() - sinceMs) / 1000).toFixed(0)} s while ${spec.stream} answers (a replica group without a leader); recreating it, redelivering from ${describeStart(at)}`,
    );
    this.replacements.add(1, { consumer: spec.durable });
    await this.recreate(jsm, spec, config, at, last);
    this.unanswered.answered(spec.durable);
    return last;
  }

  /**
   * Deletes a consumer and creates it again at `at`. Until the creation succeeds, open() creates a missing
   * consumer there too (never from the stream's start, which would replay the whole history). A deletion
   * unconfirmed in time is taken as done: through the meta leader, it takes effect anyway (and if it did not,
   * the creation fails and is retried).
   */
  private async recreate<T>(
    jsm: JetStreamManager,
    spec: ConsumerSpec<T>,
    config: Parameters<JetStreamManager['consumers']['add']>[1],
    at: StartAt,
    replayedUpTo: number,
  ): Promise<void> {
    this.recreating.set(spec.durable, { at, replayedUpTo });
    const running = this.running.get(spec.durable);
    if (running && 'opt_start_time' in at) {
      // Replayed by time: the stream's history changed under the marks, which name messages of the old one.
      running.handledMark = undefined;
      running.pollMark = undefined;
      running.markEpoch = (running.markEpoch ?? 0) + 1;
    }
    await jsm.consumers.delete(spec.stream, spec.durable).catch((error: Error) => {
      if (!isUnanswered(error) && !/consumer not found/i.test(error.message)) throw error;
    });
    await jsm.consumers.add(spec.stream, { ...config, ...at });
    this.recreating.delete(spec.durable);
  }

  /**
   * Runs the consumer's loop, and starts it again whenever it ends without stop() (the pull failed, the
   * consumer vanished with a NATS restart, a bug): a partition whose lease this replica renews is never left
   * unconsumed. The loop's messages in hand finish first, and the consumer is reopened at its ack floor, so
   * nothing is handled twice at once or out of order.
   */
  private async supervise<T>(spec: ConsumerSpec<T>, running: Running, replayedUpTo: number): Promise<void> {
    let upTo = replayedUpTo;
    for (;;) {
      let reason = 'the message stream ended';
      try {
        await this.runLoop(spec, running, upTo);
      } catch (error) {
        reason = (error as Error).message;
      }
      if (running.abort.signal.aborted) return;
      let attempts = 0;
      for (;;) {
        attempts++;
        running.failure = { reason, attempts };
        this.logger.error(
          `consumer ${spec.durable} stopped unexpectedly (${reason}); restarting (attempt ${attempts})`,
        );
        try {
          await sleep(Math.min(30_000, 500 * 2 ** Math.min(attempts - 1, 6)), running.abort.signal);
          await running.messages.close().catch(() => undefined);
          const opened = await this.open(
            { ...spec, fromAckFloor: true },
            {
              recreate: running.recreate,
              handledUpToMs: running.handledUpToMs,
              rewritten: running.rewritten,
            },
          );
          running.recreate = undefined;
          running.rewritten = undefined;
          if (running.abort.signal.aborted) {
            discard(opened.messages);
            return;
          }
          running.messages = opened.messages;
          upTo = Math.max(upTo, opened.replayedUpTo);
          running.failure = undefined;
          this.logger.log(`consumer ${spec.durable} restarted`);
          break;
        } catch (error) {
          if (error instanceof StoppedError) return;
          reason = (error as Error).message;
        }
      }
    }
  }

  private runLoop<T>(spec: ConsumerSpec<T>, running: Running, replayedUpTo: number): Promise<void> {
    const handle = async (msg: JsMsg, body: Decoded<T>) => {
      const storedAtMs = msg.info.timestampNanos / 1_000_000;
      running.inHand.set(msg.seq, storedAtMs);
      running.handledUpToMs = Math.max(running.handledUpToMs ?? 0, storedAtMs);
      if (running.unsettled && msg.seq >= running.unsettled.seq) running.unsettled = undefined;
      if (msg.seq > (running.handledMark?.seq ?? 0))
        running.handledMark = {
          seq: msg.seq,
          msgId: msg.headers?.get('Nats-Msg-Id') || undefined,
          storedAtMs,
        };
      try {
        await this.handle(spec, msg, body, replayedUpTo, running.abort.signal);
      } finally {
        running.inHand.delete(msg.seq);
      }
    };
    return spec.orderingKey
      ? this.keyedLoop(running.messages, spec.orderingKey, spec.concurrency ?? 32, handle)
      : this.sequentialLoop(running.messages, handle);
  }

  private async pollPending(): Promise<void> {
    // Never rejects (it runs from a timer): NATS unreachable leaves the last figures standing.
    const jsm = await jetstreamManager(this.nc).catch(() => undefined);
    if (!jsm) return;
    const lastSeqs = new Map<string, Promise<number | undefined>>();
    const lastSeqOf = (stream: string) => {
      let last = lastSeqs.get(stream);
      if (!last) {
        last = jsm.streams.info(stream).then(
          (i) => i.state.last_seq,
          () => undefined,
        );
        lastSeqs.set(stream, last);
      }
      return last;
    };
    await Promise.all(
      [...this.running.entries()].map(async ([durable, r]) => {
        let info: ConsumerInfo;
        try {
          info = await jsm.consumers.info(r.stream, durable);
        } catch (error) {
          // Stopped meanwhile, or NATS unreachable: the last figure stands until the next poll. But a consumer
          // unanswered for the grace period while its stream answers is reopened, and so replaced (open()).
          if (
            isUnanswered(error) &&
            !r.failure &&
            (await lastSeqOf(r.stream)) !== undefined &&
            this.unanswered.overdue(durable, Date.now())
          ) {
            this.logger.warn(`${durable}: unanswered while ${r.stream} answers; reopening it`);
            r.recreate = true;
            await r.messages.close().catch(() => undefined);
          }
          return;
        }
        try {
          this.answered(durable, info);
          await this.notePending(jsm, r, info);
          await this.checkDelivering(jsm, durable, r, info, await lastSeqOf(r.stream));
        } catch {
          // stopped meanwhile, or NATS unreachable: the last figure stands until the next poll
        }
      }),
    );
  }

  /**
   * The watchdog of a consumer that stopped delivering. Seen with nats-server 2.9 after a cluster member was
   * partitioned away and came back: a consumer led by that member reported nothing pending and delivered
   * nothing while its stream held new messages on its subject, for good (docs/reliability.md). When an idle
   * consumer (nothing pending, nothing unacknowledged, nothing in hand) has a stored message past its
   * delivered sequence, and the same one still at the next poll, five seconds later, with nothing delivered
   * meanwhile, its loop is ended and the consumer recreated at its ack floor (handlers are idempotent).
   */
  private async checkDelivering(
    jsm: JetStreamManager,
    durable: string,
    r: Running,
    info: ConsumerInfo,
    streamLastSeq: number | undefined,
  ): Promise<void> {
    const delivered = info.delivered.stream_seq;
    // Delivered past the stream's end, twice in a row: the stream's history was rewound under the consumer
    // (nats-server 2.9.10 on a cluster, after a server was killed and another partitioned: a stream shorter
    // than what its consumers had seen, new messages stored under sequences they had passed). Recreated,
    // it redelivers by time instead (open()).
    if (r.failure === undefined && streamLastSeq !== undefined && delivered > streamLastSeq) {
      if (r.aheadOfStream === undefined) {
        r.aheadOfStream = delivered;
        return;
      }
      r.aheadOfStream = undefined;
      if (!this.replays.take(`ahead:${durable}`, Date.now())) {
        // Past the end again since its last replay: it reads a replica whose history differs from the
        // stream leader's (a sick nats-server 2.9.10 cluster), which another replay would not change — and the
        // same finding every 10 s made each consumer re-read 15 minutes of its stream (docs/reliability.md).
        if (!r.aheadReported) {
          r.aheadReported = true;
          this.logger.warn(
            `${durable}: delivered up to stream sequence ${delivered} again, past ${r.stream}'s end (${streamLastSeq}), since it was replayed by time; its replica's history differs from the stream leader's — not replaying again before ${new Date(this.replays.nextAt(`ahead:${durable}`)).toISOString()}`,
          );
        }
        return;
      }
      r.aheadReported = undefined;
      r.recreate = true;
      await r.messages.close().catch(() => undefined);
      await this.replayStreamByTime(r.stream, durable);
      return;
    }
    r.aheadOfStream = undefined;
    // Messages it handled, read back: another one under a sequence means the history was rewritten below the
    // consumer, and what was stored again there would never be delivered to it. Two are read: the one handled
    // last, and the one that was last at the previous poll — the latter because under steady traffic the
    // consumer goes on delivering from the new history at once, and the mark of the latest moves onto it
    // before any poll sees the old one.
    if (r.failure === undefined) {
      const latest = r.handledMark;
      const epoch = r.markEpoch;
      for (const mark of new Set([r.pollMark, latest])) {
        if (!mark) continue;
        const stored = await jsm.streams
          .getMessage(r.stream, { seq: mark.seq })
          .then((m) =>
            m
              ? { msgId: m.header?.get('Nats-Msg-Id') || undefined, storedAtMs: m.time.getTime() }
              : undefined,
          )
          .catch(() => undefined); // gone (retention, a shorter history), or NATS unreachable: no finding
        // (marks dropped meanwhile by a replay by time name the old history: no finding either)
        if (r.markEpoch === epoch && historyRewritten(mark, stored)) {
          this.logger.warn(
            `${durable}: ${r.stream} holds another message at stream sequence ${mark.seq} than the one it handled there (${mark.msgId ?? 'no id'}): its history was rewritten; recreating the consumer by time`,
          );
          this.rewinds.add(1, { consumer: durable });
          await replayByTime(r);
          await this.replayStreamByTime(r.stream, durable);
          return;
        }
      }
      if (r.markEpoch === epoch) r.pollMark = latest;
    }
    if (info.num_pending > 0 || info.num_ack_pending > 0 || r.inHand.size > 0 || r.failure) {
      r.missed = undefined;
      return;
    }
    // The first message on the subject from `seq` on (wildcards allowed): nats-server answers it on
    // STREAM.MSG.GET since 2.9, though nats.js types it for direct gets only.
    const next = await jsm.streams.getMessage(r.stream, {
      next_by_subj: r.filterSubject,
      seq: delivered + 1,
    } as unknown as MsgRequest);
    if (!next) {
      r.missed = undefined;
      return;
    }
    if (!stuckSince(r.missed, next.seq, delivered)) {
      r.missed = { seq: next.seq, delivered };
      return;
    }
    r.missed = undefined;
    this.logger.warn(
      `${durable}: stream sequence ${next.seq} on ${r.filterSubject} not delivered (consumer at ${delivered}, nothing pending, twice ${LAG_POLL_MS / 1000} s apart); recreating the consumer at its ack floor`,
    );
    this.stalls.add(1, { consumer: durable });
    r.recreate = true;
    await r.messages.close().catch(() => undefined);
  }

  /**
   * A stream whose history one consumer found rewound or rewritten was rewound for every consumer of it, but
   * not every one can see it: a consumer opened since at an ack floor the new history's end has reached (a
   * partition taken over, its marks gone) has nothing of the old history left to compare, and the messages
   * stored again below its floor would never reach it (a cluster run of nats-server 2.9.10 lost 405 events so:
   * docs/reliability.md, "Frozen processes"). So every other consumer of the stream in this runner replays it
   * by time too (at most once per STREAM_REPLAY_INTERVAL_MS), and the processes consuming it elsewhere are
   * told (Subjects.streamRewound, core NATS: a hint, which the same interval bounds); handlers are idempotent.
   * An operator's request (requestStreamReplay, `nunchi streams replay`) replays every consumer of the stream
   * here, whatever the interval.
   */
  private async replayStreamByTime(
    stream: string,
    foundBy: string,
    origin: 'here' | 'elsewhere' | 'operator' = 'here',
  ): Promise<void> {
    const due = this.replays.take(`stream:${stream}`, Date.now());
    if (!due && origin !== 'operator') return;
    // A hint to the other processes consuming the stream (best effort: their own checks remain); this
    // process hears it too, within the interval just set.
    if (origin === 'here')
      try {
        this.nc.publish(Subjects.streamRewound(stream), encodeJson({ foundBy } satisfies StreamReplayHint));
      } catch {
        // NATS unreachable: nothing else would be told either
      }
    const others = [...this.running].filter(
      ([name, other]) =>
        name !== foundBy && other.stream === stream && (origin === 'operator' || !other.recreate),
    );
    for (const [name, other] of others) {
      this.logger.warn(
        origin === 'operator'
          ? `${name}: replaying ${stream} by time, as ${foundBy} asked (nunchi streams replay)`
          : `${name}: ${stream}'s history changed under ${foundBy}; replaying it by time here too`,
      );
      await replayByTime(other);
    }
  }

  /** Listens for other processes' findings of a rewind of `stream` (once per stream), to replay it here too. */
  private followRewinds(stream: string): void {
    if (this.rewindHints.has(stream)) return;
    this.rewindHints.set(
      stream,
      this.nc.subscribe(Subjects.streamRewound(stream), {
        callback: (error, msg) => {
          if (error) return;
          let hint: Partial<StreamReplayHint> = {};
          try {
            hint = decodeJson(msg.data) as Partial<StreamReplayHint>;
          } catch {
            // not ours to parse: the finding stands
          }
          if (typeof hint.requestedBy === 'string')
            void this.replayStreamByTime(stream, hint.requestedBy, 'operator');
          else void this.replayStreamByTime(stream, `${hint.foundBy ?? '?'} (another process)`, 'elsewhere');
        },
      }),
    );
  }

  /** Stops pulling; waits for the messages in hand to finish (those waiting out an outage are left for redelivery). */
  async stop(durable?: string): Promise<void> {
    for (const [name, starting] of this.starting) if (!durable || name === durable) starting.abort();
    const names = durable ? [durable] : [...this.running.keys()];
    await Promise.all(
      names.map(async (name) => {
        const entry = this.running.get(name);
        if (!entry) return;
        this.running.delete(name);
        // Messages waiting out an outage (or a DLQ write) give up and stay unacknowledged; messages being
        // handled finish (they are acknowledged), and so do the ones queued behind them for the same key.
        entry.abort.abort();
        await entry.messages.close().catch(() => undefined);
        await entry.loop;
      }),
    );
    if (this.running.size === 0 && this.lagTimer) {
      clearInterval(this.lagTimer);
      this.lagTimer = undefined;
    }
    if (this.running.size === 0 && this.starting.size === 0) {
      for (const sub of this.rewindHints.values()) sub.unsubscribe();
      this.rewindHints.clear();
    }
  }

  get consumers(): string[] {
    return [...this.running.keys()];
  }

  private async sequentialLoop<T>(
    messages: ConsumerMessages,
    handle: (msg: JsMsg, body: Decoded<T>) => Promise<void>,
  ): Promise<void> {
    for await (const msg of messages) await handle(msg, decode<T>(msg));
  }

  /** Different keys concurrently (bounded), the same key in stream order. */
  private async keyedLoop<T>(
    messages: ConsumerMessages,
    keyOf: (body: T) => string,
    limit: number,
    handle: (msg: JsMsg, body: Decoded<T>) => Promise<void>,
  ): Promise<void> {
    const serializer = new KeyedSerializer();
    const inFlight = new Set<Promise<void>>();
    try {
      await this.pullKeyed(messages, keyOf, limit, handle, serializer, inFlight);
    } finally {
      // Also when the pull failed: a restart must not run a key's next message beside its current one.
      await Promise.allSettled(inFlight);
    }
  }

  private async pullKeyed<T>(
    messages: ConsumerMessages,
    keyOf: (body: T) => string,
    limit: number,
    handle: (msg: JsMsg, body: Decoded<T>) => Promise<void>,
    serializer: KeyedSerializer,
    inFlight: Set<Promise<void>>,
  ): Promise<void> {
    for await (const msg of messages) {
      // Decoded once, here: the key and the handler share the body.
      const body = decode<T>(msg);
      let key = '';
      try {
        if (!(body instanceof DecodeError)) key = keyOf(body);
      } catch {
        // no key in a malformed body: handled (and rejected) alone under the empty key
      }
      const task = serializer.run(key, () => handle(msg, body)).finally(() => inFlight.delete(task));
      inFlight.add(task);
      if (inFlight.size >= limit) await Promise.race(inFlight).catch(() => undefined);
    }
  }

  private async handle<T>(
    spec: ConsumerSpec<T>,
    msg: JsMsg,
    decoded: Decoded<T>,
    replayedUpTo: number,
    signal: AbortSignal,
  ): Promise<void> {
    const parent = traceContextOf(msg.headers);
    const deliveryCount = msg.info.deliveryCount;
    const waitedMs = Math.max(0, Date.now() - msg.info.timestampNanos / 1_000_000);
    // the group a partition consumer serves; an unpartitioned consumer's durable is its group's name
    this.waits.record(waitedMs, { group: spec.lag?.group ?? spec.durable, stream: spec.stream });
    // While a message waits (an outage, a DLQ write), JetStream is told it is still being worked on, so
    // that it is not redelivered meanwhile: the wait uses up no delivery.
    const ackWaitMs = spec.ackWaitMs ?? 30_000;
    let lastProgressMs = Date.now();
    const keepAlive = () => {
      if (Date.now() - lastProgressMs < ackWaitMs / 3) return;
      lastProgressMs = Date.now();
      try {
        msg.working();
      } catch {
        // NATS unreachable: the redelivery this may cause is handled idempotently
      }
    };
    await withSpan(
      spec.spanName,
      {
        parent,
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.destination.name': msg.subject,
          'messaging.message.delivery_count': deliveryCount,
          'nunchi.queue.wait_ms': Math.round(waitedMs * 10) / 10,
        },
      },
      async (span) => {
        let outcome: Outcome;
        let attempt = 0;
        try {
          if (decoded instanceof DecodeError) throw decoded;
          const body = decoded;
          const deliver = () =>
            spec.handler({
              body,
              subject: msg.subject,
              seq: msg.seq,
              deliveryCount,
              // A retry after an infrastructure failure may follow a half-done attempt, as a redelivery
              // would; so may a message `nunchi dlq replay` published again, or one the stage before marked
              // as a repeat of what it had handled already.
              redelivered:
                attempt++ > 0 ||
                deliveryCount > 1 ||
                msg.seq <= replayedUpTo ||
                (msg.headers?.has(Headers.dlqReplayOf) ?? false) ||
                (msg.headers?.has(Headers.repeat) ?? false),
              header: (name) => (msg.headers?.has(name) ? msg.headers.get(name) : undefined),
            });
          outcome = await this.gate.run(deliver, unavailableDependency, signal, keepAlive);
        } catch (error) {
          if (error instanceof StoppedError) {
            // Stopping while waiting out an outage: left unacknowledged, redelivered in order to whoever
            // consumes the partition next (at once: consumers are reopened at their ack floor).
            span.setAttribute('nunchi.outcome', 'left');
            return;
          }
          if (error instanceof DecodeError) {
            outcome = { kind: 'reject', reason: error.message };
          } else {
            // Not the infrastructure's (those are waited out above): a bug or bad data. Retried with
            // back-off in case it is transient after all; what keeps failing reaches the DLQ.
            this.logger.error(
              `${spec.durable}: ${msg.subject} #${msg.seq} failed (delivery ${deliveryCount}): ${(error as Error).stack ?? String(error)}`,
            );
            span.recordException(error as Error);
            outcome = {
              kind: 'retry',
              delayMs: Math.min(30_000, 250 * 2 ** Math.min(deliveryCount, 7)),
              reason: (error as Error).message,
            };
          }
        }
        if (outcome.kind === 'retry' && deliveryCount >= (spec.maxDeliveries ?? 20)) {
          outcome = {
            kind: 'reject',
            reason: `gave up after ${deliveryCount} deliveries: ${outcome.reason}`,
          };
        }
        span.setAttribute('nunchi.outcome', outcome.kind);
        switch (outcome.kind) {
          case 'done':
            settle(() => msg.ack());
            return;
          case 'retry':
            settle(() => msg.nak(outcome.delayMs));
            return;
          case 'reject': {
            // Stored in the DLQ before the original is terminated: nothing is lost between the two. A DLQ
            // write that fails is retried (the message kept, unacknowledged) until it is stored or this
            // consumer stops; it never ends the loop.
            const reason = outcome.reason;
            const stored = await this.untilStored(spec, msg, signal, keepAlive, async () => {
              const copy = this.dlqSealer ? await this.dlqSealer(spec.stage, msg.data) : { data: msg.data };
              await this.publisher.deadLetter(
                spec.stage,
                msg.subject,
                copy.data,
                reason,
                `${spec.stream}:${msg.seq}`,
                copy.headers,
              );
            });
            if (!stored) {
              span.setAttribute('nunchi.outcome', 'left');
              return;
            }
            // No reason on the ack: nats-server 2.9 only recognises a bare "+TERM" and silently ignores
            // "+TERM <reason>", leaving the message pending and redelivered forever. The DLQ copy has the reason.
            settle(() => msg.term());
            this.logger.warn(`${spec.durable}: ${msg.subject} #${msg.seq} rejected to DLQ: ${reason}`);
            return;
          }
        }
      },
    );
  }

  /** Retries write with back-off (250 ms doubling to 30 s) until it succeeds (true) or the consumer stops (false). */
  private async untilStored<T>(
    spec: ConsumerSpec<T>,
    msg: JsMsg,
    signal: AbortSignal,
    keepAlive: () => void,
    write: () => Promise<void>,
  ): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await write();
        return true;
      } catch (error) {
        this.logger.error(
          `${spec.durable}: ${msg.subject} #${msg.seq}: DLQ write failed (attempt ${attempt + 1}), kept and retried: ${(error as Error).message}`,
        );
      }
      try {
        keepAlive();
        await sleep(Math.min(30_000, 250 * 2 ** Math.min(attempt, 7)), signal);
      } catch {
        return false;
      }
    }
  }
}

/** Where a consumer created again starts delivering. */
type StartAt =
  | { deliver_policy: typeof DeliverPolicy.StartSequence; opt_start_seq: number }
  | { deliver_policy: typeof DeliverPolicy.StartTime; opt_start_time: string };

const fromSequence = (seq: number): StartAt => ({
  deliver_policy: DeliverPolicy.StartSequence,
  opt_start_seq: seq,
});

const fromTime = (epochMs: number): StartAt => ({
  deliver_policy: DeliverPolicy.StartTime,
  opt_start_time: new Date(epochMs).toISOString(),
});

const describeStart = (at: StartAt): string =>
  'opt_start_seq' in at
    ? `stream sequence ${at.opt_start_seq}`
    : `what was stored since ${at.opt_start_time}`;

/** Acknowledgements are fire-and-forget; one that cannot be sent is a redelivery, handled idempotently. */
function settle(ack: () => void): void {
  try {
    ack();
  } catch {
    // connection closed: the message is redelivered
  }
}

interface Running {
  stream: string;
  /** aborted by stop(): waits end, the loop is not restarted */
  abort: AbortController;
  /** set while the loop is being restarted after it ended unexpectedly */
  failure?: { reason: string; attempts: number };
  of?: { group: string; partition: number };
  messages: ConsumerMessages;
  loop: Promise<void>;
  /** stream sequence → epoch ms the message was stored, for messages taken from the loop and not yet settled */
  inHand: Map<number, number>;
  /** num_pending + num_ack_pending at the last poll */
  pending: number;
  /** the first message past the ack floor as a poll found it, while none at or after it was taken (notePending) */
  unsettled?: { seq: number; storedAtMs: number };
  filterSubject: string;
  /**
   * A stored message the consumer should have delivered but reports nothing pending for (see
   * ConsumerRunner.checkDelivering): its stream sequence and the consumer's delivered sequence then
   */
  missed?: MissedDelivery;
  /** set by the watchdog: the next reopen deletes and recreates the consumer at its ack floor */
  recreate?: boolean;
  /** the consumer's delivered sequence when it was first seen past its stream's end (checkDelivering) */
  aheadOfStream?: number;
  /** set once it was logged past its stream's end again within the replay interval (checkDelivering) */
  aheadReported?: boolean;
  /** epoch ms the latest message handled was stored */
  handledUpToMs?: number;
  /** the message handled with the highest stream sequence, read back by the watchdog (historyRewritten) */
  handledMark?: HandledMark;
  /** handledMark as it was at the previous poll, read back too (see checkDelivering) */
  pollMark?: HandledMark;
  /** counts the replays by time, which drop both marks: a read-back begun before one is no finding */
  markEpoch?: number;
  /** set by the watchdog: the history was rewritten below the consumer; the next reopen replays by time */
  rewritten?: boolean;
}

/** The hint on Subjects.streamRewound: a consumer's finding of a rewind, or an operator's request. */
export interface StreamReplayHint {
  /** the consumer that found its stream's history rewound or rewritten (or who asked) */
  foundBy: string;
  /** who asked, when an operator did (`nunchi streams replay`): honoured whatever the interval */
  requestedBy?: string;
}

/**
 * Asks every process consuming `stream` to replay it by store time, from 15 minutes before the last message
 * each consumer handled — what a consumer's own finding of a rewound history does (docs/reliability.md), for
 * an operator who saw `nunchi_consumer_rewinds_total` move. A hint on core NATS: processes that are up hear
 * it; handlers take what they handled before once.
 */
export async function requestStreamReplay(
  nc: NatsConnection,
  stream: string,
  requestedBy: string,
): Promise<void> {
  // foundBy too: a process of the version before requestedBy existed reads only that (and replays, bounded)
  nc.publish(
    Subjects.streamRewound(stream),
    encodeJson({ foundBy: requestedBy, requestedBy } satisfies StreamReplayHint),
  );
  await nc.flush();
}

/** Ends a consumer's loop so that its supervisor recreates it by store time (open(): `rewritten`). */
async function replayByTime(r: Running): Promise<void> {
  r.rewritten = true;
  r.recreate = true;
  await r.messages.close().catch(() => undefined);
}

type Decoded<T> = T | DecodeError;

function decode<T>(msg: JsMsg): Decoded<T> {
  try {
    return decodeJson(msg.data) as T;
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
}

/**
 * Closes a pull that was opened but never iterated, without waiting: its close() resolves only once an
 * iterator has run to the end (nats.js), so awaiting it here would hang the caller forever.
 */
function discard(messages: ConsumerMessages): void {
  void messages.close().catch(() => undefined);
}

/**
 * A consumer's ack floor: one created at a start sequence reports 0 until its first acknowledgement, but it
 * acknowledged everything before its start.
 */
function ackFloorOf(info: ConsumerInfo): number {
  return Math.max(info.ack_floor.stream_seq, (info.config.opt_start_seq ?? 1) - 1);
}
