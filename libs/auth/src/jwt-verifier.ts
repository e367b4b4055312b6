import { readFile } from 'node:fs/promises';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
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
/** clock difference allowed between the provider and this process, seconds */
const CLOCK_SKEW_S = 30;
/** asymmetric signatures only: `none` and HMAC (a shared secret) are refused */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

/**
 * Verifies people's bearer tokens (JWTs signed by an OIDC provider) with `jose`: signature against the
 * provider's JWKS (an https URL, cached and re-read on an unknown `kid`, or a file), `iss`, `aud`, `exp` and
 * `sub` required, `nbf` honoured, 30 s of clock skew. Roles come from one claim (NUNCHI_OIDC_ROLES_CLAIM);
 * names that are not Nunchi roles are ignored.
 */
export class JwtVerifier {
  private readonly keys: JWTVerifyGetKey;

  constructor(private readonly config: OidcConfig) {
    this.keys = /^https?:\/\//.test(config.jwks)
      ? createRemoteJWKSet(new URL(config.jwks), {
          cacheMaxAge: JWKS_TTL_MS,
          cooldownDuration: JWKS_REFRESH_MIN_MS,
          timeoutDuration: 5_000,
        })
      : fileKeySet(config.jwks);
  }

  async verify(token: string, nowMs: number): Promise<TokenClaims> {
    if (token.split('.').length !== 3)
      throw unauthenticated(
        'malformed_credentials',
        'the bearer credential is neither an API key (nk_…) nor a JWT',
      );
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, this.keys, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_SKEW_S,
        currentDate: new Date(nowMs),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw refusalOf(error, this.config, token);
    }
    const subject = String(claims['sub']);
    const given = claims[this.config.rolesClaim];
    const names: unknown[] = Array.isArray(given) ? given : typeof given === 'string' ? given.split(' ') : [];
    const name = [claims['name'], claims['preferred_username'], claims['email']].find(
      (v): v is string => typeof v === 'string' && v !== '',
    );
    return {
      subject,
      name: name ?? subject,
      roles: names.filter(isRole),
      expiresAtMs: Number(claims['exp']) * 1000,
    };
  }
}

/** The 401 for a token jose refused, in the caller's terms; an error reading the keys is not the caller's and passes. */
function refusalOf(error: unknown, config: OidcConfig, token: string): unknown {
  if (error instanceof errors.JWTExpired) {
    const exp = Number(error.payload['exp']);
    return unauthenticated('expired_token', `token expired at ${new Date(exp * 1000).toISOString()}`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return unauthenticated('bad_token', 'token signature does not verify');
  if (error instanceof errors.JOSEAlgNotAllowed)
    return unauthenticated('bad_token', `token algorithm is not accepted (${ALGORITHMS.join(', ')})`);
  if (error instanceof errors.JWKSNoMatchingKey) {
    const kid = decodeProtectedHeader(token).kid ?? '(none)';
    return unauthenticated('bad_token', `token signed with a key the provider does not list (kid ${kid})`);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return unauthenticated('bad_token', `token issuer must be ${config.issuer}`);
    if (error.claim === 'aud')
      return unauthenticated('bad_token', `token audience must include ${config.audience}`);
    return unauthenticated('bad_token', `token claim ${error.claim}: ${error.reason}`);
  }
  if (error instanceof errors.JOSEError)
    return unauthenticated('bad_token', `token refused: ${error.message}`);
  return error;
}

/** A JWKS kept in a file (a mounted Secret): read again after the TTL, or on an unknown key at most every 30 s. */
function fileKeySet(path: string): JWTVerifyGetKey {
  let current: { keys: JWTVerifyGetKey; readAtMs: number } | undefined;
  const read = async () => {
    current = {
      keys: createLocalJWKSet(JSON.parse(await readFile(path, 'utf8')) as JSONWebKeySet),
      readAtMs: Date.now(),
    };
    return current.keys;
  };
  return async (header, token) => {
    const age = current ? Date.now() - current.readAtMs : Infinity;
    const keys = age > JWKS_TTL_MS ? await read() : current!.keys;
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || age < JWKS_REFRESH_MIN_MS) throw error;
      return (await read())(header, token);
    }
  };
}
