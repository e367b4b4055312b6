import { createHmac } from 'node:crypto';
import { IDENTITY_TYPES, type IdentityType } from '@nunchi/contracts/core';

/**
 * How an identifier is stored (`identities`, `customer_identities`, `customer_merges`): every type — loyalty
 * card, phone, e-mail, device id — only as HMAC-SHA256 under the identity key (NUNCHI_IDENTITY_SECRET), hex.
 * Without the key a stored value cannot be computed from an identifier, so neither a card number nor a list of
 * phone numbers finds a customer in a copy of the database. The type is part of what is hashed, so one string
 * used as a card and as a device id gives two unrelated values. Phones are hashed by their digits and e-mails
 * trimmed and lower-cased (`+82 10-1234-5678` and `821012345678` are one phone); cards and device ids as sent.
 * The phone and e-mail forms are those of every earlier version, so their stored rows stay valid.
 */
export function storedIdentityValue(type: IdentityType, value: string, secret: string): string {
  return createHmac('sha256', secret)
    .update(`${type}:${normalizedIdentifier(type, value)}`)
    .digest('hex');
}

/** The identifier as it is hashed: digits of a phone, a trimmed lower-case e-mail, cards and devices as sent. */
export function normalizedIdentifier(type: IdentityType, value: string): string {
  if (type === 'phone') return value.replace(/\D/g, '');
  if (type === 'email') return value.trim().toLowerCase();
  return value;
}

/**
 * Identifier types an earlier version stored as sent (before migration 0018: docs/security.md, "Upgrading
 * from identifiers stored in clear"): the migration's data step hashes their rows.
 */
export const FORMERLY_CLEAR_TYPES: readonly IdentityType[] = IDENTITY_TYPES.filter(
  (t) => t === 'loyaltyCard' || t === 'deviceId',
);
