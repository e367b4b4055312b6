import { isRole, ROLES, type Role } from '@nunchi/access';
import { SUBJECT_TOKEN, SYSTEM_CHANNEL } from '@nunchi/contracts';
import { ApiKeyRepository, AuditLogRepository, type ApiKeyRecord, type AuditRecord } from '@nunchi/cassandra';
import type { Resources } from '../resources.js';
import { UsageError } from '../options.js';
import { audited, cliCaller } from './cli-caller.js';

/** requests per second of a new key unless --rate says: adapters send events, people click */
export const DEFAULT_RATE_PER_SECOND: Record<Role, number> = {
  adapter: 2_000,
  marketer: 50,
  approver: 50,
  analyst: 50,
  operator: 50,
  'privacy-officer': 50,
  admin: 100,
};

export interface CreateKeyOptions {
  role: string;
  name: string;
  rate?: number;
  /** days until it expires; none: until revoked */
  expiresInDays?: number;
  /** the channels an adapter's key may send events for: required for adapters, refused for other roles */
  channels?: string[];
}

/** The channels of a new key, checked: an adapter's key names at least one, other roles none. */
function channelsOf(role: Role, given: string[] | undefined): string[] | undefined {
  const channels = [...new Set(given ?? [])];
  if (role !== 'adapter') {
    if (channels.length)
      throw new UsageError(
        `--channel binds an adapter's key; a ${role} key does not send events for a channel`,
      );
    return undefined;
  }
  if (!channels.length)
    throw new UsageError(
      'an adapter key needs --channel <channel> (repeatable): the channels it may send events for, e.g. --channel pos',
    );
  for (const channel of channels) {
    if (!SUBJECT_TOKEN.test(channel))
      throw new UsageError(`--channel "${channel}": a channel is 1-64 of [A-Za-z0-9_-]`);
    if (channel === SYSTEM_CHANNEL)
      throw new UsageError(`--channel "${SYSTEM_CHANNEL}" is reserved for Nunchi's own events`);
  }
  return channels;
}

/** Creates an API key and records it in the audit log; the key itself is shown once, here. */
export async function createKey(
  resources: Resources,
  options: CreateKeyOptions,
): Promise<{ key: string; record: ApiKeyRecord }> {
  const role = options.role;
  if (!isRole(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  const channels = channelsOf(role, options.channels);
  const caller = await cliCaller(resources);
  return audited(
    resources,
    caller,
    {
      permission: 'keys.manage',
      command: 'keys create',
      targetOf: (created) => created.record.keyId,
      detailOf: () => `${role} "${options.name}"${channels ? ` for ${channels.join(', ')}` : ''}`,
    },
    async () => {
      const nowMs = Date.now();
      return new ApiKeyRepository(await resources.cassandra()).create(
        {
          name: options.name,
          role,
          ratePerSecond: options.rate ?? DEFAULT_RATE_PER_SECOND[role],
          createdBy: caller.name,
          expiresAtMs:
            options.expiresInDays === undefined ? undefined : nowMs + options.expiresInDays * 86_400_000,
          ...(channels ? { channels } : {}),
        },
        nowMs,
      );
    },
  );
}

/** Revokes a key (false: no such key, recorded as a failed change). */
export async function revokeKey(resources: Resources, keyId: string): Promise<boolean> {
  const caller = await cliCaller(resources);
  return audited(
    resources,
    caller,
    { permission: 'keys.manage', command: 'keys revoke', target: keyId },
    async () => {
      const revoked = await new ApiKeyRepository(await resources.cassandra()).revoke(
        keyId,
        caller.name,
        Date.now(),
      );
      if (!revoked) throw new UsageError(`no API key ${keyId}`);
      return revoked;
    },
  );
}

export const listKeys = async (resources: Resources) =>
  new ApiKeyRepository(await resources.cassandra()).list();

const iso = (ms: number | undefined) =>
  ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export function formatKeys(keys: ApiKeyRecord[], nowMs: number): string[] {
  if (!keys.length) return ['no API keys'];
  return keys.map((k) => {
    const state =
      k.revokedAtMs !== undefined
        ? `revoked ${iso(k.revokedAtMs)} by ${k.revokedBy ?? '?'}`
        : k.expiresAtMs !== undefined && k.expiresAtMs <= nowMs
          ? `expired ${iso(k.expiresAtMs)}`
          : k.expiresAtMs !== undefined
            ? `active until ${iso(k.expiresAtMs)}`
            : 'active';
    const channels =
      k.role !== 'adapter'
        ? ''
        : k.channels
          ? `  [${k.channels.join(', ')}]`
          : '  [any channel: made before keys named theirs]';
    return `${k.keyId}  ${k.role.padEnd(15)} ${String(k.ratePerSecond).padStart(5)}/s  ${k.name}${channels}  (created ${iso(k.createdAtMs)} by ${k.createdBy}; ${state})`;
  });
}

/** The audit log, newest first, over `days` UTC days ending with `lastDay`. */
export async function readAudit(resources: Resources, lastDay: string, days: number): Promise<AuditRecord[]> {
  const repo = new AuditLogRepository(await resources.cassandra());
  const out: AuditRecord[] = [];
  const last = Date.parse(`${lastDay}T00:00:00Z`);
  if (Number.isNaN(last)) throw new UsageError(`--day must be YYYY-MM-DD, not ${lastDay}`);
  for (let i = 0; i < days; i++)
    out.push(...(await repo.ofDay(new Date(last - i * 86_400_000).toISOString().slice(0, 10))));
  return out;
}

export const formatAudit = (rows: AuditRecord[]): string[] =>
  rows.length
    ? rows.map(
        (r) =>
          `${iso(r.atMs)}  ${r.action}  ${r.target || '-'}  by ${r.actor} [${r.actorKind}${r.roles.length ? ` ${r.roles.join(',')}` : ''}]  → ${r.outcome}  (${r.origin})${r.detail ? `  ${r.detail}` : ''}`,
      )
    : ['no changes recorded'];
