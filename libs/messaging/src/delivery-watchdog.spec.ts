import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stuckSince } from './delivery-watchdog.js';

describe('stuckSince (the consumer watchdog)', () => {
  it('needs the same missed message at two polls', () => {
    assert.equal(stuckSince(undefined, 4490, 4220), false, 'first sight');
    assert.equal(stuckSince({ seq: 4490, delivered: 4220 }, 4490, 4220), true);
  });

  it('a consumer that delivered meanwhile is not stuck', () => {
    assert.equal(stuckSince({ seq: 4490, delivered: 4220 }, 4490, 4300), false);
  });

  it('a different next message means the old one was delivered', () => {
    assert.equal(stuckSince({ seq: 4490, delivered: 4220 }, 4512, 4220), false);
  });
});
