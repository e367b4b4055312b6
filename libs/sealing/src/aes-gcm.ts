import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { IdentityKey } from '@nunchi/config';

/**
 * The one AES-256-GCM of the project: the DLQ's sealed identifiers (libs/messaging personal-data.ts) and the
 * customers' data keys and what they seal (customer-data-key.ts) are built on these three functions.
 *
 * A sealed value is `iv (12 bytes) ‖ tag (16 bytes) ‖ ciphertext`: a fresh random IV per value (never reused
 * under one key: 2^-96 per pair), the tag authenticates the ciphertext and the additional data (AAD), which is
 * not stored — the reader must supply the same, so a value cannot be moved to another context unnoticed.
 */

export const IV_BYTES = 12;
export const TAG_BYTES = 16;
/** AES-256: bytes of every key these functions take */
export const KEY_BYTES = 32;

/**
 * A cipher key of its own for one purpose, derived (HKDF-SHA256) from an identity key: the HMAC key of
 * identities never encrypts anything itself, and two purposes never share a key. `salt` names the purpose
 * and the key id (`nunchi-dlq:k1`), `info` the kind of data.
 */
export function deriveSealingKey(key: IdentityKey, salt: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key.secret, salt, info, KEY_BYTES));
}

/** `iv ‖ tag ‖ ciphertext` of `plaintext` under `key` (32 bytes), authenticated with `aad` when given. */
export function sealBytes(key: Buffer, plaintext: Buffer | string, aad?: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad) cipher.setAAD(aad);
  const body =
    typeof plaintext === 'string'
      ? Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      : Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** The plaintext of `sealed` (as sealBytes made it); throws when the key, the AAD or a byte is not the same. */
export function openBytes(key: Buffer, sealed: Buffer, aad?: Buffer): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('sealed value too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  if (aad) decipher.setAAD(aad);
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}
