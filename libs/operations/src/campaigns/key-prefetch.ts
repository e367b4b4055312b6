import type { ContextRepository } from '@nunchi/cassandra';

/** customers whose data keys are read together, a chunk ahead of their reads (keyPrefetch) */
export const KEY_CHUNK = 200;

/**
 * The data keys of the customers `ids` (in the order they are read), read a chunk of KEY_CHUNK at a time a
 * chunk ahead of the reads (ContextRepository.prefetchKeys: 50 a request, where each customer's read would
 * ask for its own), and forgotten once every customer of the chunk is read, so that the keyring stays small
 * whatever the population. `before(index)` is awaited before customer `index` is read, `after(index)` called
 * once it is. Readers start in index order (forEachBounded): a chunk is never asked for again once forgotten.
 */
export function keyPrefetch(
  ids: readonly string[],
  history: Pick<ContextRepository, 'prefetchKeys' | 'forgetKeys'>,
) {
  const chunks = new Map<number, { ready: Promise<void>; left: number }>();
  const idsOf = (chunk: number) => ids.slice(chunk * KEY_CHUNK, (chunk + 1) * KEY_CHUNK);
  const start = (chunk: number) => {
    if (chunk * KEY_CHUNK >= ids.length || chunks.has(chunk)) return;
    const ready = history.prefetchKeys(idsOf(chunk));
    // awaited by the chunk's readers; a failure before any of them starts is theirs to throw, not unhandled
    ready.catch(() => undefined);
    chunks.set(chunk, { ready, left: idsOf(chunk).length });
  };
  return {
    before(index: number): Promise<void> {
      const chunk = Math.floor(index / KEY_CHUNK);
      start(chunk);
      start(chunk + 1);
      return chunks.get(chunk)!.ready;
    },
    after(index: number): void {
      const chunk = Math.floor(index / KEY_CHUNK);
      const state = chunks.get(chunk);
      if (state && --state.left === 0) {
        history.forgetKeys(idsOf(chunk));
        chunks.delete(chunk);
      }
    },
  };
}
