import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasSealedValues, sealPersonalData, UnsealError, unsealPersonalData } from './personal-data.js';

const key = { id: 'k7', secret: 'a-secret-of-at-least-16-chars' };
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

const event = {
  id: 'pos-7781-000123',
  type: 'purchase',
  channel: 'pos',
  occurredAt: '2026-11-24T19:05:00+09:00',
  customer: { phone: '010-1234-5678', email: 'minho.kim@example.co.kr' },
  storeId: 'bundang-01',
  payload: { amount: 5, currency: 'WON', note: 'call me at jiwoo@example.com', loyaltyCard: 'LC-0042' },
};

void describe('personal data in the DLQ', () => {
  void it('seals identifier fields anywhere and e-mail addresses in any string; keeps the rest readable', () => {
    const sealed = sealPersonalData(bytes(event), key);
    assert.deepEqual(sealed.paths, [
      'customer.phone',
      'customer.email',
      'payload.note',
      'payload.loyaltyCard',
    ]);
    const kept = text(sealed.data);
    for (const secret of ['1234', '5678', 'minho', 'example', 'jiwoo', 'LC-0042'])
      assert.ok(!kept.includes(secret), `${secret} is still readable`);
    const body = JSON.parse(kept) as typeof event;
    assert.match(body.customer.phone, /^sealed:v1:k7:[A-Za-z0-9_-]+$/);
    // what diagnosis needs stays as sent
    assert.deepEqual(
      { ...body, customer: {}, payload: { ...body.payload, note: '', loyaltyCard: '' } },
      {
        ...event,
        customer: {},
        payload: { ...event.payload, note: '', loyaltyCard: '' },
      },
    );
    assert.ok(hasSealedValues(sealed.data));
  });

  void it('opens what it sealed, with the key its tokens name among several', () => {
    const sealed = sealPersonalData(bytes(event), key);
    const other = { id: 'k8', secret: 'another-secret-16-chars' };
    assert.deepEqual(JSON.parse(text(unsealPersonalData(sealed.data, [other, key]))), event);
  });

  void it('refuses to open without the key, or with a key changed under the same id', () => {
    const sealed = sealPersonalData(bytes(event), key);
    assert.throws(
      () => unsealPersonalData(sealed.data, []),
      (e: unknown) => e instanceof UnsealError && /identity key "k7"/.test(e.message),
    );
    assert.throws(
      () => unsealPersonalData(sealed.data, [{ id: 'k7', secret: 'not-the-same-secret!!' }]),
      /does not open with that key/,
    );
  });

  void it('keeps a body without personal data byte for byte', () => {
    const plain = Buffer.from('{ "id": "x-1",  "customer": {"id": "c-000042"} }');
    const sealed = sealPersonalData(plain, key);
    assert.deepEqual(sealed, { data: plain, paths: [] });
  });

  void it('seals each event of a batch, and never seals a sealed value twice', () => {
    const batch = [event, { ...event, customer: { deviceId: 'dev-99' } }];
    const once = sealPersonalData(bytes(batch), key);
    assert.deepEqual(once.paths.slice(-1), ['[1].payload.loyaltyCard']);
    assert.ok(once.paths.includes('[1].customer.deviceId'));
    const twice = sealPersonalData(once.data, key);
    assert.deepEqual(twice.paths, []);
    assert.deepEqual(JSON.parse(text(unsealPersonalData(twice.data, [key]))), batch);
  });

  void it('masks identifier fields and e-mail addresses in a body that is not JSON', () => {
    const broken = Buffer.from(
      '{"id":"pos-7781-000123", "customer": {"phone": "010-1234-5678", "email": "a@b.kr"} oops',
    );
    const masked = sealPersonalData(broken, key);
    assert.deepEqual(masked.paths, ['(not JSON: masked)']);
    assert.equal(
      text(masked.data),
      '{"id":"pos-7781-000123", "customer": {"phone":"[masked]", "email":"[masked]"} oops',
    );
    const noJsonNoData = Buffer.from('{"id": "t-1234567", oops}');
    assert.deepEqual(sealPersonalData(noJsonNoData, key), { data: noJsonNoData, paths: [] });
  });

  it('takes linear time on hostile input: a megabyte without an address, in JSON or not', () => {
    const long = 'a'.repeat(1_000_000);
    for (const body of [JSON.stringify({ id: 'e-1', note: long }), `{"id": "e-1", ${long}`]) {
      const started = performance.now();
      const sealed = sealPersonalData(Buffer.from(body), key);
      assert.deepEqual(sealed.paths, [], 'nothing to seal');
      // quadratic scanning took ~1 s for 10,000 characters and minutes for a megabyte
      assert.ok(performance.now() - started < 1_000, `took ${(performance.now() - started).toFixed(0)} ms`);
    }
    const mixed = sealPersonalData(
      Buffer.from(JSON.stringify({ note: `${'b'.repeat(50_000)} kim@example.com` })),
      key,
    );
    assert.deepEqual(mixed.paths, ['note'], 'an address after a long run is still found');
  });
});
