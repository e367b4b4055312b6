import { createHmac } from 'node:crypto';
import type { DataKey } from './customer-data-key.js';

/**
 * A customer's analytics pseudonym (docs/security.md, "Analytics' rows"): the id analytics' rows are keyed by
 * instead of the customer id. It is a keyed hash of the customer id under a key derived from the customer's
 * data key, so it is stable while the customer exists (the data key never changes; a rotation re-wraps it)
 * and cannot be linked back to the customer, nor computed again, once the erasure has deleted the data key:
 * analytics' rows in a backup taken before the erasure belong to nobody any more.
 *
 * Every pseudonym starts with PSEUDONYM_MARK, which no customer id contains (ids are [A-Za-z0-9_-]), so a row
 * says which of the two it holds (rows stored by versions before migration 0023 hold customer ids).
 */
export const PSEUDONYM_MARK = '~';

/** Label of the key derived from the data key for pseudonyms: the data key itself only ever seals (AES-GCM). */
const PSEUDONYM_KEY_LABEL = 'nunchi-analytics-pseudonym-key';

/** `~` and 22 characters: 128 bits of HMAC-SHA256, base64url. */
export function analyticsPseudonym(customerId: string, dataKey: DataKey): string {
  const pseudonymKey = createHmac('sha256', dataKey.key).update(PSEUDONYM_KEY_LABEL).digest();
  const digest = createHmac('sha256', pseudonymKey).update(customerId, 'utf8').digest();
  return PSEUDONYM_MARK + digest.subarray(0, 16).toString('base64url');
}

/** Whether an analytics row's id is a pseudonym (else a customer id, stored before migration 0023). */
export function isPseudonym(id: string): boolean {
  return id.startsWith(PSEUDONYM_MARK);
}
