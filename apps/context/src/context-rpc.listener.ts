import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { isSubjectToken, Subjects } from '@nunchi/contracts';
import { decodeJson, encodeJson, NATS_CONNECTION } from '@nunchi/messaging';
import { GetContextUseCase } from './get-context.usecase.js';

/** mkt.rpc.context.get: request {"customerId": "...", "storeId"?: "..."} → {"ok":true, ...view}. */
@Injectable()
export class ContextRpcListener implements OnApplicationBootstrap {
  private readonly logger = new Logger('context-rpc');
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly getContext: GetContextUseCase,
  ) {}

  onApplicationBootstrap(): void {
    this.nc.subscribe(Subjects.contextGet, {
      queue: 'nunchi-context',
      callback: (error, msg) => {
        if (error) return this.logger.error(error.message);
        void (async () => {
          try {
            const request = decodeJson(msg.data) as { customerId?: unknown; storeId?: unknown };
            if (typeof request.customerId !== 'string' || !isSubjectToken(request.customerId)) {
              msg.respond(
                encodeJson({
                  ok: false,
                  error: {
                    code: 'VALIDATION_FAILED',
                    details: [{ path: 'customerId', message: 'required, 1-64 of [A-Za-z0-9_-]' }],
                  },
                }),
              );
              return;
            }
            const view = await this.getContext.execute(
              request.customerId,
              typeof request.storeId === 'string' ? request.storeId : undefined,
            );
            msg.respond(encodeJson({ ok: true, ...view }));
          } catch (e) {
            msg.respond(
              encodeJson({
                ok: false,
                error: { code: 'INTERNAL', message: (e as Error).message, details: [] },
              }),
            );
          }
        })();
      },
    });
  }
}
