import type { FastifyRequest } from 'fastify';
import type { Actor } from '@nunchi/campaigns-model';
import { callerLabel, callerOf, originOf } from '@nunchi/auth';

/** The header the console sends with every change (the auth guard requires it of a cookie session's changes). */
export const ACTOR_HEADER = 'x-nunchi-actor';

/**
 * Who makes the change: the caller the auth guard verified (an API key or a person's token), and from where.
 * Every route that changes a campaign requires a permission, so a caller is always there; "anonymous" only
 * if a route were ever made public.
 */
export function requestActor(request: FastifyRequest): Actor {
  const caller = callerOf(request);
  return {
    name: caller ? callerLabel(caller) : 'anonymous',
    verified: caller !== undefined,
    origin: originOf(request),
  };
}
