import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { formatApiKey, type CheckedKeyRequest, type Role } from '@nunchi/access';
import type { CqlClient } from '../client.js';
import { defineStatements, run, runAll, statement } from '../statements.js';

const Q = defineStatements({
  insert: statement(
    'api_keys.insert',
    'INSERT INTO api_keys (key_id, secret_sha256, name, role, rate_per_second, created_at, created_by, expires_at, channels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ),
  find: statement(
    'api_keys.find',
    'SELECT key_id, secret_sha256, name, role, rate_per_second, created_at, created_by, expires_at, revoked_at, revoked_by, channels FROM api_keys WHERE key_id = ?',
  ),
  all: statement(
    'api_keys.all',
    'SELECT key_id, name, role, rate_per_second, created_at, created_by, expires_at, revoked_at, revoked_by, channels FROM api_keys',
  ),
  revoke: statement(
    'api_keys.revoke',
    'UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE key_id = ? IF EXISTS',
    false,
  ),
});

/** An API key as stored, without its secret. */
export interface ApiKeyRecord {
  keyId: string;
  name: string;
  role: Role;
  /** requests per second this key may make (per service replica) */
  ratePerSecond: number;
  createdAtMs: number;
  createdBy: string;
  expiresAtMs?: number;
  revokedAtMs?: number;
  revokedBy?: string;
  /** the channels an adapter's key may send events for; undefined: any (keys made before cql/0019) */
  channels?: string[];
}

export interface NewApiKey {
  name: string;
  role: Role;
  ratePerSecond: number;
  createdBy: string;
  expiresAtMs?: number;
  /** see ApiKeyRecord.channels */
  channels?: string[];
}

/** The stored form of a checked request (libs/access checkKeyRequest) made by `createdBy` at `nowMs`. */
export function newApiKey(request: CheckedKeyRequest, createdBy: string, nowMs: number): NewApiKey {
  return {
    name: request.name,
    role: request.role,
    ratePerSecond: request.ratePerSecond,
    createdBy,
    expiresAtMs: request.expiresInDays === undefined ? undefined : nowMs + request.expiresInDays * 86_400_000,
    ...(request.channels ? { channels: request.channels } : {}),
  };
}

const sha256 = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();

export interface StoredApiKey {
  record: ApiKeyRecord;
  secretSha256: Buffer;
}

/** Whether a presented secret is the stored key's (compared in constant time). */
export function secretMatches(stored: StoredApiKey, secret: string): boolean {
  const presented = sha256(secret);
  return stored.secretSha256.length === presented.length && timingSafeEqual(stored.secretSha256, presented);
}

/** API keys (cql/0016_access.cql): created, found by id and checked against the presented secret, revoked. */
export class ApiKeyRepository {
  constructor(private readonly client: CqlClient) {}

  /** Stores a new key and answers it whole: the only time its secret is seen. */
  async create(key: NewApiKey, nowMs: number): Promise<{ key: string; record: ApiKeyRecord }> {
    const keyId = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    await run(this.client, Q.insert, [
      keyId,
      sha256(secret),
      key.name,
      key.role,
      key.ratePerSecond,
      new Date(nowMs),
      key.createdBy,
      key.expiresAtMs === undefined ? null : new Date(key.expiresAtMs),
      key.channels?.length ? key.channels : null,
    ]);
    return {
      key: formatApiKey({ keyId, secret }),
      record: {
        keyId,
        name: key.name,
        role: key.role,
        ratePerSecond: key.ratePerSecond,
        createdAtMs: nowMs,
        createdBy: key.createdBy,
        expiresAtMs: key.expiresAtMs,
        ...(key.channels?.length ? { channels: [...key.channels].sort() } : {}),
      },
    };
  }

  /** The key with this id and the SHA-256 of its secret, whatever its state (the caller judges revocation and expiry). */
  async find(keyId: string): Promise<StoredApiKey | undefined> {
    const row = (await run(this.client, Q.find, [keyId])).first();
    return row ? { record: recordOf(row), secretSha256: row['secret_sha256'] as Buffer } : undefined;
  }

  async list(): Promise<ApiKeyRecord[]> {
    return (await runAll(this.client, Q.all, [], 1_000))
      .map(recordOf)
      .sort((a, b) => a.createdAtMs - b.createdAtMs);
  }

  /** Revokes a key; false when there is no such key. Revoking twice keeps the first revocation's time. */
  async revoke(keyId: string, by: string, nowMs: number): Promise<boolean> {
    const row = (await run(this.client, Q.find, [keyId])).first();
    if (!row) return false;
    if (row['revoked_at']) return true;
    const result = await run(this.client, Q.revoke, [new Date(nowMs), by, keyId]);
    return result.wasApplied();
  }
}

function recordOf(row: Record<string, unknown>): ApiKeyRecord {
  const ms = (value: unknown) => (value instanceof Date ? value.getTime() : undefined);
  return {
    keyId: row['key_id'] as string,
    name: (row['name'] as string | null) ?? '',
    role: row['role'] as Role,
    ratePerSecond: (row['rate_per_second'] as number | null) ?? 0,
    createdAtMs: ms(row['created_at']) ?? 0,
    createdBy: (row['created_by'] as string | null) ?? '',
    expiresAtMs: ms(row['expires_at']),
    revokedAtMs: ms(row['revoked_at']),
    revokedBy: (row['revoked_by'] as string | null) ?? undefined,
    ...(Array.isArray(row['channels']) && row['channels'].length
      ? { channels: [...(row['channels'] as string[])].sort() }
      : {}),
  };
}
