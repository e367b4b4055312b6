/**
 * The reads of simulation on history against the real Cassandra: the shards of the ring (token ranges of
 * the month index) hold every customer exactly once; simulationHistory returns the period's events and
 * only what was stored before its first day; periodBodies, daysBefore and profileRows read many customers a
 * request.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  connectCassandra,
  customerStores,
  historyRepository,
  mapBounded,
  writeBatched,
  type ContextRepository,
  type CqlClient,
} from '@nunchi/cassandra';
import { loadConfig } from '@nunchi/config';
import type { AcceptedEvent } from '@nunchi/contracts';

describe('event history reads for simulation', () => {
  let client: CqlClient;
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const tz = config.domain.timeZone;
  const run = randomUUID().slice(0, 8);
  // A year of its own in the past (the table is shared with other tests); months 03 and 04.
  const year = 1990 + (Number.parseInt(run.slice(0, 4), 16) % 9);
  const at = (day: string, hour: number) =>
    Date.parse(`${year}-${day}T${String(hour).padStart(2, '0')}:00:00+09:00`);
  const event = (customerId: string, k: number, occurredAtMs: number): AcceptedEvent => ({
    id: `${run}-${customerId}-${k}`,
    type: 'purchase',
    channel: 'pos',
    occurredAt: new Date(occurredAtMs).toISOString(),
    occurredAtMs,
    receivedAtMs: occurredAtMs,
    customerId,
    storeId: 'bundang-01',
    payload: {
      amount: 1000 * (k + 1),
      currency: 'KRW',
      items: [{ sku: 's', category: 'snacks', quantity: 1, unitPrice: 1000 * (k + 1) }],
    },
  });
  const customers = Array.from({ length: 150 }, (_, i) => `${run}-c${i}`);
  let repo: ContextRepository;
  /** what simulation reads of a customer: the period's events, and what came before its first day */
  const simulationHistory = async (c: string, months: string[], day: string, endMs: number) => ({
    events: await repo.periodEvents(c, months, day, endMs, tz),
    ...(await repo.historyBefore(c, months, day, tz)),
  });

  before(async () => {
    client = await connectCassandra(config.cassandra, { applicationName: 'nunchi-medium-test' });
    repo = historyRepository(client, { ...config.domain, eventTtlDays: 1 });
    const groups = await mapBounded(customers, 16, async (c) =>
      repo.historyWrites(
        [
          event(c, 0, at('03-10', 12)), // before the window
          event(c, 1, at('03-15', 12)), // in it
          event(c, 2, at('03-20', 12)), // in it
          event(c, 3, at('04-10', 12)), // another month
        ],
        await repo.dataKey(c),
        tz,
      ),
    );
    const failed = await writeBatched(client, groups, { groupsPerBatch: 1, concurrency: 16 });
    assert.deepEqual(failed, []);
  });
  after(async () => {
    await client?.shutdown();
  });

  it('the shards of the ring hold every customer exactly once, with its month buckets newest first', async () => {
    const mine = (m: Map<string, string[]>) => [...m].filter(([id]) => id.startsWith(run));
    const whole = mine(await repo.customersInRanges(repo.shardRanges(0, 1)));
    assert.equal(whole.length, customers.length);
    for (const [, months] of whole) assert.deepEqual(months, [`${year}-04`, `${year}-03`]);
    const parts = [];
    for (let i = 0; i < 3; i++) {
      let ranges = 0;
      const part = mine(
        await repo.customersInRanges(repo.shardRanges(i, 3), (done, total) => {
          ranges = total;
          assert.ok(done <= total);
        }),
      );
      assert.ok(ranges >= 1);
      assert.ok(part.length > 0, `shard ${i} of 3 has customers`);
      parts.push(...part.map(([id]) => id));
    }
    assert.equal(parts.length, customers.length, 'no customer in two shards');
    assert.deepEqual(new Set(parts), new Set(customers));
  });

  it("periodEvents and historyBefore: the period's events, and the rollups and events before its first day", async () => {
    const c = customers[0];
    const history = await simulationHistory(c, [`${year}-04`, `${year}-03`], `${year}-03-12`, at('03-25', 0));
    assert.deepEqual(history.events.map((e) => e.id).sort(), [`${run}-${c}-1`, `${run}-${c}-2`]);
    assert.deepEqual([...new Set(history.rows.map((r) => r.day))], [`${year}-03-10`]);
    assert.deepEqual(
      history.recent.map((r) => r.id),
      [`${run}-${c}-0`],
    );
  });

  it("periodBodies: many customers' events a request, by customer, as each customer's own read gives them", async () => {
    const months = [`${year}-04`, `${year}-03`];
    const day = `${year}-03-12`;
    const endMs = at('04-20', 0);
    // 150 customers (six requests), one of them asked with no month in the period (not read, not in the map)
    const asked = customers.map((customerId, i) => ({
      customerId,
      months: i === 7 ? [`${year}-01`] : months,
    }));
    const bodies = await repo.periodBodies(asked, day, endMs, tz);
    assert.equal(bodies.size, customers.length - 1);
    assert.equal(bodies.has(customers[7]), false);
    for (const c of [customers[0], customers[26], customers[149]]) {
      const batched = await repo.openBodies(c, bodies.get(c)!);
      const alone = await repo.periodEvents(c, months, day, endMs, tz);
      assert.deepEqual(batched.map((e) => e.id).sort(), [`${run}-${c}-1`, `${run}-${c}-2`, `${run}-${c}-3`]);
      assert.deepEqual(
        batched.sort((a, b) => a.occurredAtMs - b.occurredAtMs),
        alone.sort((a, b) => a.occurredAtMs - b.occurredAtMs),
      );
    }
  });

  it("daysBefore and profileRows: many customers' rows a request, each opened as its own read opens it", async () => {
    const months = [`${year}-04`, `${year}-03`];
    const day = `${year}-03-12`;
    const some = customers.slice(0, 60); // three requests of days, two of profiles
    const days = await repo.daysBefore(some, day);
    assert.equal(days.size, some.length, 'each has a row before the period (03-10)');
    for (const c of [some[0], some[59]])
      assert.deepEqual(
        await repo.historyBefore(c, months, day, tz, days.get(c)),
        await repo.historyBefore(c, months, day, tz),
      );
    const { customers: profiles } = customerStores(client, { ...config.domain, eventTtlDays: 1 });
    const withProfile = [some[1], some[55]];
    for (const [i, id] of withProfile.entries())
      await profiles.upsert(
        { id, age: 30 + i, region: 'Bundang', creditTier: 'A', attributes: {} },
        new Date(),
      );
    const rows = await profiles.profileRows(some);
    assert.deepEqual([...rows.keys()].sort(), [...withProfile].sort());
    for (const id of [...withProfile, some[2]])
      assert.deepEqual(await profiles.openProfileRow(id, rows.get(id)), await profiles.get(id));
    assert.equal(await profiles.openProfileRow(some[2], rows.get(some[2])), null);
    assert.equal((await profiles.openProfileRow(some[55], rows.get(some[55])))?.age, 31);
  });

  it('historyBefore reads the events before the period from the months that hold them, beyond the rows too', async () => {
    // One customer whose earlier events are a month back (none earlier in the first month: that month's
    // read is skipped, the daily rows count none there), one whose earlier event is past the rows' horizon.
    const earlier = `${run}-earlier`;
    const ancient = `${run}-ancient`;
    const ancientMs = Date.parse(`${year - 1}-01-15T12:00:00+09:00`);
    const groups = [
      repo.historyWrites(
        [event(earlier, 0, at('02-20', 12)), event(earlier, 1, at('03-15', 12))],
        await repo.dataKey(earlier),
        tz,
      ),
      repo.historyWrites(
        [event(ancient, 0, ancientMs), event(ancient, 1, at('03-15', 12))],
        await repo.dataKey(ancient),
        tz,
      ),
    ];
    assert.deepEqual(await writeBatched(client, groups, { groupsPerBatch: 1, concurrency: 4 }), []);
    const one = await simulationHistory(
      earlier,
      [`${year}-03`, `${year}-02`],
      `${year}-03-12`,
      at('03-25', 0),
    );
    assert.deepEqual(
      one.events.map((e) => e.id),
      [`${run}-${earlier}-1`],
    );
    assert.deepEqual(
      one.recent.map((r) => r.id),
      [`${run}-${earlier}-0`],
    );
    const old = await simulationHistory(
      ancient,
      [`${year}-03`, `${year - 1}-01`],
      `${year}-03-12`,
      at('03-25', 0),
    );
    assert.deepEqual(old.rows, [], 'a day past the horizon is not among the rows');
    assert.deepEqual(
      old.recent.map((r) => r.id),
      [`${run}-${ancient}-0`],
    );
  });
});
