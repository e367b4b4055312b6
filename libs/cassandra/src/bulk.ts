/**
 * Runs fn over items with at most `limit` calls in flight and returns the results in input order.
 * Bulk work (imports, erasure) needs many requests in flight to be fast, and a bound so that neither the
 * driver's queue nor the node's native-transport queue overflows.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
