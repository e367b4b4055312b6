import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatApiKey, parseApiKey } from './api-key.js';

describe('API key format', () => {
  const secret = 'A'.repeat(40) + '_-z';
  it('round-trips a key id and secret', () => {
    const key = formatApiKey({ keyId: '0123456789ab', secret });
    assert.equal(key, `nk_0123456789ab_${secret}`);
    assert.deepEqual(parseApiKey(key), { keyId: '0123456789ab', secret });
  });
  it('refuses what is not a key', () => {
    for (const bad of [
      '',
      'eyJhbGciOi.x.y',
      `nk_0123456789AB_${secret}`,
      `nk_0123456789ab-${secret}`,
      `nk_0123456789ab_${secret}x`,
      `nk_0123456789ab_${secret.slice(1)}`,
      `nk_0123456789ab_${secret.slice(1)}+`,
    ])
      assert.equal(parseApiKey(bad), undefined, bad);
  });
});
