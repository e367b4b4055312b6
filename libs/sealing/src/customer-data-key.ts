import { randomBytes } from 'node:crypto';
import type { IdentityKey } from '@nunchi/config';
import type { SealedField } from '@nunchi/contracts/core';
import { deriveSealingKey, KEY_BYTES, openBytes, sealBytes } from './aes-gcm.js';

/**
 * Per-customer data keys (crypto-shredding, docs/security.md "Per-customer keys").
 *
 * Each customer's personal data in a stream is sealed under a random key of its own (a data key). The data key
 * is stored wrapped — itself sealed with AES-256-GCM — under a key-encryption key (KEK) derived by HKDF from the
 * identity key, and the KEK's id (the identity key's id) is kept with it, so that after a rotation of the
 * identity key a key wrapped under the previous one still opens (NUNCHI_IDENTITY_PREVIOUS_KEYS). Erasing the
 * customer deletes the wrapped key: what was sealed under it, wherever a copy lies, cannot be opened any more.
 */

/** A customer's data key, in memory only. */
export interface DataKey {
  /** names the key in what it seals (SealedField.keyId) and in customer_keys */
  id: string;
  /** 32 random bytes: the AES-256 key */
  key: Buffer;
}

/** A data key as stored (customer_keys): sealed under the KEK named by `kekId`. */
export interface WrappedDataKey {
  keyId: string;
  /** the id of the identity key the KEK was derived from */
  kekId: string;
  /** iv ‖ tag ‖ ciphertext of the 32 key bytes */
  wrapped: Buffer;
}

/** A value that does not open: a wrong or missing key, a value moved or altered. Not worth a retry. */
export class SealedDataError extends Error {
  override readonly name = 'SealedDataError';
}

/** A wrapped data key whose KEK this process does not have: a configuration to fix, then retry. */
export class MissingKekError extends Error {
  override readonly name = 'MissingKekError';
}

export function generateDataKey(): DataKey {
  return { id: randomBytes(6).toString('base64url'), key: randomBytes(KEY_BYTES) };
}

/** The KEK of one identity key (derived: the identity key never encrypts data keys itself). */
export function keyEncryptionKey(identityKey: IdentityKey): Buffer {
  return deriveSealingKey(identityKey, `nunchi-kek:${identityKey.id}`, 'customer-data-keys');
}

/** The wrapping names its customer and key id: a stored key moved to another customer does not unwrap. */
const wrapAad = (customerId: string, keyId: string) => Buffer.from(`${customerId}\u0000${keyId}`, 'utf8');

export function wrapDataKey(customerId: string, dataKey: DataKey, kek: IdentityKey): WrappedDataKey {
  return {
    keyId: dataKey.id,
    kekId: kek.id,
    wrapped: sealBytes(keyEncryptionKey(kek), dataKey.key, wrapAad(customerId, dataKey.id)),
  };
}

/**
 * The data key of a stored row, unwrapped with the KEK of the identity key it names among `keks` (current and
 * previous identity keys; their derived KEKs may be passed in `derived` to skip the HKDF, ~10 µs).
 */
export function unwrapDataKey(
  customerId: string,
  stored: WrappedDataKey,
  keks: readonly IdentityKey[],
  derived?: Map<string, Buffer>,
): DataKey {
  const identityKey = keks.find((k) => k.id === stored.kekId);
  if (!identityKey)
    throw new MissingKekError(
      `the data key of customer ${customerId} is wrapped under identity key "${stored.kekId}", which this process does not have (NUNCHI_IDENTITY_SECRET with NUNCHI_IDENTITY_KEY_ID, or NUNCHI_IDENTITY_PREVIOUS_KEYS)`,
    );
  let kek = derived?.get(identityKey.id);
  if (!kek) {
    kek = keyEncryptionKey(identityKey);
    derived?.set(identityKey.id, kek);
  }
  try {
    return { id: stored.keyId, key: openBytes(kek, stored.wrapped, wrapAad(customerId, stored.keyId)) };
  } catch (error) {
    throw new SealedDataError(
      `the data key of customer ${customerId} does not unwrap with identity key "${stored.kekId}": was the key changed without a new id, or the row moved?`,
      { cause: error },
    );
  }
}

/** `value` as JSON, sealed under the customer's data key with the customer id as additional data. */
export function sealForCustomer(customerId: string, dataKey: DataKey, value: unknown): SealedField {
  const text = JSON.stringify(value);
  return {
    sealed: 'v1',
    customerId,
    keyId: dataKey.id,
    data: sealBytes(dataKey.key, text, Buffer.from(customerId, 'utf8')).toString('base64url'),
  };
}

/** The value of a sealed field, opened with its customer's data key; throws SealedDataError. */
export function openSealed<T>(field: SealedField, dataKey: DataKey): T {
  if (field.sealed !== 'v1')
    throw new SealedDataError(`sealed value of format "${String(field.sealed)}": this version reads v1`);
  if (field.keyId !== dataKey.id)
    throw new SealedDataError(
      `sealed under data key "${field.keyId}" of customer ${field.customerId}, whose key is now "${dataKey.id}"`,
    );
  let text: string;
  try {
    text = openBytes(
      dataKey.key,
      Buffer.from(field.data, 'base64url'),
      Buffer.from(field.customerId, 'utf8'),
    ).toString('utf8');
  } catch (error) {
    throw new SealedDataError(
      `a value sealed for customer ${field.customerId} does not open with its data key "${field.keyId}": altered, or moved from another customer`,
      { cause: error },
    );
  }
  return JSON.parse(text) as T;
}
