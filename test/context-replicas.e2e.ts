/**
 * Two context replicas side by side, and one of them killed mid-stream: partition ownership must never
 * lose or double an update, and redelivery after the kill must leave nothing half-applied.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, type NunchiConfig } from '@nunchi/config';
import { localDay } from '@nunchi/context-model';
import { partitionOf, Streams } from '@nunchi/contracts/core';
import { connectNats } from '@nunchi/messaging';
import { startServices, type RunningServices } from '../tools/services.js';
import { enrichedOpener } from './support/enriched.js';
import { Resources } from '../apps/cli/src/resources.js';
import { CONTEXT_GROUP } from '../apps/context/src/events.controller.js';
import { carryWholeContext } from './support/decision.js';
import { migrateStreams, runId, waitFor } from './support/harness.js';
import {
  contextOf,
  sendEvents,
  startContextReplica,
  storedTotals,
  type Replica,
} from './support/context-tools.js';

/** A short lease so takeover after a kill is quick: about 1.25 × TTL. */
const LEASE_TTL_MS = 3_000;

describe('context replicas: partition ownership', () => {
  let config: NunchiConfig;
  let nc: NatsConnection;
  let cql: CqlClient;
  /** ENRICHED's personal part is sealed under the customer's data key: opened as decision opens it */
  const openEnriched = (data: Uint8Array) => enrichedOpener(cql, config)(data);
  let ingestion: RunningServices;
  let resources: Resources | undefined;
  let endWholeContext: (() => Promise<void>) | undefined;
  const replicas: Replica[] = [];
  const basePort = Number(process.env['NUNCHI_CONTEXT_PORT'] ?? 3102) + 100;
  const env = { NUNCHI_LEASE_TTL_MS: String(LEASE_TTL_MS), OTEL_TRACES_EXPORTER: 'none' };

  before(async () => {
    config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
    nc = await connectNats(config.nats, 'nunchi-test');
    await migrateStreams();
    cql = await connectCassandra(config.cassandra);
    ingestion = await startServices({ services: ['ingestion'], env, log: () => undefined });
    // The tests read each snapshot's recent events on ENRICHED; the replicas, started later, load this campaign.
    resources = new Resources();
    endWholeContext = await carryWholeContext(resources);
  });

  after(async () => {
    await endWholeContext?.();
    await resources?.close();
    await Promise.all(replicas.map((r) => r.stop()));
    await ingestion?.stop();
    await nc?.drain();
    await cql?.shutdown();
  });

  /** Waits until the given replicas own disjoint partitions that cover all of them, in fair shares. */
  async function balanced(rs: Replica[]): Promise<number[][]> {
    return waitFor(
      `${rs.length} replica(s) to split the partitions`,
      async () => {
        const owned = await Promise.all(rs.map(async (r) => (await r.stats()).partitions.owned));
        const all = owned.flat().sort((a, b) => a - b);
        const fair = owned.every((o) => Math.abs(o.length - config.nats.partitions / rs.length) < 1);
        return fair && all.length === config.nats.partitions && new Set(all).size === all.length
          ? owned
          : undefined;
      },
      8 * LEASE_TTL_MS,
    );
  }

  /** `perCustomer` purchases of 1,000 KRW for each of `customers` customers, interleaved across customers. */
  function stream(run: string, customers: number, perCustomer: number) {
    const events = [];
    const now = Date.now();
    for (let k = 0; k < perCustomer; k++) {
      for (let c = 0; c < customers; c++) {
        events.push({
          id: `${run}-c${c}-e${k}`,
          type: 'purchase',
          channel: 'pos',
          occurredAt: new Date(now - (perCustomer - k) * 1_000).toISOString(),
          customer: { id: `${run}-c${c}` },
          storeId: `${run}-s${c % 7}`,
          payload: {
            amount: 1_000,
            currency: 'KRW',
            items: [{ sku: 'x', category: `cat${k % 5}`, quantity: 1, unitPrice: 1_000 }],
          },
        });
      }
    }
    return events;
  }

  /** Every customer's stored totals equal what was sent: each event applied exactly once, none half-applied. */
  async function assertExact(
    run: string,
    customers: number,
    perCustomer: number,
    reader: Replica,
  ): Promise<void> {
    const ids = Array.from({ length: customers }, (_, c) => `${run}-c${c}`);
    await waitFor(
      'every event applied',
      async () => {
        for (const id of ids) if ((await storedTotals(cql, id)).events < perCustomer) return undefined;
        return true;
      },
      60_000,
    );
    const wrong: string[] = [];
    for (const id of ids) {
      const stored = await storedTotals(cql, id);
      if (
        stored.events !== perCustomer ||
        stored.spend !== perCustomer * 1_000 ||
        stored.purchases !== perCustomer
      )
        wrong.push(`${id}: ${JSON.stringify(stored)}`);
      const month = localDay(Date.now() - 60_000, 'Asia/Seoul').slice(0, 7);
      const rows = (
        await cql.execute(
          'SELECT event_id FROM customer_events WHERE customer_id = ? AND month = ?',
          [id, month],
          { prepare: true },
        )
      ).rowLength;
      if (rows !== perCustomer) wrong.push(`${id}: ${rows} event rows`);
    }
    assert.deepEqual(wrong, [], 'customers whose stored context is not exactly what was sent');
    // The snapshot served (hot tier on the owner, Cassandra elsewhere) agrees.
    for (const id of ids.slice(0, 20))
      assert.equal((await contextOf(reader.url, id)).ctx.all.d7.events, perCustomer, id);
  }

  /**
   * This run's ENRICHED messages: how many per event id (must be exactly one each), and the events whose
   * snapshot is not what in-order application gives: the k-th event of a customer must see k events in
   * `all.d7` and itself first in `recent`. Two replicas interleaving one partition, or a hot tier missing
   * another replica's writes, breaks that.
   */
  async function enriched(
    run: string,
    sinceMs: number,
  ): Promise<{ counts: Map<string, number>; wrong: string[] }> {
    const consumer = await jetstream(nc).consumers.get(Streams.ENRICHED.name, {
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(sinceMs).toISOString(),
    });
    const counts = new Map<string, number>();
    const wrong: string[] = [];
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 1_000, expires: 2_000 });
      let n = 0;
      for await (const m of batch) {
        n++;
        const { event, ctx } = await openEnriched(m.data);
        if (!event.id.startsWith(`${run}-`)) continue;
        counts.set(event.id, (counts.get(event.id) ?? 0) + 1);
        const k = Number(/-e(\d+)$/.exec(event.id)![1]);
        if (ctx.all.d7.events !== k + 1 || ctx.recent[0]?.id !== event.id)
          wrong.push(`${event.id}: d7.events=${ctx.all.d7.events}, recent[0]=${ctx.recent[0]?.id}`);
      }
      if (n === 0) break;
    }
    return { counts, wrong };
  }

  it('two replicas split the partitions, and together apply every event exactly once', async () => {
    replicas.push(await startContextReplica(basePort, env), await startContextReplica(basePort + 1, env));
    const owned = await balanced(replicas);
    assert.deepEqual(
      owned.map((o) => o.length),
      [config.nats.partitions / 2, config.nats.partitions / 2],
    );

    const run = `t${runId()}`;
    const started = Date.now();
    await sendEvents(nc, stream(run, 100, 8));
    await assertExact(run, 100, 8, replicas[1]);
    const { counts, wrong } = await enriched(run, started - 1_000);
    assert.equal(counts.size, 800);
    assert.ok(
      [...counts.values()].every((n) => n === 1),
      'each event enriched exactly once',
    );
    assert.deepEqual(wrong.slice(0, 10), [], 'snapshots that missed earlier events of the customer');
  });

  it('a replica killed mid-stream: the survivor takes its partitions, and every event is applied exactly once', async () => {
    const [victim, survivor] = replicas as [Replica, Replica];
    const run = `t${runId()}`;
    const events = stream(run, 150, 16); // 2,400 events
    const started = Date.now();
    const sending = sendEvents(nc, events, 16);
    // Kill while events are flowing and the victim has applied some of its share.
    await waitFor(
      'the stream to be under way',
      async () => ((await storedTotals(cql, `${run}-c0`)).events >= 3 ? true : undefined),
      30_000,
    );
    const logsBefore = survivor.logs.length;
    // Frozen first, so the kill finds messages delivered to it and not yet acknowledged (a replica that happens
    // to be caught up at the instant of a kill leaves nothing to redeliver, and the takeover path goes untested).
    const victimOwned = (await victim.stats()).partitions.owned;
    victim.child.kill('SIGSTOP');
    await waitFor(
      'the frozen victim to hold unacknowledged messages',
      async () => ((await ackPendingOf(victimOwned)) > 0 ? true : undefined),
      30_000,
    );
    await victim.kill();
    await sending;

    const owned = await waitFor(
      'the survivor to own every partition',
      async () => {
        const s = await survivor.stats();
        return s.partitions.owned.length === config.nats.partitions ? s.partitions.owned : undefined;
      },
      8 * LEASE_TTL_MS,
    );
    assert.equal(owned.length, config.nats.partitions);
    assert.ok(
      survivor.logs.slice(logsBefore).some((l) => /acquired/.test(l)),
      'the survivor logged its takeover',
    );
    await assertExact(run, 150, 16, survivor);
    const { counts, wrong } = await enriched(run, started - 1_000);
    assert.equal(counts.size, events.length, 'every event reached ENRICHED');
    assert.ok(
      [...counts.values()].every((n) => n === 1),
      'ENRICHED holds each event once (msgID deduplication)',
    );
    assert.deepEqual(wrong.slice(0, 10), [], 'snapshots that missed earlier events of the customer');
    assert.ok(
      survivor.logs.slice(logsBefore).some((l) => /redelivering from stream sequence/.test(l)),
      "the survivor redelivered the victim's unacknowledged messages at once",
    );
  });

  it('a replica joining takes half, handed over without a gap', async () => {
    const joiner = await startContextReplica(basePort + 2, env);
    replicas.push(joiner);
    const live = [replicas[1], joiner];
    await balanced(live);
    const run = `t${runId()}`;
    await sendEvents(nc, stream(run, 60, 5));
    await assertExact(run, 60, 5, joiner);
  });
  /** Messages delivered to the context consumers of these partitions and not yet acknowledged. */
  async function ackPendingOf(partitions: number[]): Promise<number> {
    const jsm = await jetstreamManager(nc);
    const infos = await Promise.all(
      partitions.map((p) => jsm.consumers.info(Streams.EVENTS.name, `${CONTEXT_GROUP}-p${p}`)),
    );
    return infos.reduce((sum, info) => sum + info.num_ack_pending, 0);
  }

  /** Customer ids of this run whose partitions are among `owned`. */
  function customersIn(run: string, owned: number[], count: number): string[] {
    const ids: string[] = [];
    for (let i = 0; ids.length < count; i++) {
      const id = `${run}-x${i}`;
      if (owned.includes(partitionOf(id, config.nats.partitions))) ids.push(id);
    }
    return ids;
  }

  /**
   * `perCustomer` purchases of 1,000 KRW for each of the given customers, interleaved; event ids are
   * `<event prefix>-e<k>`, the prefix the customer id unless `prefixOf` says otherwise.
   */
  function purchasesOf(ids: string[], perCustomer: number, prefixOf = (id: string) => id) {
    const now = Date.now();
    const events = [];
    for (let k = 0; k < perCustomer; k++)
      for (const id of ids)
        events.push({
          id: `${prefixOf(id)}-e${k}`,
          type: 'purchase',
          channel: 'pos',
          occurredAt: new Date(now - (perCustomer - k) * 1_000).toISOString(),
          customer: { id },
          storeId: 'store-1',
          payload: {
            amount: 1_000,
            currency: 'KRW',
            items: [{ sku: 'x', category: `cat${k % 5}`, quantity: 1, unitPrice: 1_000 }],
          },
        });
    return events;
  }

  const isLive = (r: Replica) => r.child.exitCode === null && r.child.signalCode === null;

  it('a replica killed between its write and the acknowledgement: the next owner counts the event once', async () => {
    const run = `t${runId()}`;
    const owners = replicas.filter(isLive);
    // A replica that dies right after storing the event `<run>-crash-e2` (NUNCHI_FAILPOINT), before acknowledging it.
    const crasher = await startContextReplica(basePort + 3, {
      ...env,
      NUNCHI_FAILPOINT: `context.after-write=${run}-crash-e2`,
    });
    replicas.push(crasher);
    await balanced([...owners, crasher]);
    const ids = customersIn(run, (await crasher.stats()).partitions.owned, 6);
    // The first customer's events carry the ids the failpoint knows.
    const events = purchasesOf(ids, 6, (id) => (id === ids[0] ? `${run}-crash` : id));

    const started = Date.now();
    await sendEvents(nc, events);
    await waitFor(
      'the crasher to die at its failpoint',
      () => Promise.resolve(crasher.child.signalCode === 'SIGKILL' ? true : undefined),
      30_000,
    );
    await waitFor(
      'the survivors to apply every event',
      async () => {
        for (const id of ids) if ((await storedTotals(cql, id)).events < 6) return undefined;
        return true;
      },
      60_000,
    );
    for (const id of ids)
      assert.deepEqual(await storedTotals(cql, id), { events: 6, spend: 6_000, purchases: 6, days: 1 }, id);
    const { counts, wrong } = await enriched(run, started - 1_000);
    assert.equal(counts.size, 36, 'every event reached ENRICHED');
    assert.ok(
      [...counts.values()].every((n) => n === 1),
      'ENRICHED holds each event once',
    );
    assert.deepEqual(wrong.slice(0, 10), [], 'snapshots that missed earlier events of the customer');
  });

  it('a stalled owner that wakes up after losing its lease stops, and its late writes change nothing', async () => {
    const run = `t${runId()}`;
    const live = replicas.filter(isLive);
    await balanced(live);
    const [sleeper, ...others] = live as [Replica, ...Replica[]];
    const sleeperOwned = (await sleeper.stats()).partitions.owned;
    const ids = customersIn(run, sleeperOwned, 8);
    const events = purchasesOf(ids, 10);
    const started = Date.now();
    // Half the events reach the sleeper; then it hangs (SIGSTOP) in the middle of the stream.
    await sendEvents(nc, events.slice(0, 40));
    process.kill(sleeper.child.pid!, 'SIGSTOP');
    await sendEvents(nc, events.slice(40));
    // Its leases expire; the others take its partitions over from the ack floor.
    await waitFor(
      "the others to take the stalled replica's partitions",
      async () => {
        const owned = (await Promise.all(others.map(async (r) => (await r.stats()).partitions.owned))).flat();
        return sleeperOwned.every((p) => owned.includes(p)) ? true : undefined;
      },
      8 * LEASE_TTL_MS,
    );
    await waitFor(
      'every event applied by the new owners',
      async () => {
        for (const id of ids) if ((await storedTotals(cql, id)).events < 10) return undefined;
        return true;
      },
      60_000,
    );
    const logsBefore = sleeper.logs.length;
    process.kill(sleeper.child.pid!, 'SIGCONT');
    // Awake: it finds its leases gone and stops those partitions instead of consuming or writing on.
    await waitFor(
      'the woken replica to give up the partitions it lost',
      () =>
        Promise.resolve(
          sleeper.logs.slice(logsBefore).some((l) => /lost|expired/.test(l)) ? true : undefined,
        ),
      8 * LEASE_TTL_MS,
    );
    await balanced(live);
    for (const id of ids)
      assert.deepEqual(
        await storedTotals(cql, id),
        { events: 10, spend: 10_000, purchases: 10, days: 1 },
        id,
      );
    const { counts, wrong } = await enriched(run, started - 1_000);
    assert.equal(counts.size, 80);
    assert.ok(
      [...counts.values()].every((n) => n === 1),
      'ENRICHED holds each event once',
    );
    assert.deepEqual(wrong.slice(0, 10), [], 'snapshots that missed earlier events of the customer');
  });
});
