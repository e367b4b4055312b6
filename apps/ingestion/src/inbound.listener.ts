import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { ContractError, Headers, Subjects, type IngestReply } from '@nunchi/contracts';
import { encodeJson, NATS_CONNECTION, traceContextOf } from '@nunchi/messaging';
import { context } from '@nunchi/telemetry';
import { IngestEventUseCase } from './ingest-event.usecase.js';

/**
 * The NATS door: request or publish on mkt.in.<channel>.<type>. A queue group spreads the load over
 * ingestion replicas. A request gets the reply; a plain publish's errors go to the DLQ only.
 * Messages are handed to the use case synchronously, in arrival order (it keeps that order into EVENTS).
 */
@Injectable()
export class InboundListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('inbound');
  private subscription?: Subscription;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly ingest: IngestEventUseCase,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.nc.subscribe(Subjects.inboundAll, {
      queue: 'nunchi-ingestion',
      callback: (error, msg) => {
        if (error) return this.logger.error(`subscription error: ${error.message}`);
        this.handle(msg);
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.drain();
  }

  private handle(msg: Msg): void {
    let reply: Promise<IngestReply>;
    try {
      reply = context.with(traceContextOf(msg.headers), () => {
        const replayOf = msg.headers?.has(Headers.dlqReplayOf)
          ? msg.headers.get(Headers.dlqReplayOf)
          : undefined;
        if (replayOf !== undefined && !/^\d{1,20}$/.test(replayOf))
          throw new Error(`bad ${Headers.dlqReplayOf} header`);
        const input = { bytes: msg.data, origin: msg.subject, ...(replayOf ? { replayOf } : {}) };
        // mkt.in.<channel>.<type>: anything else on this wildcard is refused as a subject error.
        const [, , channel, type, ...rest] = msg.subject.split('.');
        return channel && type && rest.length === 0
          ? this.ingest.execute({ ...input, subject: { channel, type } })
          : this.ingest.refuse(
              input,
              new ContractError('SUBJECT_MISMATCH', [
                { path: '', message: 'publish on mkt.in.<channel>.<type>' },
              ]),
            );
      });
    } catch (error) {
      reply = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    reply.then(
      (answer) => {
        if (msg.reply) msg.respond(encodeJson(answer));
      },
      (error: Error) => {
        this.logger.error(`unexpected failure on ${msg.subject}: ${error.stack ?? String(error)}`);
        if (msg.reply)
          msg.respond(
            encodeJson({
              ok: false,
              error: { code: 'INTERNAL', message: 'unexpected error; retry', details: [] },
            }),
          );
      },
    );
  }
}
