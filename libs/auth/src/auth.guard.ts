import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { allows, rolesAllowing, type Permission } from '@nunchi/access';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { PUBLIC_ROUTE, REQUIRED_PERMISSION } from '@nunchi/telemetry/nest';
import { AuthMetrics } from './auth.metrics.js';
import { callerLabel, credentialOf, setCaller } from './caller.js';
import { CallerResolver } from './caller-resolver.js';
import { AuthRefusal, unauthenticated } from './refusal.js';

/** the header the console sends on every call: a cookie alone does not carry a change (a forged cross-site form cannot set it) */
export const CHANGE_HEADER = 'x-nunchi-actor';

/**
 * The door of every HTTP route of every service: the route's permission (`@Requires`, `@Public`) against
 * the caller's roles, then the caller's rate. Refusals are 401/403/429 in the contract's error shape, counted,
 * and nothing behind the door runs. NATS message handlers are not HTTP and pass (NATS has its own identities).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger('auth');

  constructor(
    private readonly reflector: Reflector,
    private readonly callers: CallerResolver,
    private readonly metrics: AuthMetrics,
    @Inject(CONFIG) private readonly config: NunchiConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    try {
      const required = this.reflector.getAllAndOverride<Permission | typeof PUBLIC_ROUTE | undefined>(
        REQUIRED_PERMISSION,
        [context.getHandler(), context.getClass()],
      );
      if (required === PUBLIC_ROUTE) return true;
      if (required === 'metrics.read' && this.config.auth.metricsPublic) return true;
      if (!required) {
        this.logger.error(
          `${request.method} ${request.routeOptions.url ?? request.url} declares no permission (@Requires): refused to everyone`,
        );
        throw new AuthRefusal(
          403,
          'undeclared_route',
          'this route declares no permission: nobody may call it',
        );
      }
      const credential = credentialOf(request);
      if (!credential)
        throw unauthenticated(
          'no_credentials',
          'credentials required: Authorization: Bearer <API key or token>',
        );
      if (
        credential.from === 'cookie' &&
        request.method !== 'GET' &&
        request.method !== 'HEAD' &&
        request.headers[CHANGE_HEADER] === undefined
      )
        throw new AuthRefusal(
          403,
          'cookie_without_header',
          `a change made with the console's session cookie must carry the ${CHANGE_HEADER} header`,
        );
      const nowMs = Date.now();
      const caller = await this.callers.resolve(credential.value, nowMs);
      if (!allows(caller.roles, required))
        throw new AuthRefusal(
          403,
          'forbidden',
          `${callerLabel(caller)} (${caller.roles.join(', ') || 'no Nunchi role'}) may not ${required}: needs one of ${rolesAllowing(required).join(', ')}`,
        );
      const waitMs = this.callers.throttle(caller, nowMs);
      if (waitMs > 0) {
        context
          .switchToHttp()
          .getResponse<FastifyReply>()
          .raw.setHeader('retry-after', String(Math.ceil(waitMs / 1000)));
        throw new AuthRefusal(
          429,
          'rate_limited',
          `${callerLabel(caller)} is over its rate of ${caller.ratePerSecond} requests/s: retry in ${waitMs} ms`,
        );
      }
      setCaller(request, caller);
      return true;
    } catch (error) {
      if (error instanceof AuthRefusal) this.metrics.refused(error.reason, error.httpStatus);
      throw error;
    }
  }
}
