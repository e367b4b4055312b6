import {
  Global,
  Inject,
  Logger,
  Module,
  type DynamicModule,
  type INestApplication,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { Readiness, type IndicatorResult } from '@nunchi/telemetry/nest';
import { ConnectionWatch, connectNats } from '../connection.js';
import { ConsumerRunner } from '../consumer-runner.js';
import { LagReporter } from '../lag-reporter.js';
import { Publisher } from '../publisher.js';
import { checkStreams } from '../streams.js';
import { NatsClient } from '../transport/nats-client.js';
import { NatsTransport } from '../transport/nats-transport.js';
import { PartitionAssignments } from '../transport/partition-assignments.js';
import { StreamReader } from '../transport/stream-reader.js';
import {
  MessageExceptionFilter,
  MessageMetricsInterceptor,
  MessageValidationPipe,
} from '../transport/pipeline.js';

export const NATS_CONNECTION = Symbol('NatsConnection');

export interface MessagingOptions {
  /** streams this service exists to consume (Streams.X.name): boot fails when one has no handler */
  consumes?: string[];
}

/**
 * One NATS connection per process, and on it: the Publisher, the NestJS transport (NatsTransport, started
 * by connectMessaging), the typed ClientProxy (NatsClient) and the partition groups of this replica.
 */
@Global()
@Module({})
export class MessagingModule implements OnModuleInit, OnApplicationShutdown {
  static forRoot(options: MessagingOptions = {}): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        {
          provide: NATS_CONNECTION,
          inject: [CONFIG],
          useFactory: async (config: NunchiConfig) => {
            const nc = await connectNats(config.nats, `nunchi-${config.service}`);
            // Streams belong to the migration step (nunchi migrate): a service checks them and refuses to
            // start against a missing one or one with fewer replicas than configured; it never changes them.
            await checkStreams(nc, config.nats);
            return nc;
          },
        },
        {
          provide: Publisher,
          inject: [NATS_CONNECTION],
          useFactory: (nc: NatsConnection) => new Publisher(nc),
        },
        {
          provide: ConsumerRunner,
          inject: [NATS_CONNECTION, Publisher],
          useFactory: (nc: NatsConnection, publisher: Publisher) =>
            new ConsumerRunner(nc, publisher, new Logger('consumer')),
        },
        {
          provide: PartitionAssignments,
          inject: [NATS_CONNECTION, CONFIG],
          useFactory: (nc: NatsConnection, config: NunchiConfig) =>
            new PartitionAssignments({
              nc,
              partitions: config.nats.partitions,
              leaseTtlMs: config.nats.leaseTtlMs,
              logger: new Logger('partitions'),
            }),
        },
        {
          provide: NatsTransport,
          inject: [NATS_CONNECTION, ConsumerRunner, PartitionAssignments],
          useFactory: (nc: NatsConnection, runner: ConsumerRunner, assignments: PartitionAssignments) =>
            new NatsTransport({
              nc,
              runner,
              assignments,
              logger: new Logger('transport'),
              ...(options.consumes ? { consumes: options.consumes } : {}),
            }),
        },
        {
          provide: StreamReader,
          inject: [NATS_CONNECTION],
          useFactory: (nc: NatsConnection) => new StreamReader(nc),
        },
        {
          provide: NatsClient,
          inject: [NATS_CONNECTION, Publisher],
          useFactory: (nc: NatsConnection, publisher: Publisher) => new NatsClient(nc, publisher),
        },
      ],
      exports: [
        NATS_CONNECTION,
        Publisher,
        ConsumerRunner,
        PartitionAssignments,
        NatsTransport,
        NatsClient,
        StreamReader,
      ],
    };
  }

  private readonly lagReporter: LagReporter;
  private readonly watch: ConnectionWatch;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly runner: ConsumerRunner,
    private readonly assignments: PartitionAssignments,
    private readonly readiness: Readiness,
    @Inject(CONFIG) private readonly config: NunchiConfig,
    publisher: Publisher,
  ) {
    this.lagReporter = new LagReporter(runner, publisher);
    this.watch = new ConnectionWatch(nc);
  }

  onModuleInit(): void {
    this.lagReporter.start();
    // An outage is waited out (the client reconnects forever, consumers pause): degraded, not down — taking
    // every replica out of service at once would help nobody. Only a closed connection is down.
    this.readiness.register('nats', async () => {
      if (this.nc.isClosed()) return { ok: false, detail: 'connection closed' };
      const downSince = this.watch.disconnectedSinceMs;
      if (downSince !== undefined)
        return {
          ok: true,
          degraded: true,
          detail: `disconnected for ${((Date.now() - downSince) / 1000).toFixed(1)} s; reconnecting, consumers paused`,
        };
      const rtt = await this.nc.rtt();
      return { ok: true, detail: `rtt ${rtt.toFixed(2)} ms` };
    });
    // Behind is not down: a replica with a backlog keeps consuming (and says so) rather than leave the service.
    // A consumer loop that keeps failing to restart is down: its partition would stall while its lease is renewed.
    this.readiness.register('consumers', () => {
      const lags = this.runner.lag();
      const health = this.runner.health();
      const failing = health.filter((h) => h.state === 'failing');
      const restarting = health.filter((h) => h.state === 'restarting');
      const outage = this.runner.outage;
      const behind = lags.filter((l) => l.oldestAgeS * 1000 > this.config.domain.slaMs);
      const pending = lags.reduce((n, l) => n + l.pending, 0);
      const notes: string[] = [];
      if (outage)
        notes.push(
          `paused for ${((Date.now() - outage.sinceMs) / 1000).toFixed(1)} s: ${outage.dependency} unavailable (${outage.reason})`,
        );
      for (const h of [...failing, ...restarting]) notes.push(`${h.durable}: ${h.detail}`);
      if (behind.length)
        notes.push(
          `${behind.length} of ${lags.length} consumers behind their ${this.config.domain.slaMs} ms deadline (oldest ${Math.max(...behind.map((l) => l.oldestAgeS)).toFixed(1)} s)`,
        );
      const summary = `${lags.length} consumers, ${pending} messages pending`;
      const result: IndicatorResult = failing.length
        ? { ok: false, detail: `${notes.join('; ')}; ${summary}` }
        : notes.length
          ? { ok: true, degraded: true, detail: `${notes.join('; ')}; ${summary}` }
          : { ok: true, detail: summary };
      return Promise.resolve(result);
    });
    this.readiness.register('partitions', () => {
      const groups = this.assignments.all();
      return Promise.resolve({
        ok: true,
        detail: groups.length
          ? groups
              .map(
                (g) =>
                  `${g.ownership.owned.length} of ${this.assignments.partitions} owned, ${g.ownership.members.length} replica(s) (${g.name})`,
              )
              .join('; ')
          : 'none consumed here',
      });
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.lagReporter.stop();
    await this.runner.stop();
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}

/**
 * Starts the NATS transport beside the HTTP server, with Nest's pipeline for messages: DTO validation,
 * the message exception filter (contract errors → reply or DLQ; others → retried) and handler metrics.
 * Call before `app.init()` (runService's `beforeInit`).
 */
export function connectMessaging(app: INestApplication): void {
  const microservice = app.connectMicroservice(
    { strategy: app.get(NatsTransport) },
    { inheritAppConfig: false },
  );
  microservice.useGlobalPipes(new MessageValidationPipe());
  microservice.useGlobalFilters(new MessageExceptionFilter());
  microservice.useGlobalInterceptors(new MessageMetricsInterceptor());
}
