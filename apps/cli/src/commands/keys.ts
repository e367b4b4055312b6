import { isRole, ROLES, type Role } from '@nunchi/access';
import { ApiKeyRepository, AuditLogRepository, type ApiKeyRecord, type AuditRecord } from '@nunchi/cassandra';
import type { Resources } from '../resources.js';
import { UsageError } from '../options.js';
import { cliActor } from './campaigns.js';

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

/** Records a change the CLI made in the audit log (the CLI's actor is whoever runs it with the database's credentials). */
export async function auditCli(
  resources: Resources,
  entry: Pick<AuditRecord, 'action' | 'target'> & { outcome?: number; detail?: string },
): Promise<void> {
  const actor = cliActor(process.env['NUNCHI_ACTOR']);
  await new AuditLogRepository(await resources.cassandra()).record({
    atMs: Date.now(),
    actor: actor.name,
    actorKind: 'cli',
    roles: [],
    origin: actor.origin,
    outcome: 0,
    ...entry,
  });
}

export interface CreateKeyOptions {
  role: string;
  name: string;
  rate?: number;
  /** days until it expires; none: until revoked */
  expiresInDays?: number;
}

/** Creates an API key and records it in the audit log; the key itself is shown once, here. */
export async function createKey(
  resources: Resources,
  options: CreateKeyOptions,
): Promise<{ key: string; record: ApiKeyRecord }> {
  if (!isRole(options.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  const nowMs = Date.now();
  const created = await new ApiKeyRepository(await resources.cassandra()).create(
    {
      name: options.name,
      role: options.role,
      ratePerSecond: options.rate ?? DEFAULT_RATE_PER_SECOND[options.role],
      createdBy: cliActor(process.env['NUNCHI_ACTOR']).name,
      expiresAtMs:
        options.expiresInDays === undefined ? undefined : nowMs + options.expiresInDays * 86_400_000,
    },
    nowMs,
  );
  await auditCli(resources, {
    action: 'keys.create',
    target: created.record.keyId,
    detail: `${options.role} "${options.name}"`,
  });
  return created;
}

export async function revokeKey(resources: Resources, keyId: string): Promise<boolean> {
  const revoked = await new ApiKeyRepository(await resources.cassandra()).revoke(
    keyId,
    cliActor(process.env['NUNCHI_ACTOR']).name,
    Date.now(),
  );
  await auditCli(resources, {
    action: 'keys.revoke',
    target: keyId,
    outcome: revoked ? 0 : 1,
    detail: revoked ? undefined : 'no such key',
  });
  return revoked;
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
    return `${k.keyId}  ${k.role.padEnd(15)} ${String(k.ratePerSecond).padStart(5)}/s  ${k.name}  (created ${iso(k.createdAtMs)} by ${k.createdBy}; ${state})`;
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
