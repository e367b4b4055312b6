import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUnanswered, stuckSince, UnansweredConsumers } from './delivery-watchdog.js';

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

describe('isUnanswered (a consumer nothing answers for)', () => {
  it('a request timeout, or a 503 "temporarily unavailable"', () => {
    const timeout = Object.assign(new Error('timeout'), { name: 'TimeoutError' });
    assert.equal(isUnanswered(timeout), true);
    assert.equal(
      isUnanswered(Object.assign(new Error('JetStream system temporarily unavailable'), { status: 503 })),
      true,
    );
  });

  it('not a missing consumer or a refused request', () => {
    assert.equal(isUnanswered(Object.assign(new Error('consumer not found'), { status: 404 })), false);
    assert.equal(
      isUnanswered(Object.assign(new Error('consumer name already in use'), { status: 400 })),
      false,
    );
    assert.equal(isUnanswered(undefined), false);
  });
});

describe('UnansweredConsumers (the grace period before a consumer is replaced)', () => {
  it('is overdue once unanswered for the whole grace period, counted from the first unanswered request', () => {
    const unanswered = new UnansweredConsumers(60_000);
    assert.equal(unanswered.overdue('context-p3', 1_000), false);
    assert.equal(unanswered.overdue('context-p3', 59_999), false);
    assert.equal(unanswered.unansweredSince('context-p3'), 1_000);
    assert.equal(unanswered.overdue('context-p3', 61_000), true);
    assert.equal(unanswered.overdue('context-p4', 61_000), false, 'per consumer');
  });

  it('an answer in between starts the period again', () => {
    const unanswered = new UnansweredConsumers(60_000);
    unanswered.overdue('context-p3', 0);
    unanswered.answered('context-p3');
    assert.equal(unanswered.unansweredSince('context-p3'), undefined);
    assert.equal(unanswered.overdue('context-p3', 70_000), false);
    assert.equal(unanswered.overdue('context-p3', 130_000), true);
  });
});
