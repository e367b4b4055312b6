import type { EventType } from './event-names.js';

/** One valid event of every type (occurredAt as given), for specs and documentation. */
export function exampleEvents(
  occurredAt = '2026-11-24T19:05:00+09:00',
): Record<EventType, Record<string, unknown>> {
  const base = (
    id: string,
    type: EventType,
    channel: string,
    payload: Record<string, unknown>,
    customer: Record<string, string> = { id: 'c-000042' },
  ) => ({
    id,
    type,
    channel,
    occurredAt,
    customer,
    storeId: 'bundang-01',
    payload,
  });
  return {
    purchase: base(
      'pos-7781-000123',
      'purchase',
      'pos',
      {
        amount: 110000,
        currency: 'KRW',
        receiptId: 'R-000123',
        items: [
          { sku: '880123', category: 'infant_formula', quantity: 2, unitPrice: 32000, name: 'Formula 800 g' },
          { sku: '880555', category: 'beer', quantity: 6, unitPrice: 4500 },
          { sku: '880777', category: 'diapers', quantity: 1, unitPrice: 19000 },
        ],
      },
      { loyaltyCard: 'LC-0042' },
    ),
    visit: base('gate-1-000001', 'visit', 'pos', { entrance: 'north' }),
    page_view: base(
      'web-000001',
      'page_view',
      'web',
      { url: 'https://shop.example/formula', referrer: 'https://search.example/' },
      { email: 'dad@example.com' },
    ),
    product_view: base(
      'app-000001',
      'product_view',
      'app',
      { sku: '880123', category: 'infant_formula', price: 32000 },
      { deviceId: 'dev-9f2c' },
    ),
    cart: base('web-000002', 'cart', 'web', {
      action: 'add',
      sku: '880555',
      category: 'beer',
      quantity: 6,
      unitPrice: 4500,
    }),
    app_open: base(
      'app-000002',
      'app_open',
      'app',
      { appVersion: '5.2.1', platform: 'android' },
      { phone: '+82 10-1234-5678' },
    ),
    location: base('app-000003', 'location', 'app', { lat: 37.3595, lon: 127.1052, accuracyM: 25 }),
    offer_response: base('pos-7781-000124', 'offer_response', 'pos', {
      decisionId: 'd-0123456789abcdef01234567',
      response: 'redeemed',
      campaignId: 'bundang-dad-beer',
    }),
    profile_update: base('cc-000001', 'profile_update', 'callcenter', {
      age: 35,
      region: 'Bundang',
      marketingConsent: true,
      attributes: { household: 'family' },
    }),
  };
}
