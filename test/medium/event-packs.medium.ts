/**
 * Packed weeks of history (`nunchi history pack`, migration 0024) against the real Cassandra: a simulation
 * that reads a customer's closed weeks from their packs decides exactly as the one that reads them row by row;
 * a late event makes its week's pack stale (read row by row, the event counted) until packed again; the
 * erasure removes the packs with the customer.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  connectCassandra,
  CustomerKeyRepository,
  ErasureRepository,
  mapBounded,
  weekOf,
  weeksBetween,
  writeBatched,
  type CqlClient,
} from '@nunchi/cassandra';
import { identityKeys, loadConfig } from '@nunchi/config';
import { addDays, localDay } from '@nunchi/context-model';
import type { AcceptedEvent } from '@nunchi/contracts';
import {
  campaignPorts,
  packHistory,
  simulateCampaign,
  type CampaignPorts,
  type SimulationTarget,
} from '@nunchi/operations';

describe('packed weeks of history for simulation', () => {
  let client: CqlClient;
  let ports: CampaignPorts;
  const config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const tz = config.domain.timeZone;
  const run = randomUUID().slice(0, 8);
  // A month of its own in the past: the keyspace is shared with other tests' histories, and a simulation reads
  // every customer with events in its period (this file's rows of an earlier run expire within a day).
  const year = 2000 + (Number.parseInt(run.slice(0, 4), 16) % 90);
  const month = `${year}-${String(1 + (Number.parseInt(run.slice(4, 6), 16) % 12)).padStart(2, '0')}`;
  const day = (n: number) => `${month}-${String(n).padStart(2, '0')}`;
  const at = (d: number, hour: number) =>
    Date.parse(`${day(d)}T${String(hour).padStart(2, '0')}:00:00+09:00`);
  const customers = Array.from({ length: 40 }, (_, i) => `${run}-p${i}`);
  const months = [month];
  const purchase = (customerId: string, id: string, occurredAtMs: number, amount: number): AcceptedEvent => ({
    id,
    type: 'purchase',
    channel: 'pos',
    occurredAt: new Date(occurredAtMs).toISOString(),
    occurredAtMs,
    receivedAtMs: occurredAtMs + 1_000,
    customerId,
    storeId: 'bundang-01',
    payload: {
      amount,
      currency: 'KRW',
      items: [{ sku: 'beer-6', category: 'beer', quantity: 1, unitPrice: amount }],
    },
  });
  /** each customer's 1st to 28th of the month: 0 to 2 purchases a day, by a fixed pattern */
  const eventsOf = (c: string, i: number): AcceptedEvent[] =>
    Array.from({ length: 28 }, (_, d) => d + 1).flatMap((d) =>
      Array.from({ length: (i + d) % 3 }, (_, k) =>
        purchase(c, `${c}-${d}-${k}`, at(d, 10 + 3 * k), 10_000 * (1 + ((i * d + k) % 7))),
      ),
    );
  const history = new Map(customers.map((c, i) => [c, eventsOf(c, i)]));
  const target: SimulationTarget = {
    kind: 'source',
    label: 'packs.yaml',
    source: `
id: packs-${run}
name: Regular beer buyers
trigger: { types: [purchase] }
audience: ctx.all.d7.purchases >= 3
offers:
  - { id: chicken, title: Cheap chicken, value: 3000, propensity: 0.2 }
caps: { perCustomerPerDay: 1 }
budget: { maxOffers: 60 }
holdoutPercent: 10
`,
  };
  const period = { from: day(1), to: day(28) };
  /** writes the customer's events as the live path would have (each day's row with the day's count) */
  const write = async (c: string, events: AcceptedEvent[]) => {
    const { history: repo } = ports;
    assert.deepEqual(await writeBatched(client, [repo.historyWrites(events, await repo.dataKey(c), tz)]), []);
  };
  const weeks = weeksBetween(day(1), day(28));

  before(async () => {
    client = await connectCassandra(config.cassandra, { applicationName: 'nunchi-medium-test' });
    // nothing is announced: simulation and packing never change a campaign
    ports = campaignPorts(client, { ...config.domain, eventTtlDays: 1 }, () => Promise.resolve());
    await mapBounded(customers, 8, (c) => write(c, history.get(c)!));
  });
  after(async () => {
    await client?.shutdown();
  });

  it('a simulation reads the closed weeks from their packs and decides exactly as row by row', async () => {
    const rowByRow = await simulateCampaign(ports, target, period);
    assert.equal(rowByRow.timings.packedEvents, 0);
    const total = [...history.values()].reduce((n, events) => n + events.length, 0);
    assert.equal(rowByRow.timings.events, total);
    assert.ok(rowByRow.report.outcomes.offer > 0, JSON.stringify(rowByRow.report.outcomes));

    const packed = await mapBounded(customers, 8, (c) => ports.packs.packWeeks(c, months, weeks));
    assert.equal(
      packed.reduce((n, p) => n + p.skipped, 0),
      0,
    );
    assert.equal(
      packed.reduce((n, p) => n + p.events, 0),
      total,
    );
    assert.ok(packed.every((p) => p.packed >= 4 && p.current === 0));
    // again: nothing changed, nothing written
    const again = await ports.packs.packWeeks(customers[0], months, weeks);
    assert.deepEqual(again, { packed: 0, current: packed[0].packed, skipped: 0, events: 0 });

    const fromPacks = await simulateCampaign(ports, target, period);
    assert.equal(fromPacks.timings.packedEvents, total);
    assert.deepEqual(fromPacks.report, rowByRow.report);
  });

  it('a late event makes its week read row by row — counted — until that week is packed again', async () => {
    const c = customers[1];
    // Tuesday the 14th's week: the customer's events of the day again, and one more
    const sameDay = history.get(c)!.filter((e) => e.occurredAtMs >= at(14, 0) && e.occurredAtMs < at(15, 0));
    const late = purchase(c, `${c}-late`, at(14, 20), 77_000);
    await write(c, [...sameDay, late]);
    const plan = (await ports.packs.planPeriod([c], day(1), day(28))).get(c)!;
    const lateWeek = weekOf(day(14));
    assert.equal(plan.packedWeeks.has(lateWeek), false);
    assert.equal(plan.packedWeeks.size, weeks.length - 1);
    assert.ok(plan.rowsFrom !== undefined && plan.rowsFrom >= lateWeek && plan.rowsFrom <= day(14));

    const total = [...history.values()].reduce((n, events) => n + events.length, 0) + 1;
    const inLateWeek = [...history.get(c)!, late].filter(
      (e) => weekOf(localDay(e.occurredAtMs, tz)) === lateWeek,
    ).length;
    const stale = await simulateCampaign(ports, target, period);
    assert.equal(stale.timings.events, total);
    assert.equal(stale.timings.packedEvents, total - inLateWeek);

    const repacked = await ports.packs.packWeeks(c, months, weeks);
    assert.equal(repacked.packed, 1);
    assert.equal(repacked.events, inLateWeek);
    const current = await simulateCampaign(ports, target, period);
    assert.equal(current.timings.packedEvents, total);
    assert.deepEqual(current.report, stale.report);
  });

  it('nunchi history pack: the closed weeks counted back from last week, never the current one', async () => {
    const fresh = Array.from({ length: 5 }, (_, i) => `${run}-q${i}`);
    await mapBounded(fresh, 5, (c, i) => write(c, eventsOf(c, i)));
    // and one whose data key is wrapped under an identity key this process does not have: left as it is
    const locked = `${run}-locked`;
    const seeded = new CustomerKeyRepository(client).seedWrite(
      locked,
      { id: 'gone', secret: `a-key-not-configured-${run}` },
      new Date(),
    );
    assert.deepEqual(
      await writeBatched(client, [
        [seeded.write, ...ports.history.historyWrites(eventsOf(locked, 1), seeded.key, tz)],
      ]),
      [],
    );
    // on the 25th, with events kept 60 days: the weeks before the 25th's are closed
    const onThe25th = { ...ports, domain: { ...ports.domain, eventTtlDays: 60 }, now: () => at(25, 12) };
    const current = weekOf(day(25));
    const result = await packHistory(onThe25th, { weeks: 2 });
    assert.equal(result.toWeek, addDays(current, -7));
    assert.equal(result.fromWeek, addDays(current, -14));
    assert.equal(result.skipped, 0);
    assert.ok(result.customers >= fresh.length + 1);
    assert.equal(result.unreadable.customers, 1);
    assert.match(
      result.unreadable.reason!,
      new RegExp(`customer ${locked} is wrapped under identity key "gone"`),
    );
    const plans = await ports.packs.planPeriod(fresh, day(1), day(28));
    for (const c of fresh) {
      const plan = plans.get(c)!;
      assert.deepEqual([...plan.packedWeeks].sort(), [result.fromWeek, result.toWeek], c);
      assert.ok(plan.rowsFrom !== undefined && plan.rowsFrom < result.fromWeek, c); // the weeks before: rows
    }
    // all the weeks kept (no --weeks): the earlier ones too, the current one still not
    await packHistory(onThe25th);
    for (const [c, plan] of await ports.packs.planPeriod(fresh, day(1), day(28)))
      assert.ok(plan.rowsFrom !== undefined && plan.rowsFrom >= current, `${c}: ${plan.rowsFrom}`);
    await assert.rejects(packHistory(onThe25th, { weeks: 0 }), /--weeks must be a whole number of weeks/);
  });

  it('the erasure removes the packs with the customer', async () => {
    const c = customers[2];
    const count = async () =>
      (
        await client.execute('SELECT week FROM customer_event_packs WHERE customer_id = ?', [c], {
          prepare: true,
        })
      ).rowLength;
    const before = await count();
    assert.ok(before >= 4);
    const receipt = await new ErasureRepository(client).erase(c, {
      timeZone: tz,
      partitions: config.nats.partitions,
      keks: identityKeys(config),
    });
    assert.equal(receipt.removed['customer_event_packs'], before);
    assert.equal(await count(), 0);
  });
});
