import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Streams } from '@nunchi/contracts/core';

/** What the services still have to do on one stream, summed over its durable consumers (one per partition). */
export interface StreamLag {
  /** messages not yet delivered plus delivered but not yet acknowledged (num_pending + num_ack_pending) */
  pending: number;
  /** ms: age of the oldest message some consumer has not acknowledged; 0 when nothing is pending */
  oldestAgeMs: number;
  /** consumer (durable name) → its pending messages, only those with any */
  byConsumer: Record<string, number>;
}

/** The streams whose consumers carry the hot path: context reads EVENTS, decision reads ENRICHED. */
export const LAG_STREAMS = [Streams.EVENTS.name, Streams.ENRICHED.name] as const;

/**
 * The durable consumers of the hot path on each stream (`<group>-p<partition>`): analytics' consumer of EVENTS
 * (`analytics-events`) falls behind under overload without delaying any offer, so it is left out.
 */
const HOT_PATH_GROUP: Record<(typeof LAG_STREAMS)[number], string> = {
  EVENTS: 'context-',
  ENRICHED: 'decision-',
};

/** Reads consumer info from the benchmark's own NATS server (one request per consumer). */
export class LagProbe {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
  ) {}

  static async open(nc: NatsConnection): Promise<LagProbe> {
    return new LagProbe(nc, await jetstreamManager(nc, { timeout: 5_000 }));
  }

  async sample(): Promise<Record<string, StreamLag>> {
    const out: Record<string, StreamLag> = {};
    for (const stream of LAG_STREAMS) {
      const lag: StreamLag = { pending: 0, oldestAgeMs: 0, byConsumer: {} };
      let oldest: { seq: number; filter: string } | undefined;
      for await (const ci of this.jsm.consumers.list(stream)) {
        if (!ci.config.durable_name?.startsWith(HOT_PATH_GROUP[stream])) continue;
        const pending = ci.num_pending + ci.num_ack_pending;
        if (!pending) continue;
        lag.pending += pending;
        lag.byConsumer[ci.name] = pending;
        // The oldest message not acknowledged: past the ack floor when some are delivered and unacknowledged,
        // else the first not yet delivered.
        const seq = (ci.num_ack_pending ? ci.ack_floor.stream_seq : ci.delivered.stream_seq) + 1;
        if (!oldest || seq < oldest.seq) oldest = { seq, filter: ci.config.filter_subject ?? '>' };
      }
      if (oldest) lag.oldestAgeMs = await this.ageOf(stream, oldest.seq, oldest.filter);
      out[stream] = lag;
    }
    return out;
  }

  /**
   * Age of the first message at or after `seq` on the consumer's filter: the oldest one it has not
   * acknowledged. The plain STREAM.MSG.GET API takes next_by_subj (NATS ≥ 2.9); the client's typed call does not.
   */
  private async ageOf(stream: string, seq: number, filter: string): Promise<number> {
    try {
      const reply = await this.nc.request(
        `$JS.API.STREAM.MSG.GET.${stream}`,
        JSON.stringify({ seq, next_by_subj: filter }),
        { timeout: 5_000 },
      );
      const time = (JSON.parse(new TextDecoder().decode(reply.data)) as { message?: { time?: string } })
        .message?.time;
      return time ? Math.max(0, Date.now() - Date.parse(time)) : 0;
    } catch {
      return 0;
    }
  }
}

/** Total pending over the lag streams. */
export const totalPending = (lag: Record<string, StreamLag>): number =>
  Object.values(lag).reduce((s, l) => s + l.pending, 0);
