import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { IDENTITY_TYPES } from '@nunchi/contracts/core';
import { FORMERLY_CLEAR_TYPES, storedIdentityValue } from './identifiers.js';

const K1 = 'first-identity-key-0123456789';
const K2 = 'second-identity-key-987654321';

describe('storedIdentityValue: every identifier only keyed-hashed', () => {
  const samples = {
    loyaltyCard: 'LC-1000042',
    phone: '+82 10-1234-5678',
    email: 'Kim.Minjun@Example.kr',
    deviceId: 'ios-5F2A-91C0',
  } as const;

  for (const type of IDENTITY_TYPES) {
    it(`${type}: an HMAC-SHA256, never the value, different under another key`, () => {
      const value = samples[type];
      const stored = storedIdentityValue(type, value, K1);
      assert.match(stored, /^[0-9a-f]{64}$/);
      assert.ok(!stored.includes(value));
      assert.notEqual(stored, storedIdentityValue(type, value, K2), 'a key of its own changes every value');
      // Without the key the value cannot be computed: not a plain hash of the identifier, with or without type.
      for (const guess of [value, `${type}:${value}`, `${type}\u0000${value}`])
        assert.notEqual(stored, createHash('sha256').update(guess).digest('hex'));
      assert.equal(stored, storedIdentityValue(type, value, K1), 'deterministic under one key');
    });
  }

  it('keeps the phone and e-mail forms of earlier versions (their stored rows stay valid)', () => {
    const hmac = (text: string) => createHmac('sha256', K1).update(text).digest('hex');
    assert.equal(storedIdentityValue('phone', '+82 10-1234-5678', K1), hmac('phone:821012345678'));
    assert.equal(storedIdentityValue('email', ' Kim@Example.KR ', K1), hmac('email:kim@example.kr'));
  });

  it('normalises phones and e-mails, not cards or devices', () => {
    assert.equal(
      storedIdentityValue('phone', '010-1234-5678', K1),
      storedIdentityValue('phone', '01012345678', K1),
    );
    assert.equal(storedIdentityValue('email', 'A@B.kr', K1), storedIdentityValue('email', 'a@b.kr ', K1));
    assert.notEqual(
      storedIdentityValue('loyaltyCard', 'LC-1', K1),
      storedIdentityValue('loyaltyCard', 'lc-1', K1),
    );
    assert.notEqual(storedIdentityValue('deviceId', 'AB', K1), storedIdentityValue('deviceId', 'ab', K1));
  });

  it('separates types: one string as a card and as a device id gives two unrelated values', () => {
    assert.notEqual(
      storedIdentityValue('loyaltyCard', 'X-42', K1),
      storedIdentityValue('deviceId', 'X-42', K1),
    );
  });

  it('names the types earlier versions stored in clear', () => {
    assert.deepEqual([...FORMERLY_CLEAR_TYPES], ['loyaltyCard', 'deviceId']);
  });
});
