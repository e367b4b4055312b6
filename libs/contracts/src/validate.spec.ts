import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContractError } from './errors.js';
import { partitionOf } from './partition.js';
import { exampleEvents } from './example-events.js';
import {
  amountTolerance,
  guardStructure,
  MAX_STRING_LENGTH,
  toAcceptedEvent,
  validateCustomerImport,
  validateEvent,
} from './validate.js';

const NOW = Date.parse('2026-11-24T10:05:00Z');
const purchase = (over: Record<string, unknown> = {}) => ({
  id: 'pos-1',
  type: 'purchase',
  channel: 'pos',
  occurredAt: '2026-11-24T19:05:00+09:00',
  customer: { id: 'c-000042' },
  storeId: 'bundang-01',
  payload: {
    amount: 100000,
    currency: 'KRW',
    items: [{ sku: 'a', category: 'beer', quantity: 2, unitPrice: 50000 }],
  },
  ...over,
});

function problems(body: unknown, subject?: { channel: string; type: string }): string[] {
  try {
    validateEvent(body, { nowMs: NOW, subject });
  } catch (error) {
    assert.ok(error instanceof ContractError);
    return error.details.map((d) => `${d.path}: ${d.message}`);
  }
  return [];
}

describe('validateEvent', () => {
  it('accepts the founding purchase and builds the accepted event', () => {
    const e = validateEvent(purchase(), { nowMs: NOW, subject: { channel: 'pos', type: 'purchase' } });
    const accepted = toAcceptedEvent(e, 'c-000042', NOW);
    assert.equal(accepted.occurredAtMs, Date.parse('2026-11-24T10:05:00Z'));
    assert.equal(accepted.storeId, 'bundang-01');
    assert.deepEqual(accepted.payload['items'], [
      { sku: 'a', category: 'beer', quantity: 2, unitPrice: 50000 },
    ]);
  });

  it('lists every problem by path', () => {
    const found = problems(
      purchase({
        channel: 'p o s',
        payload: {
          amount: -1,
          currency: 'WON',
          items: [{ sku: 'a', category: 'beer', quantity: 1.5, unitPrice: 1 }],
        },
      }),
    );
    const paths = found.map((p) => p.split(':')[0]).sort();
    assert.deepEqual(paths, ['channel', 'payload.amount', 'payload.currency', 'payload.items[0].quantity']);
  });

  it('rejects an amount that disagrees with the items beyond rounding, accepts within 1', () => {
    assert.match(
      problems(
        purchase({
          payload: {
            amount: 100002,
            currency: 'KRW',
            items: [{ sku: 'a', category: 'beer', quantity: 2, unitPrice: 50000 }],
          },
        }),
      )[0],
      /payload.amount: 100002 disagrees/,
    );
    assert.deepEqual(
      problems(
        purchase({
          payload: {
            amount: 100000.6,
            currency: 'KRW',
            items: [{ sku: 'a', category: 'beer', quantity: 2, unitPrice: 50000 }],
          },
        }),
      ),
      [],
    );
  });

  it('rejects unknown properties, at the top and in the payload', () => {
    assert.deepEqual(problems(purchase({ extra: 1 })), ['extra: unknown property']);
    assert.deepEqual(
      problems(
        purchase({
          payload: {
            amount: 0,
            currency: 'KRW',
            items: [{ sku: 'a', category: 'x', quantity: 1, unitPrice: 0 }],
            coupon: 'x',
          },
        }),
      ),
      ['payload.coupon: unknown property'],
    );
  });

  it("refuses the channel reserved for Nunchi's own events, so no adapter can take their keys", () => {
    assert.deepEqual(problems(purchase({ channel: 'system' })), [
      'channel: "system" is reserved for Nunchi\'s own events (absence timers)',
    ]);
  });

  it('rejects an occurredAt more than 5 minutes ahead, or without an offset', () => {
    assert.deepEqual(problems(purchase({ occurredAt: '2026-11-24T10:11:00Z' })), [
      'occurredAt: more than 5 minutes in the future',
    ]);
    assert.deepEqual(problems(purchase({ occurredAt: '2026-11-24T10:09:00Z' })), []);
    assert.match(problems(purchase({ occurredAt: '2026-11-24T10:00:00' })).join(), /occurredAt/);
  });

  it('wants one customer identifier, or two that the event links', () => {
    assert.match(problems(purchase({ customer: {} })).join(), /one of id.*or two to link them \(got 0\)/);
    assert.deepEqual(problems(purchase({ customer: { deviceId: 'd-1', loyaltyCard: 'L-1' } })), []);
    assert.match(
      problems(purchase({ customer: { id: 'c-1', phone: '010-1234-5678', deviceId: 'd-1' } })).join(),
      /or two to link them \(got 3\)/,
    );
    assert.deepEqual(problems(purchase({ customer: { phone: '+82 10-1234-5678' } })), []);
  });

  it("makes the subject's channel and type agree with the body", () => {
    assert.deepEqual(problems(purchase(), { channel: 'web', type: 'purchase' }), [
      'channel: "pos" disagrees with the subject\'s channel "web"',
    ]);
  });

  it("holds the event's channel to the sender's channels (an adapter's API key), on both paths", () => {
    const refusal = (channels: string[]) => {
      try {
        validateEvent(purchase(), { nowMs: NOW, channels });
      } catch (error) {
        assert.ok(error instanceof ContractError);
        return error.details.map((d) => `${d.path}: ${d.message}`);
      }
      return [];
    };
    assert.deepEqual(refusal(['pos', 'kiosk']), []);
    assert.deepEqual(refusal(['web']), ['channel: "pos" is not a channel this API key may send for (web)']);
    // An invalid event with a foreign channel: the full run lists the channel among its problems.
    assert.throws(
      () => validateEvent(purchase({ occurredAt: 'soon' }), { nowMs: NOW, channels: ['web'] }),
      (e: unknown) =>
        e instanceof ContractError &&
        e.details.some((d) => d.path === 'channel') &&
        e.details.some((d) => d.path === 'occurredAt'),
    );
  });

  it('refuses prototype keys, deep nesting and non-objects before any other work', () => {
    assert.deepEqual(guardStructure(JSON.parse('{"a":{"__proto__":{"x":1}}}')), [
      { path: 'a.__proto__', message: 'forbidden key' },
    ]);
    assert.equal(guardStructure(JSON.parse('{"constructor":{"prototype":{}}}')).length, 2);
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = { d: deep };
    assert.match(guardStructure(deep)[0].message, /nesting deeper/);
    assert.match(problems([purchase()]).join(), /must be a JSON object/);
    assert.match(problems('x').join(), /must be a JSON object/);
  });

  it('validates the other event types with their own payload rules', () => {
    assert.deepEqual(problems({ ...purchase(), type: 'visit', payload: {} }), []);
    assert.deepEqual(problems({ ...purchase(), type: 'location', payload: { lat: 37.35, lon: 127.1 } }), []);
    assert.match(
      problems({ ...purchase(), type: 'location', payload: { lat: 137, lon: 127.1 } }).join(),
      /payload.lat/,
    );
    assert.match(
      problems({
        ...purchase(),
        type: 'offer_response',
        payload: { decisionId: 'd-1', response: 'maybe' },
      }).join(),
      /payload.response/,
    );
    assert.match(problems({ ...purchase(), type: 'teleport' }).join(), /^type:/);
  });
  it('accepts one example of every event type', () => {
    for (const [type, event] of Object.entries(exampleEvents())) assert.deepEqual(problems(event), [], type);
  });

  it('wants an upper-case ISO 4217 currency', () => {
    const pay = (currency: string) =>
      purchase({
        payload: {
          amount: 100,
          currency,
          items: [{ sku: 'a', category: 'beer', quantity: 1, unitPrice: 100 }],
        },
      });
    assert.deepEqual(problems(pay('USD')), []);
    assert.match(problems(pay('krw')).join(), /payload.currency: must be an upper-case ISO 4217 code/);
    assert.match(problems(pay('ABC')).join(), /payload.currency/);
  });

  it('judges rounding by the currency: one minor unit for one line, half a unit more per line', () => {
    assert.equal(amountTolerance('KRW', 1), 1);
    assert.equal(amountTolerance('KRW', 3), 2);
    assert.equal(amountTolerance('USD', 1), 0.01);
    const usd = (amount: number) =>
      purchase({
        payload: {
          amount,
          currency: 'USD',
          items: [{ sku: 'a', category: 'beer', quantity: 3, unitPrice: 0.1 }],
        },
      });
    assert.deepEqual(problems(usd(0.3)), [], '3 × 0.1 is 0.3 despite binary floating point');
    assert.deepEqual(problems(usd(0.31)), []);
    assert.match(problems(usd(0.32)).join(), /payload.amount: 0.32 disagrees .* 0.01 USD/);
  });

  it('wants whole, positive quantities and finite, non-negative money, never numbers as strings', () => {
    const line = (item: Record<string, unknown>) =>
      purchase({
        payload: {
          amount: 0,
          currency: 'KRW',
          items: [{ sku: 'a', category: 'beer', quantity: 1, unitPrice: 0, ...item }],
        },
      });
    for (const quantity of [0, -0, -1, 1.5, '1', 10_001])
      assert.match(problems(line({ quantity })).join(), /payload.items\[0\].quantity/, String(quantity));
    for (const unitPrice of [-1, '0', Infinity, NaN, 1e13])
      assert.match(problems(line({ unitPrice })).join(), /payload.items\[0\].unitPrice/, String(unitPrice));
    assert.match(
      problems({ ...purchase(), type: 'location', payload: { lat: '37.3', lon: 127.1 } }).join(),
      /payload.lat/,
    );
  });

  it('bounds arrays: 500 lines pass, 501 do not', () => {
    const lines = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        sku: `s${i}`,
        category: 'beer',
        quantity: 1,
        unitPrice: 100,
        name: 'a beer',
      }));
    assert.deepEqual(
      problems(purchase({ payload: { amount: 50_000, currency: 'KRW', items: lines(500) } })),
      [],
    );
    assert.match(
      problems(purchase({ payload: { amount: 50_100, currency: 'KRW', items: lines(501) } })).join(),
      /payload.items: must contain no more than 500/,
    );
  });

  it('bounds strings and attributes, and refuses a megabyte string before any pattern runs', () => {
    assert.match(problems(purchase({ storeId: 'x'.repeat(65) })).join(), /storeId/);
    const started = performance.now();
    assert.deepEqual(problems(purchase({ customer: { email: `a@${'.'.repeat(1_000_000)} ` } })), [
      `customer.email: string longer than ${MAX_STRING_LENGTH} characters`,
    ]);
    // a worst case for a backtracking e-mail pattern, just under the guard's limit
    assert.match(
      problems(purchase({ customer: { email: `a@${'.'.repeat(4_000)} ` } })).join(),
      /customer.email/,
    );
    assert.ok(performance.now() - started < 50, 'pathological strings must not be slow');
    const profile = (attributes: unknown) => ({
      ...purchase(),
      type: 'profile_update',
      payload: { attributes },
    });
    assert.deepEqual(problems(profile({ household: 'family' })), []);
    assert.match(
      problems(profile({ n: 1 })).join(),
      /payload.attributes: must be an object of at most 50 string values/,
    );
    assert.match(
      problems(profile(Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])))).join(),
      /payload.attributes/,
    );
  });

  it('says "required" once for a missing field, and names every missing one', () => {
    const rest: Record<string, unknown> = purchase();
    delete rest['payload'];
    delete rest['occurredAt'];
    assert.deepEqual(problems(rest), ['occurredAt: required', 'payload: required']);
    assert.deepEqual(
      problems(
        purchase({ payload: { currency: 'KRW', items: [{ sku: 'a', category: 'x', unitPrice: 1 }] } }),
      ),
      ['payload.amount: required', 'payload.items[0].quantity: required'],
    );
  });

  it('says each problem once, as `path: message` without repeating the property, and suggests a misspelt one', () => {
    const bad = purchase({
      payload: {
        amount: 'abc',
        currency: 'KRW',
        items: [{ sku: 'a', category: 'x', quantity: 1.5, unitPrice: -1 }],
      },
      storeid: 's-1',
    });
    assert.deepEqual(problems(bad), [
      'storeid: unknown property (did you mean storeId?)',
      'payload.amount: must be a number',
      'payload.items[0].quantity: must be a whole number',
      'payload.items[0].unitPrice: must not be less than 0',
    ]);
    assert.deepEqual(
      problems(purchase({ customer: { idd: 'c-1' } }))[0],
      'customer.idd: unknown property (did you mean id?)',
    );
  });

  it('rejects unknown properties in nested objects too', () => {
    assert.deepEqual(problems(purchase({ customer: { id: 'c-1', vip: true } })), [
      'customer.vip: unknown property',
    ]);
    assert.deepEqual(
      problems(
        purchase({
          payload: {
            amount: 1,
            currency: 'KRW',
            items: [{ sku: 'a', category: 'x', quantity: 1, unitPrice: 1, discount: 0 }],
          },
        }),
      ),
      ['payload.items[0].discount: unknown property'],
    );
  });
});

describe('validateCustomerImport', () => {
  it('accepts a profile line and lists problems of a bad one', () => {
    assert.equal(
      validateCustomerImport({
        id: 'c-1',
        age: 34,
        gender: 'M',
        region: 'Bundang',
        creditTier: 'C',
        attributes: { a: 'b' },
      }).id,
      'c-1',
    );
    assert.throws(
      () => validateCustomerImport({ id: 'c 1', age: 300, attributes: { a: 1 } }),
      (e: ContractError) => e.details.length === 3,
    );
  });
});

describe('partitionOf', () => {
  it('is stable and spreads customers over the partitions', () => {
    assert.equal(partitionOf('c-000042', 16), partitionOf('c-000042', 16));
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[partitionOf(`c-${i}`, 16)]++;
    for (const n of counts) assert.ok(n > 700 && n < 1300, `uneven partition: ${n}`);
  });
});
