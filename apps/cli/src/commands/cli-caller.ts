import { hostname, userInfo } from 'node:os';
import { allows, parseApiKey, rolesAllowing, type Permission, type Role } from '@nunchi/access';
import { actorName, type Actor } from '@nunchi/campaigns-model';
import { ApiKeyRepository, AuditLogRepository, secretMatches } from '@nunchi/cassandra';
import type { Resources } from '../resources.js';

/**
 * Who runs a CLI command that changes something, for the audit log (docs/security.md, "The audit log"):
 *
 * - with `NUNCHI_API_KEY`, the key's holder — verified: the key is checked against the key store as the
 *   services check it (its secret, not revoked, not expired), and its role must allow the command, as it
 *   would have to over HTTP;
 * - else whoever the CLI is told (`--actor`, `NUNCHI_ACTOR`) or the OS user — unverified, and marked so.
 *
 * Either way the CLI acts with the database's credentials: a key makes its entries attributable and keeps an
 * operator to a role, it does not keep someone with those credentials out.
 */
export interface CliCaller {
  /** as the audit log and the campaign trail name it: `<key name> (key <id>)`, or the unverified name */
  name: string;
  kind: 'key' | 'cli';
  roles: Role[];
  /** where from: `cli <os user>@<host>` */
  origin: string;
}

/** A credential the CLI was given that does not hold. */
export class CliCredentialError extends Error {
  override readonly name = 'CliCredentialError';
}

export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    // no passwd entry (a container's arbitrary uid)
    return 'unknown';
  }
}

/** The caller of this command: verified by NUNCHI_API_KEY when it is set, else as said (unverified). */
export async function cliCaller(resources: Resources, given?: string): Promise<CliCaller> {
  const user = osUser();
  const origin = `cli ${user}@${hostname()}`;
  const presented = resources.config.auth.cliApiKey;
  if (presented === undefined)
    return {
      name: actorName(given ?? resources.env['NUNCHI_ACTOR'], user),
      kind: 'cli',
      roles: [],
      origin,
    };
  const parts = parseApiKey(presented);
  if (!parts)
    throw new CliCredentialError(
      'NUNCHI_API_KEY is not an API key (expected nk_<12 hex>_<43 base64url>, as `nunchi keys create` prints it)',
    );
  const stored = await new ApiKeyRepository(await resources.cassandra()).find(parts.keyId);
  const record = stored && secretMatches(stored, parts.secret) ? stored.record : undefined;
  const nowMs = Date.now();
  if (!record) throw new CliCredentialError(`NUNCHI_API_KEY: no API key ${parts.keyId} with that secret`);
  if (record.revokedAtMs !== undefined)
    throw new CliCredentialError(
      `NUNCHI_API_KEY: API key ${parts.keyId} was revoked at ${new Date(record.revokedAtMs).toISOString()}`,
    );
  if (record.expiresAtMs !== undefined && record.expiresAtMs <= nowMs)
    throw new CliCredentialError(
      `NUNCHI_API_KEY: API key ${parts.keyId} expired at ${new Date(record.expiresAtMs).toISOString()}`,
    );
  return { name: `${record.name} (key ${record.keyId})`, kind: 'key', roles: [record.role], origin };
}

/** The campaign trail's actor for this caller. */
export const actorOf = (caller: CliCaller): Actor => ({
  name: caller.name,
  verified: caller.kind === 'key',
  origin: caller.origin,
});

/** A verified caller whose role does not allow the permission is refused before anything changes. */
export function requirePermission(caller: CliCaller, permission: Permission): void {
  if (caller.kind === 'key' && !allows(caller.roles, permission))
    throw new CliCredentialError(
      `${caller.name} (${caller.roles.join(', ')}) may not ${permission}: needs one of ${rolesAllowing(permission).join(', ')}`,
    );
}

/**
 * Runs a change made by the CLI and writes its audit-log row, as AuditInterceptor does for HTTP: `action` is
 * `<permission> nunchi <command>`, outcome 0 when done, 1 when the change was refused or failed (with why).
 * A change the audit log cannot record stays made; the failure is said on stderr.
 */
export async function audited<T>(
  resources: Resources,
  caller: CliCaller,
  change: {
    permission: Permission;
    /** the command as typed, e.g. `campaigns activate` */
    command: string;
    /** what it is done to, when known before (a campaign id); else from `targetOf` */
    target?: string;
    targetOf?: (result: NoInfer<T>) => string;
    detailOf?: (result: NoInfer<T>) => string | undefined;
  },
  run: () => Promise<T>,
): Promise<T> {
  requirePermission(caller, change.permission);
  const record = async (outcome: number, target: string, detail: string | undefined) => {
    try {
      await new AuditLogRepository(await resources.cassandra()).record({
        atMs: Date.now(),
        action: `${change.permission} nunchi ${change.command}`,
        actor: caller.name,
        actorKind: caller.kind,
        roles: caller.roles,
        target,
        outcome,
        origin: caller.origin,
        detail,
      });
    } catch (error) {
      process.stderr.write(
        `warning: the change was made but the audit log could not record it: ${(error as Error).message}\n`,
      );
    }
  };
  let result: T;
  try {
    result = await run();
  } catch (error) {
    await record(1, change.target ?? '', (error as Error).message.slice(0, 500));
    throw error;
  }
  await record(0, change.targetOf?.(result) ?? change.target ?? '', change.detailOf?.(result));
  return result;
}
