import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContractError } from './errors.js';
import { partitionOf } from './partition.js';
import { guardStructure, toAcceptedEvent, validateCustomerImport, validateEvent } from './validate.js';

const NOW = Date.parse('2026-11-24T10:05:00Z');
const purchase = (over: Record<string, unknown> = {}) => ({
  id: 'pos-1',
  type: 'purchase',
  channel: 'pos',
  occurredAt: '2026-11-24T19:05:00+09:00',
  customer: { id: 'c-000042' },
  storeId: 'bundang-01',
  payload: { amount: 100000, currency: 'KRW', items: [{ sku: 'a', category: 'beer', quantity: 2, unitPrice: 50000 }] },
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
    assert.deepEqual(accepted.payload['items'], [{ sku: 'a', category: 'beer', quantity: 2, unitPrice: 50000 }]);
  });

  it('lists every problem by path', () => {
    const found = problems(purchase({ channel: 'p o s', payload: { amount: -1, currency: 'WON', items: [{ sku: 'a', category: 'beer', quantity: 1.5, unitPrice: 1 }] } }));
    const paths = found.map((p) => p.split(':')[0]).sort();
    assert.deepEqual(paths, ['channel', 'payload.amount', 'payload.currency', 'payload.items[0].quantity']);
  });

  it('rejects an amount that disagrees with the items beyond rounding, accepts within 1', () => {
    assert.match(problems(purchase({ payload: { amount: 100002, currency: 'KRW', items: [{ sku: 'a', category: 'beer', quantity: 2, unitPrice: 50000 }] } }))[0], /payload.amount: 100002 disagrees/);
    assert.deepEqual(problems(purchase({ payload: { amount: 100000.6, currency: 'KRW', items: [{ sku: 'a', category: 'beer', quantity: 2, unitPrice: 50000 }] } })), []);
  });

  it('rejects unknown properties, at the top and in the payload', () => {
    assert.deepEqual(problems(purchase({ extra: 1 })), ['extra: unknown property']);
    assert.deepEqual(problems(purchase({ payload: { amount: 0, currency: 'KRW', items: [{ sku: 'a', category: 'x', quantity: 1, unitPrice: 0 }], coupon: 'x' } })), ['payload.coupon: unknown property']);
  });

  it('rejects an occurredAt more than 5 minutes ahead, or without an offset', () => {
    assert.deepEqual(problems(purchase({ occurredAt: '2026-11-24T10:11:00Z' })), ['occurredAt: more than 5 minutes in the future']);
    assert.deepEqual(problems(purchase({ occurredAt: '2026-11-24T10:09:00Z' })), []);
    assert.match(problems(purchase({ occurredAt: '2026-11-24T10:00:00' })).join(), /occurredAt/);
  });

  it('wants exactly one customer identifier', () => {
    assert.match(problems(purchase({ customer: {} })).join(), /exactly one of id/);
    assert.match(problems(purchase({ customer: { id: 'c-1', phone: '010-1234-5678' } })).join(), /exactly one of id/);
    assert.deepEqual(problems(purchase({ customer: { phone: '+82 10-1234-5678' } })), []);
  });

  it("makes the subject's channel and type agree with the body", () => {
    assert.deepEqual(problems(purchase(), { channel: 'web', type: 'purchase' }), ['channel: "pos" disagrees with the subject\'s channel "web"']);
  });

  it('refuses prototype keys, deep nesting and non-objects before any other work', () => {
    assert.deepEqual(guardStructure(JSON.parse('{"a":{"__proto__":{"x":1}}}')), [{ path: 'a.__proto__', message: 'forbidden key' }]);
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
    assert.match(problems({ ...purchase(), type: 'location', payload: { lat: 137, lon: 127.1 } }).join(), /payload.lat/);
    assert.match(problems({ ...purchase(), type: 'offer_response', payload: { decisionId: 'd-1', response: 'maybe' } }).join(), /payload.response/);
    assert.match(problems({ ...purchase(), type: 'teleport' }).join(), /^type:/);
  });
});

describe('validateCustomerImport', () => {
  it('accepts a profile line and lists problems of a bad one', () => {
    assert.equal(validateCustomerImport({ id: 'c-1', age: 34, gender: 'M', region: 'Bundang', creditTier: 'C', attributes: { a: 'b' } }).id, 'c-1');
    assert.throws(() => validateCustomerImport({ id: 'c 1', age: 300, attributes: { a: 1 } }), (e: ContractError) => e.details.length === 3);
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
