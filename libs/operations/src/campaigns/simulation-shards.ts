/**
 * Merging the shards of a simulation (libs/rules simulation-merge.ts explains why it is exact): the
 * fixed-point test on the digests of the budget checks each shard was given, and the next round's checks.
 */
import { createHash } from 'node:crypto';
import {
  anyRefused,
  checkShardSet,
  mergeReports,
  othersOf,
  type BudgetCheck,
  type MergedSimulation,
  type OthersChecks,
  type ShardResult,
} from '@nunchi/rules';

/** A digest of the others' checks (canonical: campaigns in id order). */
export function othersDigest(others: OthersChecks): string {
  const canonical = (m: Record<string, BudgetCheck[]>) =>
    Object.keys(m)
      .sort()
      .filter((k) => m[k].length > 0)
      .map((k) => [k, m[k].map((c) => [c.at, c.cost, c.maxOffers ?? null, c.maxCost ?? null])]);
  return createHash('sha256')
    .update(JSON.stringify([canonical(others.world), canonical(others.baseline)]))
    .digest('hex');
}

/** Merges the shards of one simulation; see the file comment for when it is exact. */
export function mergeShards(results: readonly ShardResult[]): MergedSimulation {
  checkShardSet(results);
  const ordered = [...results].sort((a, b) => a.shard.index - b.shard.index);
  const others = ordered.map((r) => othersOf(ordered, r.shard.index));
  const fixedPoint = ordered.every((r, i) => r.given === othersDigest(others[i]));
  const noneRefused =
    ordered.every((r) => r.refused === 0) &&
    !anyRefused(ordered.flatMap((r) => r.checks.world)) &&
    !anyRefused(ordered.flatMap((r) => r.checks.baseline));
  const exact = fixedPoint || noneRefused;
  return { report: mergeReports(ordered), exact, ...(exact ? {} : { next: others }) };
}
