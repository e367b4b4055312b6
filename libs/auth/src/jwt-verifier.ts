import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isRole, type Role } from '@nunchi/access';
import type { OidcConfig } from '@nunchi/config';
import { unauthenticated } from './refusal.js';

/** A person, as their verified token says. */
export interface TokenClaims {
  subject: string;
  /** a display name, when the token carries one (name, preferred_username or email) */
  name: string;
  roles: Role[];
  /** epoch milliseconds */
  expiresAtMs: number;
}

/** how long signing keys are trusted before they are read again, ms */
const JWKS_TTL_MS = 10 * 60_000;
/** an unknown `kid` reads the keys again, at most this often, ms (a provider rotating its keys) */
const JWKS_REFRESH_MIN_MS = 30_000;
/** clock difference allowed between the provider and this process, ms */
const CLOCK_SKEW_MS = 30_000;

const ALGORITHMS: Record<string, { hash: string | null; ieee?: boolean }> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  ES256: { hash: 'sha256', ieee: true },
  ES384: { hash: 'sha384', ieee: true },
  EdDSA: { hash: null },
};

interface Jwk extends JsonWebKey {
  kid?: string;
  use?: string;
}

/**
 * Verifies people's bearer tokens (JWTs signed by an OIDC provider) with node:crypto: signature against the
 * provider's JWKS (RS256/384/512, ES256/384, EdDSA; `none` and HMAC are refused), `iss`, `aud`, `exp`
 * (required) and `nbf`. Roles come from one claim (NUNCHI_OIDC_ROLES_CLAIM); names that are not Nunchi roles
 * are ignored. The `jose` library would do the same; it is not among the project's dependencies yet.
 */
export class JwtVerifier {
  private keys = new Map<string, KeyObject>();
  private loadedAtMs = -Infinity;
  private loading?: Promise<void>;

  constructor(private readonly config: OidcConfig) {}

  async verify(token: string, nowMs: number): Promise<TokenClaims> {
    const parts = token.split('.');
    if (parts.length !== 3)
      throw unauthenticated(
        'malformed_credentials',
        'the bearer credential is neither an API key (nk_…) nor a JWT',
      );
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    const header = decodeJson(headerPart) as { alg?: string; kid?: string } | undefined;
    const algorithm = header?.alg ? ALGORITHMS[header.alg] : undefined;
    if (!header || !algorithm)
      throw unauthenticated(
        'bad_token',
        `token algorithm ${header?.alg ?? '(none)'} is not accepted (RS256/384/512, ES256/384, EdDSA)`,
      );
    const key = await this.keyFor(header.kid, nowMs);
    if (!key)
      throw unauthenticated(
        'bad_token',
        `token signed with a key the provider does not list (kid ${header.kid ?? '(none)'})`,
      );
    const signed = Buffer.from(`${headerPart}.${payloadPart}`);
    const signature = Buffer.from(signaturePart, 'base64url');
    let valid = false;
    try {
      valid = verify(
        algorithm.hash,
        signed,
        algorithm.ieee ? { key, dsaEncoding: 'ieee-p1363' } : key,
        signature,
      );
    } catch {
      valid = false;
    }
    if (!valid) throw unauthenticated('bad_token', 'token signature does not verify');
    const claims = decodeJson(payloadPart) as Record<string, unknown> | undefined;
    if (!claims) throw unauthenticated('bad_token', 'token payload is not JSON');
    if (claims['iss'] !== this.config.issuer)
      throw unauthenticated('bad_token', `token issuer must be ${this.config.issuer}`);
    const audience = claims['aud'];
    if (
      !(Array.isArray(audience) ? audience.includes(this.config.audience) : audience === this.config.audience)
    )
      throw unauthenticated('bad_token', `token audience must include ${this.config.audience}`);
    const exp = claims['exp'];
    if (typeof exp !== 'number') throw unauthenticated('bad_token', 'token has no expiry (exp)');
    if (exp * 1000 + CLOCK_SKEW_MS <= nowMs)
      throw unauthenticated('expired_token', `token expired at ${new Date(exp * 1000).toISOString()}`);
    const nbf = claims['nbf'];
    if (typeof nbf === 'number' && nbf * 1000 - CLOCK_SKEW_MS > nowMs)
      throw unauthenticated('bad_token', 'token not valid yet (nbf)');
    const subject = typeof claims['sub'] === 'string' ? claims['sub'] : '';
    if (!subject) throw unauthenticated('bad_token', 'token has no subject (sub)');
    const given = claims[this.config.rolesClaim];
    const names = Array.isArray(given) ? given : typeof given === 'string' ? given.split(' ') : [];
    const name = [claims['name'], claims['preferred_username'], claims['email']].find(
      (v): v is string => typeof v === 'string' && v !== '',
    );
    return { subject, name: name ?? subject, roles: names.filter(isRole), expiresAtMs: exp * 1000 };
  }

  private async keyFor(kid: string | undefined, nowMs: number): Promise<KeyObject | undefined> {
    const stale = nowMs - this.loadedAtMs > JWKS_TTL_MS;
    const unknown = !this.lookup(kid) && nowMs - this.loadedAtMs > JWKS_REFRESH_MIN_MS;
    if (stale || unknown) {
      this.loading ??= this.load(nowMs).finally(() => (this.loading = undefined));
      await this.loading;
    }
    return this.lookup(kid);
  }

  /** By kid; a token without one matches a JWKS of one key. */
  private lookup(kid: string | undefined): KeyObject | undefined {
    if (kid !== undefined) return this.keys.get(kid);
    return this.keys.size === 1 ? [...this.keys.values()][0] : undefined;
  }

  private async load(nowMs: number): Promise<void> {
    const source = this.config.jwks;
    const text = /^https?:\/\//.test(source)
      ? await fetch(source, { signal: AbortSignal.timeout(5_000) }).then((r) => {
          if (!r.ok) throw new Error(`${source} answered ${r.status}`);
          return r.text();
        })
      : await readFile(source, 'utf8');
    const { keys } = JSON.parse(text) as { keys: Jwk[] };
    const next = new Map<string, KeyObject>();
    keys.forEach((jwk, i) => {
      if (jwk.use && jwk.use !== 'sig') return;
      next.set(jwk.kid ?? `#${i}`, createPublicKey({ key: jwk, format: 'jwk' }));
    });
    this.keys = next;
    this.loadedAtMs = nowMs;
  }
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}
