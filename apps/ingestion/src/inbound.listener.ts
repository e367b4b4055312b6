import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { Subjects } from '@nunchi/contracts';
import { encodeJson, NATS_CONNECTION, traceContextOf } from '@nunchi/messaging';
import { context } from '@nunchi/telemetry';
import { IngestEventUseCase } from './ingest-event.usecase.js';

/**
 * The NATS door: request or publish on mkt.in.<channel>.<type>. A queue group spreads the load over
 * ingestion replicas. A request gets the reply; a plain publish's errors go to the DLQ only.
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
        void this.handle(msg);
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.drain();
  }

  private async handle(msg: Msg): Promise<void> {
    // mkt.in.<channel>.<type>: anything else on this wildcard is answered as a subject error.
    const [, , channel, type, ...rest] = msg.subject.split('.');
    const subject = channel && type && rest.length === 0 ? { channel, type } : undefined;
    try {
      const reply = await context.with(traceContextOf(msg.headers), () =>
        subject
          ? this.ingest.execute({ bytes: msg.data, origin: msg.subject, subject })
          : Promise.resolve({ ok: false as const, error: { code: 'SUBJECT_MISMATCH' as const, details: [{ path: '', message: 'publish on mkt.in.<channel>.<type>' }] } }),
      );
      if (msg.reply) msg.respond(encodeJson(reply));
    } catch (error) {
      this.logger.error(`unexpected failure on ${msg.subject}: ${(error as Error).stack ?? String(error)}`);
      if (msg.reply) msg.respond(encodeJson({ ok: false, error: { code: 'INTERNAL', message: 'unexpected error; retry', details: [] } }));
    }
  }
}
