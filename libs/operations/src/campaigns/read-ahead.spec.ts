import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachBounded } from '../bounded.js';
import { READ_AHEAD_CHUNK as CHUNK, readAhead } from './read-ahead.js';

/** Fetches that record what is fetched and forgotten, and take a while. */
function recordingFetches() {
  const fetched: string[][] = [];
  const forgotten: string[][] = [];
  const inMemory = new Set<string>();
  return {
    fetched,
    forgotten,
    inMemory,
    async fetch(ids: readonly string[]) {
      fetched.push([...ids]);
      await sleep(2);
      for (const id of ids) inMemory.add(id);
      return new Map(ids.map((id) => [id, `data of ${id}`]));
    },
    forget(ids: readonly string[]) {
      forgotten.push([...ids]);
      for (const id of ids) inMemory.delete(id);
    },
  };
}

describe('simulation read: customers fetched in bulk a chunk ahead (readAhead)', () => {
  it('fetches each chunk once, before its customers are read, and forgets it once all of them are', async () => {
    const ids = Array.from({ length: CHUNK * 3 + 17 }, (_, i) => `c${i}`);
    const history = recordingFetches();
    const ahead = readAhead(
      ids,
      (chunk) => history.fetch(chunk),
      (chunk) => history.forget(chunk),
    );
    let most = 0;
    await forEachBounded(ids, 48, async (id, index) => {
      assert.equal((await ahead.before(index)).get(id), `data of ${id}`);
      assert.ok(history.inMemory.has(id), `${id}'s chunk is held when it is read`);
      await sleep(index % 3);
      ahead.after(index);
      most = Math.max(most, history.inMemory.size);
    });
    const chunks = Array.from({ length: 4 }, (_, c) => ids.slice(c * CHUNK, (c + 1) * CHUNK));
    assert.deepEqual(history.fetched, chunks, 'every chunk fetched once, in order');
    assert.deepEqual(
      [...history.forgotten].sort((a, b) => ids.indexOf(a[0]) - ids.indexOf(b[0])),
      chunks,
      'every chunk forgotten once',
    );
    assert.equal(history.inMemory.size, 0);
    assert.ok(most <= 3 * CHUNK, `at most three chunks held at once (${most})`);
  });

  it('a failed fetch fails the readers of its chunk, and is not an unhandled rejection before they start', async () => {
    const ids = Array.from({ length: CHUNK * 2 }, (_, i) => `c${i}`);
    const ahead = readAhead(
      ids,
      (chunk) =>
        chunk[0] === ids[CHUNK] ? Promise.reject(new Error('Cassandra is down')) : Promise.resolve(),
      () => undefined,
    );
    await ahead.before(0); // starts the second chunk's fetch too, which fails while nobody awaits it
    await sleep(5);
    await assert.rejects(ahead.before(CHUNK), /Cassandra is down/);
  });
});
