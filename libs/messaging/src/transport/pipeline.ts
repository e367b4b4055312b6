import {
  applyDecorators,
  Catch,
  Controller,
  Injectable,
  UseFilters,
  UseInterceptors,
  UsePipes,
  Logger,
  type ArgumentMetadata,
  type ArgumentsHost,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type PipeTransform,
  type RpcExceptionFilter,
} from '@nestjs/common';
import { ContractError, isDtoClass, validateDto, type ErrorReply } from '@nunchi/contracts';
import { meter } from '@nunchi/telemetry';
import { of, tap, throwError, type Observable } from 'rxjs';
import { DecodeError } from '../codec.js';
import { Outcome } from '../outcome.js';
import { JetStreamContext } from './contexts.js';

/**
 * Payloads typed with a contracts DTO are validated as the HTTP doors validate them: a ContractError
 * ('VALIDATION_FAILED', problems by path), which the exception filter turns into the reply or the DLQ.
 */
@Injectable()
export class MessageValidationPipe implements PipeTransform {
  private readonly dto = new WeakMap<object, boolean>();

  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const type = metadata.metatype;
    if (!type) return value;
    let isDto = this.dto.get(type);
    if (isDto === undefined) this.dto.set(type, (isDto = isDtoClass(type)));
    return isDto ? validateDto(type as new () => object, value) : value;
  }
}

/**
 * Errors of message handlers. On a stream: a contract error (the message is wrong, sending it again will
 * not help) rejects it to the DLQ with its reason; anything else is rethrown, and the transport naks it
 * with back-off and records it on the span. On a request: the error reply every door uses.
 */
@Catch()
export class MessageExceptionFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('messages');

  catch(exception: unknown, host: ArgumentsHost): Observable<unknown> {
    const onStream = host.switchToRpc().getContext() instanceof JetStreamContext;
    if (exception instanceof ContractError || exception instanceof DecodeError) {
      if (onStream) return of(Outcome.reject(exception.message));
      const reply: ErrorReply =
        exception instanceof ContractError
          ? { ok: false, error: { code: exception.code, details: exception.details } }
          : { ok: false, error: { code: 'MALFORMED_JSON', message: exception.message, details: [] } };
      return of(reply);
    }
    if (onStream) return throwError(() => exception);
    this.logger.error(
      `unexpected failure: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
    );
    const reply: ErrorReply = {
      ok: false,
      error: { code: 'INTERNAL', message: 'unexpected error; retry', details: [] },
    };
    return of(reply);
  }
}

/**
 * Rate, errors and duration of every message handler: `nunchi_message_handler_duration_seconds` by handler
 * and outcome (done, retry, reject for streams; ok, error for requests). Spans are the transport's: the
 * consumer span also covers acknowledgement and the DLQ, which happen after the handler.
 */
@Injectable()
export class MessageMetricsInterceptor implements NestInterceptor {
  private readonly duration = meter().createHistogram('nunchi_message_handler_duration_seconds', {
    description: 'time in a message handler (Nest pipeline included), by handler and outcome',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] },
  });

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const started = performance.now();
    const handler = `${context.getClass().name}.${context.getHandler().name}`;
    const record = (outcome: string) =>
      this.duration.record((performance.now() - started) / 1000, { handler, outcome });
    return next.handle().pipe(
      tap({
        next: (value) => record(outcomeOf(value)),
        error: () => record('error'),
      }),
    );
  }
}

function outcomeOf(value: unknown): string {
  if (value && typeof value === 'object') {
    const v = value as { kind?: unknown; ok?: unknown };
    if (typeof v.kind === 'string') return v.kind;
    if (v.ok === false) return 'error';
  }
  return 'ok';
}

/**
 * A controller of message handlers, with Nest's pipeline for messages: DTO validation, the message
 * exception filter and handler metrics. (Class-level, so they take precedence over a service's global
 * HTTP error filter, which knows nothing of messages.)
 */
export function MessageController(): ClassDecorator {
  return applyDecorators(
    Controller(),
    UsePipes(MessageValidationPipe),
    UseFilters(MessageExceptionFilter),
    UseInterceptors(MessageMetricsInterceptor),
  );
}
