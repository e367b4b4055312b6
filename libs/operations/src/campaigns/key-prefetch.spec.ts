import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachBounded } from '../bounded.js';
import { KEY_CHUNK, keyPrefetch } from './key-prefetch.js';

/** A history port that records what is fetched and forgotten, and whose key reads take a while. */
function recordingHistory() {
  const fetched: string[][] = [];
  const forgotten: string[][] = [];
  const inMemory = new Set<string>();
  return {
    fetched,
    forgotten,
    inMemory,
    async prefetchKeys(ids: readonly string[]) {
      fetched.push([...ids]);
      await sleep(2);
      for (const id of ids) inMemory.add(id);
    },
    forgetKeys(ids: readonly string[]) {
      forgotten.push([...ids]);
      for (const id of ids) inMemory.delete(id);
    },
  };
}

describe('simulation read: data keys a chunk ahead (keyPrefetch)', () => {
  it('fetches each chunk once, before its customers are read, and forgets it once all of them are', async () => {
    const ids = Array.from({ length: KEY_CHUNK * 3 + 17 }, (_, i) => `c${i}`);
    const history = recordingHistory();
    const keys = keyPrefetch(ids, history);
    let most = 0;
    await forEachBounded(ids, 48, async (id, index) => {
      await keys.before(index);
      assert.ok(history.inMemory.has(id), `${id}'s key is in memory when it is read`);
      await sleep(index % 3);
      keys.after(index);
      most = Math.max(most, history.inMemory.size);
    });
    const chunks = Array.from({ length: 4 }, (_, c) => ids.slice(c * KEY_CHUNK, (c + 1) * KEY_CHUNK));
    assert.deepEqual(history.fetched, chunks, 'every chunk fetched once, in order');
    assert.deepEqual(
      [...history.forgotten].sort((a, b) => ids.indexOf(a[0]) - ids.indexOf(b[0])),
      chunks,
      'every chunk forgotten once',
    );
    assert.equal(history.inMemory.size, 0);
    assert.ok(most <= 3 * KEY_CHUNK, `at most three chunks of keys in memory at once (${most})`);
  });

  it('a failed fetch fails the readers of its chunk, and is not an unhandled rejection before they start', async () => {
    const ids = Array.from({ length: KEY_CHUNK * 2 }, (_, i) => `c${i}`);
    const keys = keyPrefetch(ids, {
      prefetchKeys: (chunk) =>
        chunk[0] === ids[KEY_CHUNK] ? Promise.reject(new Error('Cassandra is down')) : Promise.resolve(),
      forgetKeys: () => undefined,
    });
    await keys.before(0); // starts the second chunk's fetch too, which fails while nobody awaits it
    await sleep(5);
    await assert.rejects(keys.before(KEY_CHUNK), /Cassandra is down/);
  });
});
