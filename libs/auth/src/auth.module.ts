import { Global, Module } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, Reflector } from '@nestjs/core';
import { ApiKeyRepository, AuditLogRepository, type CqlClient } from '@nunchi/cassandra';
import { CQL_CLIENT } from '@nunchi/cassandra/nest';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { AuditInterceptor } from './audit.interceptor.js';
import { AuthGuard } from './auth.guard.js';
import { AuthMetrics } from './auth.metrics.js';
import { CallerResolver } from './caller-resolver.js';
import { JwtVerifier } from './jwt-verifier.js';

/**
 * Authentication, roles, rate limits and the audit log of changes for every HTTP route of the service that
 * imports it (each service's root module does, after CassandraModule). docs/security.md.
 */
@Global()
@Module({
  providers: [
    AuthMetrics,
    {
      provide: ApiKeyRepository,
      inject: [CQL_CLIENT],
      useFactory: (c: CqlClient) => new ApiKeyRepository(c),
    },
    {
      provide: AuditLogRepository,
      inject: [CQL_CLIENT],
      useFactory: (c: CqlClient) => new AuditLogRepository(c),
    },
    {
      provide: CallerResolver,
      inject: [ApiKeyRepository, CONFIG],
      useFactory: (keys: ApiKeyRepository, config: NunchiConfig) =>
        new CallerResolver(
          keys,
          config.auth,
          config.auth.oidc ? new JwtVerifier(config.auth.oidc) : undefined,
        ),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
    {
      provide: APP_INTERCEPTOR,
      inject: [Reflector, AuditLogRepository],
      useFactory: (r: Reflector, a: AuditLogRepository) => new AuditInterceptor(r, a),
    },
  ],
  exports: [CallerResolver, ApiKeyRepository, AuditLogRepository, AuthMetrics],
})
export class AuthModule {}
