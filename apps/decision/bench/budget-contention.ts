/**
 * Budget claims under contention: a burst of offers on ONE campaign, claimed by several replicas at once.
 *
 *   npm run -s build && CASSANDRA_KEYSPACE=nunchi_dec node dist/apps/decision/bench/budget-contention.js
 *     [--replicas 3] [--in-flight 16] [--claims 600] [--budget 1000000]
 *
 * Each "replica" is its own Cassandra client (its own connections), with `in-flight` claims outstanding at
 * all times, as a decision replica deciding a burst has. Two modes on fresh campaigns:
 *   single — one conditional batch per offer (DecisionRepository.claimBudgets with one claim: the design before)
 *   group  — BudgetClaims: one conditional batch in flight per replica and campaign, carrying every claim
 *            that arrived meanwhile (the design now)
 * Reports claims/s, claim latency percentiles and the totals, which must equal the claims granted.
 */
import { pathToFileURL } from 'node:url';
import { connectCassandra, DecisionRepository, type CqlClient } from '@nunchi/cassandra';
import { loadConfig } from '@nunchi/config';
import { BudgetClaims } from '../src/budget-claims.js';

export interface ContentionFigures {
  mode: 'single' | 'group';
  replicas: number;
  inFlightPerReplica: number;
  claims: number;
  granted: number;
  /** budget used as stored in Cassandra afterwards: must equal granted */
  storedOffers: number;
  claimsPerSec: number;
  /** milliseconds */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function runBudgetContention(
  options: { replicas?: number; inFlight?: number; claims?: number; budget?: number } = {},
): Promise<ContentionFigures[]> {
  const replicas = options.replicas ?? 3;
  const inFlight = options.inFlight ?? 16;
  const total = options.claims ?? 600;
  const budget = options.budget ?? 1_000_000;
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const clients: CqlClient[] = [];
  for (let i = 0; i < replicas; i++)
    clients.push(await connectCassandra(config.cassandra, { applicationName: `bench-replica-${i}` }));
  const out: ContentionFigures[] = [];
  try {
    // Warm-up: statements prepared and connections open on every client before anything is timed.
    await Promise.all(
      clients.map((c, i) =>
        new DecisionRepository(c).claimBudgets(
          `bench-warmup-${Date.now()}-${i}`,
          [{ decisionId: 'w', cost: 1 }],
          {},
        ),
      ),
    );
    for (const mode of ['single', 'group'] as const) {
      const campaignId = `bench-${mode}-${Date.now()}`;
      const claimers = clients.map((c) => {
        const repo = new DecisionRepository(c);
        const group = new BudgetClaims(repo);
        return mode === 'group'
          ? (id: string) => group.claim(campaignId, id, 1, { maxOffers: budget })
          : async (id: string) =>
              (
                await repo.claimBudgets(campaignId, [{ decisionId: id, cost: 1 }], { maxOffers: budget })
              ).results.get(id)!;
      });
      let next = 0;
      let granted = 0;
      const latencies: number[] = [];
      const started = performance.now();
      await Promise.all(
        claimers.flatMap((claim, r) =>
          Array.from({ length: inFlight }, async () => {
            while (next < total) {
              const id = `d-${r}-${next++}`;
              const t = performance.now();
              if ((await claim(id)) === 'claimed') granted++;
              latencies.push(performance.now() - t);
            }
          }),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const at = (q: number) =>
        Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] * 10) / 10;
      const stored = await new DecisionRepository(clients[0]).budgetUsage(campaignId);
      out.push({
        mode,
        replicas,
        inFlightPerReplica: inFlight,
        claims: total,
        granted,
        storedOffers: stored.offers,
        claimsPerSec: Math.round(total / seconds),
        p50Ms: at(0.5),
        p99Ms: at(0.99),
        maxMs: at(1),
      });
    }
  } finally {
    await Promise.all(clients.map((c) => c.shutdown()));
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const figures = await runBudgetContention({
    replicas: arg('replicas'),
    inFlight: arg('in-flight'),
    claims: arg('claims'),
    budget: arg('budget'),
  });
  for (const f of figures) console.log(JSON.stringify(f));
}
