import type { EventsMessage, SealedAcceptedEvent } from './events.js';

/**
 * A value sealed under one customer's data key (crypto-shredding, docs/security.md "Per-customer keys"): an
 * erasure deletes the key, and every copy of the value — in a stream, the DLQ, a backup — can no longer be
 * opened, wherever it is kept. Sealed and opened by libs/sealing (sealForCustomer, openSealed).
 */
export interface SealedField {
  /**
   * format `v1`: the JSON text of the value under AES-256-GCM; `data` is base64url(iv 12 bytes ‖ tag 16 bytes ‖
   * ciphertext); the customer id (UTF-8) is the additional authenticated data, so a sealed value moved to
   * another customer does not open
   */
  sealed: 'v1';
  /** whose data key: customer_keys.customer_id (kept with the value: a merge may move a record to a survivor) */
  customerId: string;
  /** which data key of that customer: customer_keys.key_id */
  keyId: string;
  data: string;
}

/** Whether `value` has the shape of a SealedField (not whether it opens). */
export function isSealedField(value: unknown): value is SealedField {
  const v = value as Partial<SealedField> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.sealed === 'v1' &&
    typeof v.customerId === 'string' &&
    typeof v.keyId === 'string' &&
    typeof v.data === 'string'
  );
}

/** Whether a message on EVENTS carries its payload sealed. */
export function isSealedEvent(message: EventsMessage): message is SealedAcceptedEvent {
  return 'sealedPayload' in message && message.sealedPayload !== undefined;
}
