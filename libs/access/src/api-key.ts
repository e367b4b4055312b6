/**
 * API keys for machines: `nk_<key id>_<secret>`. The key id is public (it names the key in the audit log,
 * in `nunchi keys list` and in a revocation); the secret is 256 random bits, stored only as its SHA-256
 * (a slow password hash adds nothing for a random secret of that size, and would cost every request).
 */

export const API_KEY_PREFIX = 'nk_';
/** 12 lower-case hex characters */
export const KEY_ID_PATTERN = /^[0-9a-f]{12}$/;
/** 43 base64url characters: 32 bytes */
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface ApiKeyParts {
  keyId: string;
  secret: string;
}

/** The parts of a presented key, or undefined when it is not one (a JWT, a typo). */
export function parseApiKey(presented: string): ApiKeyParts | undefined {
  if (!presented.startsWith(API_KEY_PREFIX)) return undefined;
  const keyId = presented.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + 12);
  const secret = presented.slice(API_KEY_PREFIX.length + 13);
  if (
    presented[API_KEY_PREFIX.length + 12] !== '_' ||
    !KEY_ID_PATTERN.test(keyId) ||
    !SECRET_PATTERN.test(secret)
  )
    return undefined;
  return { keyId, secret };
}

export const formatApiKey = ({ keyId, secret }: ApiKeyParts): string => `${API_KEY_PREFIX}${keyId}_${secret}`;
