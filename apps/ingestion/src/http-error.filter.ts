import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ContractError, type ErrorCode } from '@nunchi/contracts';
import { MAX_BODY_BYTES } from './http-limits.js';
import { IngestEventUseCase } from './ingest-event.usecase.js';

const CODES: Record<number, ErrorCode> = { 400: 'MALFORMED_JSON', 404: 'NOT_FOUND', 413: 'TOO_LARGE' };

/**
 * Errors raised before or outside a handler, in the contract's error shape. A body over the size limit is
 * refused by Fastify before any handler runs; it still leaves a DLQ record (without the bytes, which were
 * never read), so no refused input disappears silently.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  constructor(private readonly ingest: IngestEventUseCase) {}

  async catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const status =
      exception instanceof HttpException
        ? exception.getStatus()
        : ((exception as { statusCode?: number }).statusCode ?? 500);
    const code = CODES[status] ?? (status === 415 ? 'MALFORMED_JSON' : 'INTERNAL');
    if (status >= 500)
      this.logger.error(
        `${request.method} ${request.url}: ${(exception as Error)?.stack ?? String(exception)}`,
      );
    if (status === 413) {
      const length = request.headers['content-length'] ?? 'unknown';
      const error = new ContractError('TOO_LARGE', [
        {
          path: '',
          message: `body of ${length} bytes is above the limit of ${MAX_BODY_BYTES} bytes; not read, not kept`,
        },
      ]);
      await reply
        .status(413)
        .send(
          await this.ingest.refuse(
            { origin: `${request.method} ${request.url}`, bytes: new Uint8Array(0) },
            error,
          ),
        );
      return;
    }
    const message =
      status >= 500 ? 'unexpected error' : exception instanceof Error ? exception.message : 'bad request';
    await reply.status(status).send({ ok: false, error: { code, message, details: [] } });
  }
}
