import { SUBJECT_TOKEN, SYSTEM_CHANNEL } from '@nunchi/contracts/core';
import { isRole, ROLES, type Role } from './roles.js';

/** Requests per second of a new key unless its request says: adapters send events, people click. */
export const DEFAULT_RATE_PER_SECOND: Record<Role, number> = {
  adapter: 2_000,
  marketer: 50,
  approver: 50,
  analyst: 50,
  operator: 50,
  'privacy-officer': 50,
  admin: 100,
};

/** The longest a key may live when it expires at all: ten years (days). */
export const MAX_KEY_DAYS = 3_650;

/** A new API key as the CLI (`nunchi keys create`) and the HTTP API (`POST /v1/keys`) ask for it. */
export interface KeyRequest {
  role: string;
  name: string;
  /** requests per second (per service replica); default DEFAULT_RATE_PER_SECOND of the role */
  ratePerSecond?: number;
  /** days until it expires; none: until revoked */
  expiresInDays?: number;
  /** the channels an adapter's key may send events for: required for adapters, refused for other roles */
  channels?: string[];
}

export interface CheckedKeyRequest {
  role: Role;
  name: string;
  ratePerSecond: number;
  expiresInDays?: number;
  channels?: string[];
}

/** What is wrong with a request, by field (`role`, `name`, `ratePerSecond`, `expiresInDays`, `channels`). */
export interface KeyRequestProblem {
  field: keyof KeyRequest;
  message: string;
}

/**
 * Checks a request for a new key: every problem, by field, or the request with its defaults. An adapter's
 * key names the channels it may send events for (one at least; never the system channel); other roles none.
 */
export function checkKeyRequest(
  request: KeyRequest,
): { ok: true; value: CheckedKeyRequest } | { ok: false; problems: KeyRequestProblem[] } {
  const problems: KeyRequestProblem[] = [];
  const role = request.role;
  if (!isRole(role)) problems.push({ field: 'role', message: `must be one of ${ROLES.join(', ')}` });
  const name = request.name.trim();
  if (!name || name.length > 200) problems.push({ field: 'name', message: 'must be 1-200 characters' });
  const rate = request.ratePerSecond;
  if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > 1_000_000))
    problems.push({
      field: 'ratePerSecond',
      message: 'must be a whole number of requests per second, 1 to 1000000',
    });
  const days = request.expiresInDays;
  if (days !== undefined && (!Number.isFinite(days) || days <= 0 || days > MAX_KEY_DAYS))
    problems.push({
      field: 'expiresInDays',
      message: `must be more than 0 and at most ${MAX_KEY_DAYS} days`,
    });
  const channels = [...new Set(request.channels ?? [])];
  if (isRole(role) && role !== 'adapter' && channels.length)
    problems.push({
      field: 'channels',
      message: `only an adapter's key has channels; a ${role} key does not send events for one`,
    });
  if (role === 'adapter' && !channels.length)
    problems.push({
      field: 'channels',
      message: 'an adapter key needs the channels it may send events for (one at least), e.g. pos',
    });
  for (const channel of channels) {
    if (!SUBJECT_TOKEN.test(channel))
      problems.push({ field: 'channels', message: `"${channel}": a channel is 1-64 of [A-Za-z0-9_-]` });
    else if (channel === SYSTEM_CHANNEL)
      problems.push({
        field: 'channels',
        message: `"${SYSTEM_CHANNEL}" is reserved for Nunchi's own events`,
      });
  }
  if (problems.length || !isRole(role)) return { ok: false, problems };
  return {
    ok: true,
    value: {
      role,
      name,
      ratePerSecond: rate ?? DEFAULT_RATE_PER_SECOND[role],
      ...(days !== undefined ? { expiresInDays: days } : {}),
      ...(role === 'adapter' ? { channels } : {}),
    },
  };
}
