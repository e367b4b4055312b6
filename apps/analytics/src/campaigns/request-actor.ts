import type { FastifyRequest } from 'fastify';
import { actorName, type Actor } from '@nunchi/campaigns-model';

/** The header that names who makes a change, until authentication exists (then: the authenticated user). */
export const ACTOR_HEADER = 'x-nunchi-actor';

/**
 * Who makes the change, as the request says, and from where: never verified (any caller can send any
 * name), which the audit trail records. Without the header: "anonymous".
 */
export function requestActor(request: FastifyRequest): Actor {
  const header = request.headers[ACTOR_HEADER];
  const agent = request.headers['user-agent'];
  return {
    name: actorName(Array.isArray(header) ? header[0] : header, 'anonymous'),
    verified: false,
    origin: actorName(`http ${request.ip}${agent ? ` ${agent}` : ''}`, `http ${request.ip}`),
  };
}
