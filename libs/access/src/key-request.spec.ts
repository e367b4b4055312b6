import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkKeyRequest, DEFAULT_RATE_PER_SECOND } from './key-request.js';

describe('checkKeyRequest (nunchi keys create, POST /v1/keys)', () => {
  it("gives a role's default rate, keeps an adapter's channels once each, trims the name", () => {
    assert.deepEqual(checkKeyRequest({ role: 'adapter', name: ' till ', channels: ['pos', 'web', 'pos'] }), {
      ok: true,
      value: {
        role: 'adapter',
        name: 'till',
        ratePerSecond: DEFAULT_RATE_PER_SECOND.adapter,
        channels: ['pos', 'web'],
      },
    });
    assert.deepEqual(checkKeyRequest({ role: 'analyst', name: 'a', ratePerSecond: 7, expiresInDays: 30 }), {
      ok: true,
      value: { role: 'analyst', name: 'a', ratePerSecond: 7, expiresInDays: 30 },
    });
  });

  it('names every problem by field', () => {
    const fields = (r: ReturnType<typeof checkKeyRequest>) => (r.ok ? [] : r.problems.map((p) => p.field));
    assert.deepEqual(fields(checkKeyRequest({ role: 'boss', name: '' })), ['role', 'name']);
    assert.deepEqual(fields(checkKeyRequest({ role: 'adapter', name: 'x' })), ['channels']);
    assert.deepEqual(fields(checkKeyRequest({ role: 'marketer', name: 'x', channels: ['pos'] })), [
      'channels',
    ]);
    assert.deepEqual(
      fields(
        checkKeyRequest({ role: 'adapter', name: 'x', channels: ['system', 'a b'], ratePerSecond: 1.5 }),
      ),
      ['ratePerSecond', 'channels', 'channels'],
    );
    assert.deepEqual(fields(checkKeyRequest({ role: 'admin', name: 'x', expiresInDays: 0 })), [
      'expiresInDays',
    ]);
  });
});
