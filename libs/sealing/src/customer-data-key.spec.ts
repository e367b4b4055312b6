import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  generateDataKey,
  MissingKekError,
  openSealed,
  SealedDataError,
  sealForCustomer,
  unwrapDataKey,
  wrapDataKey,
} from './customer-data-key.js';

const k1 = { id: 'k1', secret: 'a-secret-of-at-least-16-chars' };
const k2 = { id: 'k2', secret: 'the-next-identity-secret-16+' };
/** about what ENRICHED seals for a customer with some history: a profile, a snapshot, a purchase payload */
const personal = {
  payload: {
    amount: 123_000,
    currency: 'KRW',
    items: [{ sku: '880123', category: 'infant_formula', quantity: 2 }],
  },
  customer: {
    id: 'c-42',
    age: 34,
    gender: 'M',
    region: 'Bundang',
    creditTier: 'A',
    attributes: { pet: 'dog' },
  },
  ctx: {
    customerId: 'c-42',
    category: Object.fromEntries(
      ['beer', 'infant_formula', 'snacks', 'chicken', '분유', '수입 맥주'].map((c) => [
        c,
        {
          d7: { spend: 100, purchases: 1 },
          d30: { spend: 4_000, purchases: 3 },
          d365: { spend: 90_000, purchases: 40 },
        },
      ]),
    ),
    recent: Array.from({ length: 20 }, (_, i) => ({ id: `e-${i}`, type: 'purchase', amount: 1_000 * i })),
  },
};

void describe('per-customer data keys', () => {
  void it('wraps a data key under the KEK of an identity key and unwraps it with that key among several', () => {
    const key = generateDataKey();
    assert.equal(key.key.length, 32);
    assert.match(key.id, /^[A-Za-z0-9_-]{8}$/);
    const stored = wrapDataKey('c-42', key, k1);
    assert.equal(stored.kekId, 'k1');
    assert.ok(!stored.wrapped.includes(key.key), 'the key bytes are not in the wrapped form');
    // after a rotation the current key is k2 and k1 is a previous key: a key wrapped under k1 still opens
    assert.deepEqual(unwrapDataKey('c-42', stored, [k2, k1]), key);
  });

  void it('refuses to unwrap without the KEK, under another customer, or with a KEK changed under the same id', () => {
    const stored = wrapDataKey('c-42', generateDataKey(), k1);
    assert.throws(() => unwrapDataKey('c-42', stored, [k2]), MissingKekError);
    assert.throws(() => unwrapDataKey('c-43', stored, [k1]), SealedDataError);
    assert.throws(
      () => unwrapDataKey('c-42', stored, [{ id: 'k1', secret: 'not-the-same-secret!!' }]),
      SealedDataError,
    );
  });

  void it('seals a JSON value for a customer: no value in clear; opens to the same value with the key', () => {
    const key = generateDataKey();
    const field = sealForCustomer('c-42', key, personal);
    assert.deepEqual(Object.keys(field), ['sealed', 'customerId', 'keyId', 'data']);
    assert.equal(field.sealed, 'v1');
    assert.equal(field.keyId, key.id);
    const text = JSON.stringify(field);
    for (const clear of ['Bundang', 'infant_formula', '880123', '분유', 'dog'])
      assert.ok(!text.includes(clear), clear);
    assert.deepEqual(openSealed(field, key), personal);
    assert.notEqual(sealForCustomer('c-42', key, personal).data, field.data, 'a fresh IV per value');
  });

  void it('does not open under another key, moved to another customer, or altered', () => {
    const key = generateDataKey();
    const field = sealForCustomer('c-42', key, personal);
    assert.throws(() => openSealed(field, generateDataKey()), /sealed under data key/);
    assert.throws(() => openSealed(field, { ...generateDataKey(), id: key.id }), SealedDataError);
    // the same key id and bytes, but the value claims another customer: the AAD does not match
    assert.throws(() => openSealed({ ...field, customerId: 'c-43' }, key), /moved from another customer/);
    const raw = Buffer.from(field.data, 'base64url');
    raw[raw.length - 1] ^= 1;
    assert.throws(() => openSealed({ ...field, data: raw.toString('base64url') }, key), SealedDataError);
  });

  void it('costs microseconds: 10,000 seals and opens of a few KB', () => {
    const key = generateDataKey();
    const size = JSON.stringify(personal).length;
    const n = 10_000;
    let field = sealForCustomer('c-42', key, personal);
    let t = performance.now();
    for (let i = 0; i < n; i++) field = sealForCustomer('c-42', key, personal);
    const sealUs = ((performance.now() - t) * 1000) / n;
    t = performance.now();
    for (let i = 0; i < n; i++) openSealed(field, key);
    const openUs = ((performance.now() - t) * 1000) / n;
    const stored = wrapDataKey('c-42', key, k1);
    const kek = new Map<string, Buffer>();
    t = performance.now();
    for (let i = 0; i < n; i++) unwrapDataKey('c-42', stored, [k1], kek);
    const unwrapUs = ((performance.now() - t) * 1000) / n;
    console.log(
      `# ${n} × ${size} B of JSON: seal ${sealUs.toFixed(1)} µs, open ${openUs.toFixed(1)} µs (JSON text included); unwrap a data key ${unwrapUs.toFixed(1)} µs`,
    );
    // generous bounds for a loaded 2-core machine: the point is microseconds, not milliseconds
    assert.ok(sealUs < 500 && openUs < 500, `seal ${sealUs} µs, open ${openUs} µs`);
  });
});
