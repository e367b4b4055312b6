/** customers fetched together, a chunk ahead of their reads (readAhead) */
export const READ_AHEAD_CHUNK = 200;

/**
 * What the customers `ids` (in the order they are read, one at a time) need from Cassandra in bulk, fetched a
 * chunk of READ_AHEAD_CHUNK customers at a time, a chunk ahead of the reads — many customers a request where
 * each customer's read would ask alone — and forgotten once every customer of the chunk is read, so that
 * what is held stays small whatever the population. `before(index)` resolves to the chunk's fetch for
 * customer `index`, before it is read; `after(index)` is called once it is. Readers start in index order
 * (forEachBounded): a chunk is never fetched again once forgotten.
 */
export function readAhead<T>(
  ids: readonly string[],
  fetch: (chunk: readonly string[]) => Promise<T>,
  forget: (chunk: readonly string[]) => void,
): { before(index: number): Promise<T>; after(index: number): void } {
  const chunks = new Map<number, { ready: Promise<T>; left: number }>();
  const idsOf = (chunk: number) => ids.slice(chunk * READ_AHEAD_CHUNK, (chunk + 1) * READ_AHEAD_CHUNK);
  const start = (chunk: number) => {
    if (chunk * READ_AHEAD_CHUNK >= ids.length || chunks.has(chunk)) return;
    const ready = fetch(idsOf(chunk));
    // awaited by the chunk's readers; a failure before any of them starts is theirs to throw, not unhandled
    ready.catch(() => undefined);
    chunks.set(chunk, { ready, left: idsOf(chunk).length });
  };
  return {
    before(index) {
      const chunk = Math.floor(index / READ_AHEAD_CHUNK);
      start(chunk);
      start(chunk + 1);
      return chunks.get(chunk)!.ready;
    },
    after(index) {
      const chunk = Math.floor(index / READ_AHEAD_CHUNK);
      const state = chunks.get(chunk);
      if (state && --state.left === 0) {
        forget(idsOf(chunk));
        chunks.delete(chunk);
      }
    },
  };
}
