import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedSerializer } from './keyed-serializer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedSerializer', () => {
  it('runs one key in submission order even when earlier tasks are slower, and keys in parallel', async () => {
    const s = new KeyedSerializer();
    const order: string[] = [];
    // a1 waits until b1 has run (b is not queued behind a: otherwise this never ends); a2, instant, still waits
    // for a1. Gates, not sleeps: timers raced on a loaded machine.
    let releaseA1!: () => void;
    const a1Gate = new Promise<void>((r) => (releaseA1 = r));
    await Promise.all([
      s.run('a', async () => (await a1Gate, order.push('a1'))),
      s.run('a', () => Promise.resolve(order.push('a2'))),
      s.run('b', async () => (await sleep(1), order.push('b1'), releaseA1())),
    ]);
    assert.deepEqual(order, ['b1', 'a1', 'a2']);
  });

  it('keeps going after a failed task', async () => {
    const s = new KeyedSerializer();
    await assert.rejects(
      s.run('a', () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await s.run('a', () => Promise.resolve(7)), 7);
  });

  it('starts a task at once when its key is idle, and reports whether a key is busy', async () => {
    const s = new KeyedSerializer();
    let started = false;
    assert.equal(s.isIdle('a'), true);
    const first = s.run('a', async () => {
      started = true;
      await sleep(5);
    });
    assert.equal(started, true, 'synchronously: an idle key adds no tick, so arrival order is kept');
    assert.equal(s.isIdle('a'), false);
    assert.equal(s.isIdle('b'), true);
    await first;
    await sleep(0);
    assert.equal(s.isIdle('a'), true, 'the key is forgotten once its queue is empty');
  });
});
