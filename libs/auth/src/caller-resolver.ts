import { parseApiKey, TokenBucket } from '@nunchi/access';
import { secretMatches, type ApiKeyRepository, type StoredApiKey } from '@nunchi/cassandra';
import type { AuthConfig } from '@nunchi/config';
import { ApiError } from '@nunchi/telemetry/nest';
import type { Caller } from './caller.js';
import type { JwtVerifier } from './jwt-verifier.js';
import { AuthRefusal, unauthenticated } from './refusal.js';

/** keys cached at most (a flood of made-up key ids must not grow the cache without bound) */
const MAX_CACHED_KEYS = 10_000;

interface CachedKey {
  /** undefined: no key with that id */
  stored: StoredApiKey | undefined;
  untilMs: number;
}

/**
 * Turns a presented credential into a verified caller, cheaply enough for the event door: an API key is read
 * from Cassandra the first time its id is seen and then trusted for `cacheTtlMs`, its secret compared in
 * memory (so is an unknown id: a wrong key sent again and again costs one read per TTL); a token is verified in memory against the provider's cached
 * keys. Keeps each caller's rate-limit bucket.
 */
export class CallerResolver {
  private readonly keys = new Map<string, CachedKey>();
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly repository: ApiKeyRepository,
    private readonly config: AuthConfig,
    private readonly tokens: JwtVerifier | undefined,
  ) {}

  async resolve(credential: string, nowMs: number): Promise<Caller> {
    const parts = parseApiKey(credential);
    if (parts) return this.ofKey(parts.keyId, parts.secret, credential, nowMs);
    if (credential.startsWith('nk_'))
      throw unauthenticated(
        'malformed_credentials',
        'malformed API key: expected nk_<12 hex>_<43 base64url>',
      );
    if (!this.tokens)
      throw unauthenticated(
        'tokens_not_configured',
        'bearer tokens are not accepted here (no OIDC provider configured): use an API key',
      );
    let claims;
    try {
      claims = await this.tokens.verify(credential, nowMs);
    } catch (error) {
      if (error instanceof AuthRefusal) throw error;
      throw new ApiError(
        503,
        'UNAVAILABLE_RETRY',
        `the OIDC provider's signing keys could not be read: ${(error as Error).message}`,
      );
    }
    return {
      kind: 'token',
      id: claims.subject,
      name: claims.name,
      roles: claims.roles,
      ratePerSecond: this.config.tokenRatePerSecond,
      credential,
    };
  }

  /** 0 when the caller may go on, else the milliseconds until it may. */
  throttle(caller: Caller, nowMs: number): number {
    const id = `${caller.kind}:${caller.id}`;
    let bucket = this.buckets.get(id);
    if (!bucket || bucket.ratePerSecond !== caller.ratePerSecond) {
      if (this.buckets.size >= MAX_CACHED_KEYS) this.buckets.clear();
      bucket = new TokenBucket(caller.ratePerSecond, nowMs);
      this.buckets.set(id, bucket);
    }
    return bucket.take(nowMs);
  }

  private async ofKey(keyId: string, secret: string, credential: string, nowMs: number): Promise<Caller> {
    let cached = this.keys.get(keyId);
    if (!cached || cached.untilMs <= nowMs) {
      const stored = await this.repository.find(keyId);
      if (this.keys.size >= MAX_CACHED_KEYS) this.keys.clear();
      cached = { stored, untilMs: nowMs + this.config.cacheTtlMs };
      this.keys.set(keyId, cached);
    }
    const record = cached.stored && secretMatches(cached.stored, secret) ? cached.stored.record : undefined;
    if (!record) throw unauthenticated('unknown_key', `no API key ${keyId} with that secret`);
    if (record.revokedAtMs !== undefined)
      throw unauthenticated(
        'revoked_key',
        `API key ${keyId} was revoked at ${new Date(record.revokedAtMs).toISOString()}`,
      );
    if (record.expiresAtMs !== undefined && record.expiresAtMs <= nowMs)
      throw unauthenticated(
        'expired_key',
        `API key ${keyId} expired at ${new Date(record.expiresAtMs).toISOString()}`,
      );
    return {
      kind: 'key',
      id: keyId,
      name: record.name,
      roles: [record.role],
      ratePerSecond: record.ratePerSecond,
      ...(record.channels ? { channels: record.channels } : {}),
      credential,
    };
  }
}
