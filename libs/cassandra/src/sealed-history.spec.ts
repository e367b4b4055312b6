import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcceptedEvent } from '@nunchi/contracts';
import { generateDataKey, sealForCustomer } from '@nunchi/sealing';
import { eventBody, openEventBody, parseEventBody } from './sealed-history.js';

const event: AcceptedEvent = {
  id: 'e-1',
  customerId: 'c-1',
  type: 'purchase',
  channel: 'pos',
  occurredAt: '2026-12-06T18:00:00+09:00',
  occurredAtMs: Date.parse('2026-12-06T09:00:00Z'),
  receivedAtMs: Date.parse('2026-12-06T09:00:01Z'),
  storeId: 'bundang-1',
  payload: { amount: 105_000, items: [{ sku: '분유-800g', qty: 1, price: 32_000 }] },
};

describe('eventBody: the customer_events.body of an event', () => {
  it('stores the payload EVENTS sealed as it is, when sealed for this customer under this key', () => {
    const key = generateDataKey();
    const carried = sealForCustomer(event.customerId, key, event.payload);
    const stored = parseEventBody(eventBody(event, key, carried));
    assert.deepEqual((stored as { sealedPayload: unknown }).sealedPayload, carried, 'not sealed again');
    assert.deepEqual(openEventBody(event.customerId, stored, key), event);
  });

  it('seals the payload again when the one carried is under another key or of another customer', () => {
    const key = generateDataKey();
    const older = generateDataKey();
    for (const carried of [
      sealForCustomer(event.customerId, older, event.payload),
      sealForCustomer('c-2', key, event.payload),
    ]) {
      const stored = parseEventBody(eventBody(event, key, carried));
      assert.notDeepEqual((stored as { sealedPayload: unknown }).sealedPayload, carried);
      assert.deepEqual(openEventBody(event.customerId, stored, key), event, 'opens with the current key');
    }
  });

  it('leaves nothing of the payload in clear', () => {
    const key = generateDataKey();
    const body = eventBody(event, key);
    assert.ok(!body.includes('105000') && !body.includes('분유'), body);
  });
});
