import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DeliverPolicy, jetstream, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Streams, type AcceptedEvent, type DecisionRecord } from '@nunchi/contracts';
import { decodeJson, NATS_CONNECTION, traceContextOf } from '@nunchi/messaging';
import { SpanKind, withSpan } from '@nunchi/telemetry';
import { CampaignStatsAggregator } from './campaign-stats.js';

/**
 * Feeds the aggregator from ordered consumers that replay EVENTS and DECISIONS from their start and then
 * follow them live. Ordered consumers are ephemeral: nothing to clean up, and a restart rebuilds the same state.
 */
@Injectable()
export class StreamReplay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('analytics');
  private readonly feeds: ConsumerMessages[] = [];
  /** messages stored before this instant are history being replayed: counted, but not traced again */
  private readonly liveSinceNanos = BigInt(Date.now()) * 1_000_000n;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly stats: CampaignStatsAggregator,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.follow<AcceptedEvent>(Streams.EVENTS.name, (e) => this.stats.addEvent(e));
    await this.follow<DecisionRecord>(Streams.DECISIONS.name, (d) => this.stats.addDecision(d));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.feeds.map((f) => f.close()));
  }

  private async follow<T>(stream: string, apply: (body: T) => void): Promise<void> {
    const consumer = await jetstream(this.nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
    const messages = await consumer.consume();
    this.feeds.push(messages);
    void (async () => {
      for await (const msg of messages) {
        try {
          const body = decodeJson(msg.data) as T;
          if (BigInt(msg.info.timestampNanos) >= this.liveSinceNanos) {
            await withSpan('analytics.count', { parent: traceContextOf(msg.headers), kind: SpanKind.CONSUMER, attributes: { 'messaging.destination.name': msg.subject } }, () => apply(body));
          } else {
            apply(body);
          }
        } catch (error) {
          this.logger.warn(`${stream} #${msg.seq} skipped: ${(error as Error).message}`);
        }
      }
    })();
  }
}
