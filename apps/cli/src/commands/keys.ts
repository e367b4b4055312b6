import { checkKeyRequest, KEY_ID_PATTERN, type KeyRequest } from '@nunchi/access';
import {
  ApiKeyRepository,
  AuditLogRepository,
  isUtcDay,
  newApiKey,
  type ApiKeyRecord,
  type AuditRecord,
} from '@nunchi/cassandra';
import { ApiClient, ApiRequestError } from '../api-client.js';
import type { Resources } from '../resources.js';
import { UsageError } from '../options.js';
import { audited, cliCaller } from './cli-caller.js';

export interface CreateKeyOptions {
  role: string;
  name: string;
  rate?: number;
  /** days until it expires; none: until revoked */
  expiresInDays?: number;
  /** the channels an adapter's key may send events for: required for adapters, refused for other roles */
  channels?: string[];
}

/** The CLI's flag for each field of a key request (libs/access checkKeyRequest names fields). */
const FLAG: Record<keyof KeyRequest, string> = {
  role: '--role',
  name: '--name',
  ratePerSecond: '--rate',
  expiresInDays: '--expires-in-days',
  channels: '--channel',
};

/** Creates an API key and records it in the audit log; the key itself is shown once, here. */
export async function createKey(
  resources: Resources,
  options: CreateKeyOptions,
): Promise<{ key: string; record: ApiKeyRecord }> {
  const checked = checkKeyRequest({
    role: options.role,
    name: options.name,
    ratePerSecond: options.rate,
    expiresInDays: options.expiresInDays,
    channels: options.channels,
  });
  if (!checked.ok)
    throw new UsageError(checked.problems.map((p) => `${FLAG[p.field]}: ${p.message}`).join('\n'));
  const api = ApiClient.of(resources);
  if (api) {
    // the service checks again, authenticates the key, holds it to keys.manage and writes the audit log
    const { key, ...record } = await api.request<ApiKeyRecord & { key: string }>(
      'POST',
      '/v1/keys',
      checked.value,
    );
    return { key, record };
  }
  const { role, channels } = checked.value;
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
        newApiKey(checked.value, caller.name, nowMs),
        nowMs,
      );
    },
  );
}

/** Revokes a key (false: no such key, recorded as a failed change). */
export async function revokeKey(resources: Resources, keyId: string): Promise<boolean> {
  const api = ApiClient.of(resources);
  if (api) {
    if (!KEY_ID_PATTERN.test(keyId))
      throw new UsageError(`"${keyId}" is not a key id (12 hex characters: \`nunchi keys list\`)`);
    await api.request('POST', `/v1/keys/${keyId}/revoke`).catch((error: Error) => {
      // as without the API: an unknown key is the caller's mistake
      if (error instanceof ApiRequestError && error.status === 404)
        throw new UsageError(`no API key ${keyId}`);
      throw error;
    });
    return true;
  }
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

export async function listKeys(resources: Resources): Promise<ApiKeyRecord[]> {
  const api = ApiClient.of(resources);
  if (api) return (await api.request<{ keys: ApiKeyRecord[] }>('GET', '/v1/keys')).keys;
  return new ApiKeyRepository(await resources.cassandra()).list();
}

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

/** The audit log, newest first, over `days` UTC days ending with `lastDay` (YYYY-MM-DD). */
export async function readAudit(resources: Resources, lastDay: string, days: number): Promise<AuditRecord[]> {
  if (!isUtcDay(lastDay)) throw new UsageError(`--day must be YYYY-MM-DD, not ${lastDay}`);
  const api = ApiClient.of(resources);
  if (api)
    return (
      await api.request<{ changes: AuditRecord[] }>(
        'GET',
        `/v1/audit?${new URLSearchParams({ day: lastDay, days: String(days) }).toString()}`,
      )
    ).changes;
  return new AuditLogRepository(await resources.cassandra()).ofDays(lastDay, days);
}

export const formatAudit = (rows: AuditRecord[]): string[] =>
  rows.length
    ? rows.map(
        (r) =>
          `${iso(r.atMs)}  ${r.action}  ${r.target || '-'}  by ${r.actor} [${r.actorKind}${r.roles.length ? ` ${r.roles.join(',')}` : ''}]  → ${r.outcome}  (${r.origin})${r.detail ? `  ${r.detail}` : ''}`,
      )
    : ['no changes recorded'];
