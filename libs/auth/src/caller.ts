import type { Role } from '@nunchi/access';
import type { FastifyRequest } from 'fastify';

/** Who is calling, once verified: an API key (a machine) or a bearer token (a person). */
export interface Caller {
  kind: 'key' | 'token';
  /** the key id, or the token's subject */
  id: string;
  /** the key's name, or the person's name */
  name: string;
  roles: Role[];
  /** requests per second allowed (per replica) */
  ratePerSecond: number;
  /** the channels this caller may send events for (an adapter's key); undefined: any */
  channels?: readonly string[];
  /** the credential as presented: the console's relays pass it on to another service */
  credential: string;
}

/** The caller's name as the audit log and the campaign audit trail show it. */
export const callerLabel = (caller: Caller): string =>
  caller.kind === 'key'
    ? `${caller.name} (key ${caller.id})`
    : caller.name === caller.id
      ? caller.name
      : `${caller.name} (${caller.id})`;

const CALLER = Symbol('nunchi.caller');

export function setCaller(request: FastifyRequest, caller: Caller): void {
  (request as unknown as Record<symbol, Caller>)[CALLER] = caller;
}

/** The caller the guard verified for this request; undefined on public routes. */
export function callerOf(request: FastifyRequest): Caller | undefined {
  return (request as unknown as Record<symbol, Caller | undefined>)[CALLER];
}

/** The cookie the console's login sets (HttpOnly, SameSite=Strict): it holds the API key or token. */
export const SESSION_COOKIE = 'nunchi_session';

/** The credential presented: `Authorization: Bearer …` first, else the console's session cookie. */
export function credentialOf(
  request: FastifyRequest,
): { value: string; from: 'header' | 'cookie' } | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return { value: match?.[1] ?? '', from: 'header' };
  }
  const cookies = request.headers.cookie;
  if (!cookies) return undefined;
  for (const part of cookies.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE) {
      const value = decodeURIComponent(rest.join('='));
      return value ? { value, from: 'cookie' } : undefined;
    }
  }
  return undefined;
}
