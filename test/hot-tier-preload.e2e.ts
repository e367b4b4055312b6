import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CustomerKeyRepository, historyRepository, writeBatched } from '@nunchi/cassandra';
import { partitionOf } from '@nunchi/contracts/core';
import type { AcceptedEvent } from '@nunchi/contracts';
import {
  contextDrained,
  contextOf,
  sendEvents,
  startContextReplica,
  type ContextStats,
  type Replica,
} from './support/context-tools.js';
import { runId, startHarness, waitFor, type Harness } from './support/harness.js';
import { startServices } from '../tools/services.js';

const HOUR = 3_600_000;
/** the default, which scripts/test.mjs turns off for the other tests */
const PRELOAD = { NUNCHI_PRELOAD_DAYS: '7' };
const DAY = 24 * HOUR;

/**
 * The hot tier's preload (apps/context/src/hot-tier-preload.ts, docs/context-model.md "The hot tier"): a context
 * replica that gains partitions loads the customers active there in the last NUNCHI_PRELOAD_DAYS days
 * before their next event, in the background while it already applies events — and stays exact doing so.
 */
describe('hot-tier preload: a context replica gaining partitions warms up with their recent customers', () => {
  let h: Harness;
  let replica: Replica;
  const run = runId();
  const port = Number(process.env['NUNCHI_CONTEXT_PORT'] ?? 3102);
  const purchase = (id: string, customerId: string, atMs: number) => ({
    id,
    type: 'purchase',
    channel: 'pos',
    occurredAt: new Date(atMs).toISOString(),
    customer: { id: customerId },
    storeId: `t${run}-s1`,
    payload: {
      amount: 10_000,
      currency: 'KRW',
      items: [{ sku: 'x1', category: 'beer', quantity: 2, unitPrice: 5_000 }],
    },
  });
  const fullShare = async () =>
    waitFor(
      'the replica to own every partition and finish its preload',
      async () => {
        const stats = await replica.stats();
        return stats.partitions.owned.length === h.config.nats.partitions &&
          stats.preload.pending.length === 0
          ? stats
          : undefined;
      },
      90_000,
    );

  before(async () => {
    h = await startHarness({}, { services: ['ingestion', 'decision', 'analytics'] });
    replica = await startContextReplica(port, PRELOAD);
    await fullShare();
  });

  after(async () => {
    await replica?.stop();
    await h?.close();
  });

  it('after a restart, customers active in the last days are in memory before their next event; older ones are not; events applied during the preload are counted once', async () => {
    const now = Date.now();
    const racing = Array.from({ length: 6 }, (_, i) => `t${run}-race-${i}`); // events wait for the new replica
    const quiet = Array.from({ length: 6 }, (_, i) => `t${run}-quiet-${i}`); // nothing until it has preloaded
    const old = `t${run}-old`; // last seen 10 days ago: outside the 7 days preloaded
    await sendEvents(h.nc, [
      ...[...racing, ...quiet].map((c) => purchase(`${c}-1`, c, now - HOUR)),
      purchase(`${old}-1`, old, now - 10 * DAY),
    ]);
    await contextDrained(h.nc, h.config.nats.partitions);

    await replica.stop();
    // A customer active yesterday whose data key is wrapped under an identity key no replica has (a rotation's
    // old key dropped too early): skipped and counted, and the preload goes on.
    const locked = `t${run}-locked`;
    const seeded = new CustomerKeyRepository(h.cql).seedWrite(
      locked,
      { id: 'gone', secret: `a-key-not-configured-${run}` },
      new Date(),
    );
    const history = historyRepository(h.cql, h.config.domain);
    const lockedEvent: AcceptedEvent = {
      id: `${locked}-1`,
      type: 'purchase',
      channel: 'pos',
      occurredAt: new Date(now - DAY).toISOString(),
      occurredAtMs: now - DAY,
      receivedAtMs: now - DAY,
      customerId: locked,
      payload: { amount: 1_000, currency: 'KRW', items: [] },
    };
    assert.deepEqual(
      await writeBatched(h.cql, [
        [
          seeded.write,
          ...history.historyWrites(
            [lockedEvent],
            seeded.key,
            h.config.domain.timeZone,
            partitionOf(locked, h.config.nats.partitions),
          ),
        ],
      ]),
      [],
    );
    // Accepted while no context replica runs: the next one applies them while it preloads the same customers.
    await sendEvents(
      h.nc,
      racing.flatMap((c) => [2, 3, 4].map((n) => purchase(`${c}-${n}`, c, now - HOUR + n * 60_000))),
    );
    replica = await startContextReplica(port, PRELOAD);
    const warm = await fullShare();
    assert.equal(warm.preload.days, 7);
    assert.equal(warm.preload.partitionsDone, h.config.nats.partitions, JSON.stringify(warm.preload));
    assert.equal(warm.preload.failed, 0);
    assert.ok(warm.preload.unreadable >= 1, JSON.stringify(warm.preload));
    await contextDrained(h.nc, h.config.nats.partitions);

    const before: ContextStats['cache'] = (await replica.stats()).cache;
    await sendEvents(h.nc, [...quiet.map((c) => purchase(`${c}-2`, c, now)), purchase(`${old}-2`, old, now)]);
    const after = await waitFor('the 7 events applied', async () => {
      const { cache } = await replica.stats();
      return cache.hits + cache.misses - before.hits - before.misses >= 7 ? cache : undefined;
    });
    assert.deepEqual(
      { hits: after.hits - before.hits, misses: after.misses - before.misses },
      { hits: quiet.length, misses: 1 },
      'the quiet customers were preloaded; the one last seen 10 days ago was not',
    );

    // Exact whatever raced: the preload's loads never fill over what the live path applied.
    for (const c of racing) assert.equal((await contextOf(replica.url, c)).ctx.all.d7.purchases, 4, c);
    for (const c of quiet) assert.equal((await contextOf(replica.url, c)).ctx.all.d7.purchases, 2, c);
    const oldView = await contextOf(replica.url, old);
    assert.deepEqual([oldView.ctx.all.d7.purchases, oldView.ctx.all.d30.purchases], [1, 2]);
  });

  it('reports the preload at /v1/context/stats and on /metrics', async () => {
    const metrics = await (await fetch(`${replica.url}/metrics`)).text();
    assert.match(metrics, /^nunchi_context_preloaded_total\S* [1-9]/m);
  });

  it("the other services read the recently active customers' data keys at start", async () => {
    // One more analytics process (it shares the durable consumers: nothing is counted twice).
    const analytics = await startServices({
      services: ['analytics'],
      env: { ...PRELOAD, NUNCHI_ANALYTICS_PORT: String(port + 12) },
      log: () => undefined,
    });
    try {
      const preloaded = await waitFor('the data keys preloaded', async () => {
        const text = await (await fetch(`${analytics.urls.analytics}/metrics`)).text();
        const n = Number(/^nunchi_data_keys_preloaded_total\S* (\d+)/m.exec(text)?.[1] ?? 0);
        return n >= 12 ? n : undefined; // this test's twelve customers active today, and others'
      });
      assert.ok(preloaded >= 12);
    } finally {
      await analytics.stop();
    }
  });
});
