import { CustomerKeyRepository, CustomerKeyring, type CqlClient } from '@nunchi/cassandra';
import { identityKeys, type NunchiConfig } from '@nunchi/config';
import { isSealedEvent } from '@nunchi/contracts/core';
import type {
  AcceptedEvent,
  EnrichedEvent,
  EnrichedMessage,
  EnrichedPersonal,
  EventsMessage,
} from '@nunchi/contracts';
import { decodeJson } from '@nunchi/messaging';

/**
 * Opens ENRICHED messages as the decision service does: the personal part with the customer's data key, read
 * from Cassandra (crypto-shredding, docs/security.md "Per-customer keys"). Throws when it does not open.
 */
export function enrichedOpener(cql: CqlClient, config: NunchiConfig) {
  const keyring = new CustomerKeyring(new CustomerKeyRepository(cql), identityKeys(config), {
    maxEntries: 0,
  });
  return async (message: Uint8Array | EnrichedMessage): Promise<EnrichedEvent> => {
    const m = message instanceof Uint8Array ? (decodeJson(message) as EnrichedMessage) : message;
    if (!m.personal) throw new Error(`ENRICHED message of ${m.event.id} is not sealed`);
    const opened = await keyring.open<EnrichedPersonal>(m.personal);
    if (opened.kind !== 'opened')
      throw new Error(`ENRICHED message of ${m.event.id} does not open: the key is ${opened.kind}`);
    const { payload, customer, ctx } = opened.value;
    return { event: { ...m.event, payload }, customer, ctx, ...(m.patterns ? { patterns: m.patterns } : {}) };
  };
}

/**
 * Opens EVENTS messages as context does: the payload with the customer's data key (ingestion sealed it).
 * Throws when the message is not sealed, or does not open.
 */
export function eventsOpener(cql: CqlClient, config: NunchiConfig) {
  const keyring = new CustomerKeyring(new CustomerKeyRepository(cql), identityKeys(config), {
    maxEntries: 0,
  });
  return async (message: Uint8Array | EventsMessage): Promise<AcceptedEvent> => {
    const m = message instanceof Uint8Array ? (decodeJson(message) as EventsMessage) : message;
    if (!isSealedEvent(m)) throw new Error(`EVENTS message of ${m.id} is not sealed`);
    const opened = await keyring.openEvent(m);
    if (opened.kind !== 'opened') throw new Error(`EVENTS message of ${m.id} does not open: ${opened.why}`);
    return opened.value;
  };
}
