import {
  HttpException,
  Injectable,
  Logger,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { catchError, from, mergeMap, type Observable } from 'rxjs';
import { isChange, type Permission } from '@nunchi/access';
import type { AuditLogRepository } from '@nunchi/cassandra';
import { REQUIRED_PERMISSION } from '@nunchi/telemetry/nest';
import { callerLabel, callerOf } from './caller.js';

/** Where a change came from: the client's address and agent. */
export const originOf = (request: FastifyRequest): string => {
  const agent = request.headers['user-agent'];
  return `http ${request.ip}${agent ? ` ${agent.slice(0, 100)}` : ''}`;
};

/**
 * Writes one audit-log row for every request whose permission changes something (libs/access `isChange`:
 * campaign drafts and lifecycle, erasure, replays, keys), after the handler answered and before the answer
 * leaves, with the status it answered, refusals by the handler (409, 404) included. A change the audit log
 * cannot record is answered as done, and the failure is logged: the change happened.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger('audit');

  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditLogRepository,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const permission = this.reflector.getAllAndOverride<Permission | undefined>(REQUIRED_PERMISSION, [
      context.getHandler(),
      context.getClass(),
    ]);
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const caller = callerOf(request);
    if (!caller || !permission || !isChange(permission)) return next.handle();
    const params = request.params as Record<string, string> | undefined;
    const record = (outcome: number, answer?: unknown) =>
      this.audit
        .record({
          atMs: Date.now(),
          action: `${permission} ${request.method} ${request.routeOptions.url ?? ''}`,
          actor: callerLabel(caller),
          actorKind: caller.kind,
          roles: caller.roles,
          target: Object.values(params ?? {}).join('/') || nameIn(answer),
          outcome,
          origin: originOf(request),
        })
        .catch((error: Error) =>
          this.logger.error(`could not record ${permission} by ${callerLabel(caller)}: ${error.message}`),
        );
    return next.handle().pipe(
      mergeMap((value: unknown) =>
        from(
          record(context.switchToHttp().getResponse<{ statusCode: number }>().statusCode || 200, value).then(
            () => value,
          ),
        ),
      ),
      catchError((error: unknown) =>
        from(
          record(error instanceof HttpException ? error.getStatus() : 500).then((): never => {
            throw error;
          }),
        ),
      ),
    );
  }
}

/** What a change made names itself in its answer when its route has no parameter (POST /v1/campaigns: the new campaign's id; POST /v1/keys: the new key's id). */
function nameIn(answer: unknown): string {
  const named = answer as { campaignId?: unknown; keyId?: unknown; id?: unknown } | undefined;
  const value = named?.campaignId ?? named?.keyId ?? named?.id;
  return typeof value === 'string' ? value : '';
}
