import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  historyRewritten,
  isUnanswered,
  ReplayInterval,
  stuckSince,
  UnansweredConsumers,
} from './delivery-watchdog.js';

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

describe('historyRewritten (a history rewritten below a consumer)', () => {
  const mark = { seq: 4099, msgId: 'pos:e-1', storedAtMs: 1_764_000_000_123.456 };
  it('the same message still there is no rewrite', () => {
    assert.equal(historyRewritten(mark, { msgId: 'pos:e-1', storedAtMs: 1_764_000_000_123 }), false);
  });
  it('another message under the same sequence is', () => {
    assert.equal(historyRewritten(mark, { msgId: 'pos:e-2', storedAtMs: 1_764_000_000_123 }), true);
  });
  it('without message ids, another store time is', () => {
    const bare = { ...mark, msgId: undefined };
    assert.equal(historyRewritten(bare, { msgId: undefined, storedAtMs: 1_764_000_000_123 }), false);
    assert.equal(historyRewritten(bare, { msgId: undefined, storedAtMs: 1_764_000_000_124 }), false);
    assert.equal(historyRewritten(bare, { msgId: undefined, storedAtMs: 1_764_000_000_126 }), true);
  });
  it('nothing stored there (retention, or a shorter history) is not', () => {
    assert.equal(historyRewritten(mark, undefined), false);
  });
});

describe('ReplayInterval (replays by time, bounded)', () => {
  it('takes a key once per interval, each key on its own', () => {
    const replays = new ReplayInterval(300_000);
    assert.equal(replays.take('ahead:ctx-3', 1_000), true, 'first finding');
    assert.equal(replays.take('ahead:ctx-3', 11_000), false, 'the same finding 10 s later');
    assert.equal(replays.take('stream:EVENTS', 11_000), true, 'another key');
    assert.equal(replays.nextAt('ahead:ctx-3'), 301_000);
    assert.equal(replays.take('ahead:ctx-3', 300_999), false);
    assert.equal(replays.take('ahead:ctx-3', 301_000), true, 'once the interval has passed');
    assert.equal(replays.take('ahead:ctx-3', 302_000), false, 'counted from the last replay taken');
  });
});
