/**
 * Analytics state against the real Cassandra: the write timestamps of libs/analytics-model make the stored
 * conversion the most informed one whatever order the writes land in, the earliest exposure defines a
 * customer's group, and a report scans back exactly what was written (docs/analytics.md).
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  conversionWriteTimestamp,
  EXPOSURE_SHARDS,
  exposureShardOf,
  exposureWriteTimestamp,
  type ExposureRow,
} from '@nunchi/analytics-model';
import {
  AnalyticsRepository,
  connectCassandra,
  type CqlClient,
  type StoredDecisionRow,
} from '@nunchi/cassandra';
import { loadConfig } from '@nunchi/config';

describe('analytics state in Cassandra (medium)', () => {
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const run = randomUUID().slice(0, 8);
  let client: CqlClient;
  let repo: AnalyticsRepository;
  const t0 = Date.parse('2026-12-01T01:00:00Z');

  before(async () => {
    client = await connectCassandra(config.cassandra, { applicationName: 'nunchi-medium-test' });
    repo = new AnalyticsRepository(client);
  });
  after(async () => {
    await client?.shutdown();
  });

  const rowsOf = async (campaignId: string, day: string) => {
    const rows: StoredDecisionRow[] = [];
    await repo.forEachDecisionRow(campaignId, day, (r) => rows.push(r));
    return rows;
  };

  it('a conversion computed from fewer purchases, written last, does not overwrite one from more', async () => {
    const key = { campaignId: `m${run}-conv`, day: '2026-12-01', pseudonym: '~c1', decisionId: 'd1' };
    await repo.recordDecision({
      ...key,
      decidedAtMs: t0,
      hour: 10,
      outcome: 'offer',
      offerId: 'o',
      value: 100,
      windowDays: 7,
    });
    await repo.writeDecisionConversion(key, true, 30_000, conversionWriteTimestamp(2));
    await repo.writeDecisionConversion(key, true, 10_000, conversionWriteTimestamp(1)); // a stale computation
    await repo.writeDecisionConversion(key, false, 0, conversionWriteTimestamp(0)); // staler still
    await repo.recordResponse(key, 'redeemed');
    await repo.recordResponse(key, 'redeemed');
    const [row] = await rowsOf(key.campaignId, key.day);
    assert.deepEqual(
      [row.outcome, row.offerId, row.converted, row.revenue, row.redeemed, row.accepted],
      ['offer', 'o', true, 30_000, true, null],
    );
  });

  it("the earliest exposure defines the customer's group and window, in whichever order decisions land", async () => {
    const campaignId = `m${run}-exp`;
    const pseudonym = '~c2';
    const shard = exposureShardOf(pseudonym);
    const later = {
      campaignId,
      shard,
      pseudonym,
      firstAtMs: t0 + 3_600_000,
      group: 'holdout' as const,
      offerId: 'b',
      windowDays: 3,
    };
    const earlier = { ...later, firstAtMs: t0, group: 'treatment' as const, offerId: 'a', windowDays: 7 };
    await repo.recordExposure(earlier, exposureWriteTimestamp(earlier.firstAtMs, 0));
    await repo.recordExposure(later, exposureWriteTimestamp(later.firstAtMs, 0)); // lands last, loses
    assert.deepEqual(await repo.exposureOf(campaignId, shard, pseudonym), { firstAtMs: t0, windowDays: 7 });
    // a conversion computed for the later exposure (more purchases, even) loses to the earlier one's
    await repo.writeExposureConversion(
      campaignId,
      shard,
      pseudonym,
      true,
      5_000,
      exposureWriteTimestamp(t0, 1),
    );
    await repo.writeExposureConversion(
      campaignId,
      shard,
      pseudonym,
      true,
      9_000,
      exposureWriteTimestamp(later.firstAtMs, 3),
    );
    const rows: ExposureRow[] = [];
    await repo.forEachExposure(campaignId, EXPOSURE_SHARDS, (r) => rows.push(r));
    assert.deepEqual(rows, [
      { pseudonym, group: 'treatment', offerId: 'a', converted: true, revenue: 5_000 },
    ]);
  });

  it("purchases and a customer's decisions read back by time range", async () => {
    const pseudonym = `~m${run}-c3`;
    await repo.recordPurchase(pseudonym, t0 + 1_000, 'p1', 100);
    await repo.recordPurchase(pseudonym, t0 + 2_000, 'p2', 200);
    await repo.recordPurchase(pseudonym, t0 + 2_000, 'p2', 200); // redelivered
    assert.deepEqual(
      (await repo.purchasesBetween(pseudonym, t0 + 1_000, t0 + 5_000)).map((p) => p.amount),
      [200],
    );
    const key = { campaignId: `m${run}-cd`, day: '2026-12-01', pseudonym, decisionId: 'd3' };
    await repo.recordDecision({
      ...key,
      decidedAtMs: t0,
      hour: 10,
      outcome: 'control',
      offerId: 'o',
      windowDays: 7,
    });
    await repo.recordDecision({
      ...key,
      decisionId: 'd4',
      decidedAtMs: t0,
      hour: 10,
      outcome: 'late',
      windowDays: 7,
    });
    const found = await repo.customerDecisionsBetween(pseudonym, t0 - 1, t0 + 1);
    assert.deepEqual(
      found.map((d) => [d.decisionId, d.outcome, d.campaignId]),
      [['d3', 'control', key.campaignId]],
    ); // late decisions convert nothing: not indexed
    assert.deepEqual(await repo.daysOf(key.campaignId, 10), ['2026-12-01']);
    assert.ok((await repo.campaignIds()).includes(key.campaignId));
  });
});
