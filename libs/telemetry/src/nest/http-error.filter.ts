import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ContractError, type ErrorCode, type ErrorReply, type ProblemDetail } from '@nunchi/contracts/core';

/** Codes of HTTP statuses raised without one of ours (Nest's 404 for an unknown route, Fastify's 413, ...). */
const CODES: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  404: 'NOT_FOUND',
  413: 'TOO_LARGE',
  415: 'MALFORMED_JSON',
};

/**
 * An HTTP error in the contract's shape: throw it from a handler to answer
 * `{"ok":false,"error":{"code","message","details"}}` with this status.
 */
export class ApiError extends HttpException {
  constructor(status: number, code: ErrorCode, message: string, details: ProblemDetail[] = []) {
    super({ code, message, details }, status);
  }
}

/**
 * Every error of every service's HTTP API in one shape, the one ingestion's door answers with:
 * `{"ok":false,"error":{"code","message","details"}}` — an ApiError as thrown, a ContractError as 400 with
 * its details, Nest's and Fastify's own errors (unknown route, body too large) with a code for their
 * status, anything else as 500 INTERNAL without its internals (logged instead).
 *
 * A service registers it as APP_FILTER (`{ provide: APP_FILTER, useValue: new HttpErrorFilter() }`), or a
 * subclass that answers some errors itself (ingestion keeps a DLQ record of a body over the size limit).
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  protected readonly logger = new Logger('http');

  /** codes: status → code for errors raised without one (ingestion: 400 is MALFORMED_JSON) */
  constructor(private readonly codes: Partial<Record<number, ErrorCode>> = {}) {}

  async catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const status = statusOf(exception);
    if (isHandlerTimeout(exception))
      this.logger.warn(`${request.method} ${request.url}: no answer in time (503)`);
    else if (status >= 500)
      this.logger.error(
        `${request.method} ${request.url}: ${(exception as Error)?.stack ?? String(exception)}`,
      );
    if (await this.answer(exception, status, request, reply)) return;
    await reply.status(status).send(this.bodyOf(exception, status));
  }

  /** A subclass answers some errors itself: true when it has sent the reply. */
  protected answer(
    _exception: unknown,
    _status: number,
    _request: FastifyRequest,
    _reply: FastifyReply,
  ): Promise<boolean> {
    return Promise.resolve(false);
  }

  bodyOf(exception: unknown, status: number): ErrorReply {
    if (exception instanceof ContractError)
      return {
        ok: false,
        error: { code: exception.code, message: exception.message, details: exception.details },
      };
    const response = exception instanceof HttpException ? exception.getResponse() : undefined;
    if (
      response !== null &&
      typeof response === 'object' &&
      typeof (response as { code?: unknown }).code === 'string'
    ) {
      const r = response as { code: ErrorCode; message?: string; details?: ProblemDetail[] };
      return { ok: false, error: { code: r.code, message: r.message ?? '', details: r.details ?? [] } };
    }
    if (isHandlerTimeout(exception))
      return {
        ok: false,
        error: {
          code: 'UNAVAILABLE_RETRY',
          message:
            'no answer within the time limit (NUNCHI_HTTP_HANDLER_TIMEOUT_MS); the work may still complete: retry',
          details: [],
        },
      };
    const code = this.codes[status] ?? CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED');
    const message =
      status >= 500 ? 'unexpected error' : exception instanceof Error ? exception.message : 'bad request';
    return { ok: false, error: { code, message, details: [] } };
  }
}

/** Fastify's handlerTimeout fired (libs/config httpTimeouts.handlerMs): a 503, not a fault of ours. */
function isHandlerTimeout(exception: unknown): boolean {
  return (exception as { code?: unknown } | null)?.code === 'FST_ERR_HANDLER_TIMEOUT';
}

function statusOf(exception: unknown): number {
  if (exception instanceof HttpException) return exception.getStatus();
  if (exception instanceof ContractError) return 400;
  const status = (exception as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}
