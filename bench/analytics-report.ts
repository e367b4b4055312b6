/**
 * What one campaign report costs (libs/operations CampaignResults: the figures of GET /v1/stats, the
 * console and `nunchi stats`): writes a synthetic campaign of DECISIONS decisions over DAYS days (half
 * offers, a tenth control, one exposure per customer), then computes its report ROUNDS times with the
 * cache defeated, and prints wall time and this process's CPU per report and per row scanned.
 *
 *   npm run build && node dist/bench/analytics-report.js                    (50,000 decisions; ~1-2 minutes)
 *   BENCH_DECISIONS=2000 node dist/bench/analytics-report.js               (a smoke test)
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import {
  conversionWriteTimestamp,
  exposureShardOf,
  exposureWriteTimestamp,
  EXPOSURE_SHARDS,
} from '@nunchi/analytics-model';
import { AnalyticsRepository, CampaignRepository, connectCassandra } from '@nunchi/cassandra';
import { loadConfig } from '@nunchi/config';
import { CampaignResults, CampaignSettings, forEachBounded } from '@nunchi/operations';

const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 50_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function main(): Promise<void> {
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const client = await connectCassandra(config.cassandra, { applicationName: 'nunchi-bench' });
  try {
    const repo = new AnalyticsRepository(client);
    const campaignId = `bench-${randomUUID().slice(0, 8)}`;
    const t0 = Date.parse('2026-11-01T01:00:00Z');
    const customers = Math.ceil(DECISIONS / 2);
    const writeStarted = performance.now();
    await forEachBounded(
      Array.from({ length: DECISIONS }, (_, i) => i),
      64,
      async (i) => {
        const pseudonym = `~c${i % customers}`;
        const dayIndex = i % DAYS;
        const decidedAtMs = t0 + dayIndex * 86_400_000 + (i % 3_600) * 1_000;
        const outcome = i % 10 === 0 ? 'control' : i % 10 < 6 ? 'offer' : 'late';
        const day = new Date(decidedAtMs + 9 * 3_600_000).toISOString().slice(0, 10);
        const key = { campaignId, day, pseudonym, decisionId: `d${i}` };
        await repo.recordDecision({
          ...key,
          decidedAtMs,
          hour: 10,
          outcome,
          offerId: `o${i % 3}`,
          value: 1_000,
          windowDays: 7,
        });
        if (outcome === 'late') return;
        const converted = i % 7 === 0;
        await repo.writeDecisionConversion(
          key,
          converted,
          converted ? 20_000 : 0,
          conversionWriteTimestamp(converted ? 1 : 0),
        );
        const shard = exposureShardOf(pseudonym);
        const group = outcome === 'offer' ? 'treatment' : 'holdout';
        await repo.recordExposure(
          {
            campaignId,
            shard,
            pseudonym,
            firstAtMs: decidedAtMs,
            group,
            offerId: `o${i % 3}`,
            windowDays: 7,
          },
          exposureWriteTimestamp(decidedAtMs, 0),
        );
        await repo.writeExposureConversion(
          campaignId,
          shard,
          pseudonym,
          converted,
          converted ? 20_000 : 0,
          exposureWriteTimestamp(decidedAtMs, 1),
        );
      },
    );
    const writeMs = performance.now() - writeStarted;
    let rows = 0;
    for (const day of await repo.daysOf(campaignId, 1_000))
      await repo.forEachDecisionRow(campaignId, day, () => rows++);
    let exposures = 0;
    await repo.forEachExposure(campaignId, EXPOSURE_SHARDS, () => exposures++);

    const walls: number[] = [];
    const cpus: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // a new CampaignResults each round: nothing cached
      const results = new CampaignResults(
        repo,
        new CampaignSettings(new CampaignRepository(client)),
        config.domain.timeZone,
      );
      const cpu = process.cpuUsage();
      const started = performance.now();
      const report = await results.report(campaignId);
      walls.push(performance.now() - started);
      const used = process.cpuUsage(cpu);
      cpus.push((used.user + used.system) / 1_000);
      if (!report || report.decisions !== DECISIONS)
        throw new Error(`report counted ${report?.decisions} of ${DECISIONS} decisions`);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const scanned = rows + exposures;
    console.log(
      `campaign ${campaignId}: ${DECISIONS} decisions over ${DAYS} days, ${rows} decision rows + ${exposures} exposure rows`,
    );
    console.log(
      `written in ${(writeMs / 1_000).toFixed(1)} s (${Math.round(DECISIONS / (writeMs / 1_000))} decisions/s through the repository, 64 in flight)`,
    );
    console.log(
      `report, median of ${ROUNDS}: ${median(walls).toFixed(0)} ms wall, ${median(cpus).toFixed(0)} ms CPU of this process`,
    );
    console.log(
      `per 1,000 rows scanned: ${((median(walls) / scanned) * 1_000).toFixed(1)} ms wall, ${((median(cpus) / scanned) * 1_000).toFixed(1)} ms CPU`,
    );
  } finally {
    await client.shutdown();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
