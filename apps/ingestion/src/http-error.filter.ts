import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/** Maps Fastify's body errors (malformed JSON, too large) to the contract's error shape. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const status = exception instanceof HttpException ? exception.getStatus() : ((exception as { statusCode?: number }).statusCode ?? 500);
    const message = exception instanceof Error ? exception.message : 'unexpected error';
    const code = status === 413 ? 'TOO_LARGE' : status === 400 ? 'MALFORMED_JSON' : status === 404 ? 'NOT_FOUND' : 'INTERNAL';
    void reply.status(status).send({ ok: false, error: { code, message: status >= 500 ? 'unexpected error' : message, details: [] } });
  }
}
