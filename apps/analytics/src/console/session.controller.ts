import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  AuthMetrics,
  AuthRefusal,
  CallerResolver,
  callerOf,
  SESSION_COOKIE,
  unauthenticated,
  type Caller,
} from '@nunchi/auth';
import { Public, Requires } from '@nunchi/telemetry/nest';

/** how long the console's session cookie lives, seconds (the key or token inside may expire sooner) */
const SESSION_MAX_AGE_S = 12 * 3600;

const view = (caller: Caller) => ({
  kind: caller.kind,
  id: caller.id,
  name: caller.name,
  roles: caller.roles,
});

/**
 * The console's login: the person pastes an API key (or a token from the OIDC provider); it is checked like
 * any request's credential and kept in an HttpOnly, SameSite=Strict cookie, so the page's script never holds
 * it and the live figures' EventSource (which cannot send headers) is authenticated too.
 */
@ApiTags('console')
@Controller('v1/console/session')
export class SessionController {
  constructor(
    private readonly callers: CallerResolver,
    private readonly metrics: AuthMetrics,
  ) {}

  @Get()
  @Requires('session.read')
  @ApiOperation({ summary: 'Who the console (or any caller) is logged in as: kind, id, name, roles.' })
  whoAmI(@Req() request: FastifyRequest) {
    return view(callerOf(request)!);
  }

  @Post()
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Log in with {"credential": "<API key or token>"}: sets the session cookie. 401 when the credential does not hold.',
  })
  async login(
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const credential = (body as { credential?: unknown } | undefined)?.credential;
    try {
      if (typeof credential !== 'string' || !credential.trim())
        throw unauthenticated('no_credentials', 'send {"credential": "<API key or token>"}');
      const caller = await this.callers.resolve(credential.trim(), Date.now());
      const secure = request.protocol === 'https' ? '; Secure' : '';
      void reply.header(
        'set-cookie',
        `${SESSION_COOKIE}=${encodeURIComponent(credential.trim())}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_S}${secure}`,
      );
      return view(caller);
    } catch (error) {
      if (error instanceof AuthRefusal) this.metrics.refused(error.reason, error.httpStatus);
      throw error;
    }
  }

  @Delete()
  @Public()
  @HttpCode(204)
  @ApiOperation({ summary: 'Log out: clears the session cookie.' })
  logout(@Res({ passthrough: true }) reply: FastifyReply): void {
    void reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
  }
}
