import type { CqlClient } from './client.js';

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

/** One idempotent write of a bulk operation: a registered statement's CQL and its parameters. */
export interface BulkWrite {
  query: string;
  params: unknown[];
}

export interface BatchedWriteOptions {
  /** groups (e.g. one customer's writes) per unlogged batch; @default 25 */
  groupsPerBatch?: number;
  /**
   * estimated bytes per batch, kept under Cassandra's batch_size_fail_threshold (50 KiB by default);
   * @default 32_768
   */
  maxBatchBytes?: number;
  /** batches in flight; @default 16 */
  concurrency?: number;
  /** attempts per batch before its groups are reported failed (writes are idempotent upserts); @default 4 */
  attempts?: number;
  /** after each batch, with the number of groups it held */
  onBatch?: (groups: number) => void;
}

/**
 * Writes groups of idempotent upserts as unlogged batches, several in flight. Against one node a batch of
 * many partitions is one request instead of dozens — measured ~2× the throughput of single statements kept
 * 512 in flight (bench/customers-import.ts). On a large cluster, prefer smaller batches: the coordinator
 * forwards each partition's part to its replicas. Returns the indexes of groups whose batch kept failing.
 */
export async function writeBatched(
  client: CqlClient,
  groups: ReadonlyArray<readonly BulkWrite[]>,
  options: BatchedWriteOptions = {},
): Promise<Array<{ group: number; error: Error }>> {
  const perBatch = options.groupsPerBatch ?? 25;
  const maxBytes = options.maxBatchBytes ?? 32_768;
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  groups.forEach((group, i) => {
    const size = estimateBytes(group);
    if (current.length && (current.length >= perBatch || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  });
  if (current.length) batches.push(current);

  const failed: Array<{ group: number; error: Error }> = [];
  await mapBounded(batches, options.concurrency ?? 16, async (indexes) => {
    const queries = indexes.flatMap((i) => groups[i] as BulkWrite[]);
    for (let attempt = 1; ; attempt++) {
      try {
        await client.batch(queries, { prepare: true, logged: false, isIdempotent: true });
        break;
      } catch (error) {
        if (attempt >= (options.attempts ?? 4)) {
          for (const group of indexes) failed.push({ group, error: error as Error });
          break;
        }
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt)); // an overloaded node: back off
      }
    }
    options.onBatch?.(indexes.length);
  });
  return failed;
}

/** Rough serialized size of some writes: enough to stay under the batch size limit. */
function estimateBytes(writes: readonly BulkWrite[]): number {
  let n = 0;
  for (const w of writes) {
    n += 24;
    for (const p of w.params)
      n +=
        typeof p === 'string'
          ? p.length * 2
          : Buffer.isBuffer(p)
            ? p.length
            : p && typeof p === 'object' && !(p instanceof Date)
              ? JSON.stringify(p).length * 2
              : 8;
  }
  return n;
}
