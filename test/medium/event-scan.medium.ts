/**
 * The reads of simulation on history against the real Cassandra: ContextRepository.scanEvents walks every
 * token range of customer_events (no event of the period missed, none outside it returned), and
 * historyBefore returns only what was stored before a day.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectCassandra, ContextRepository, writeBatched, type CqlClient } from '@nunchi/cassandra';
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

  before(async () => {
    client = await connectCassandra(config.cassandra, { applicationName: 'nunchi-medium-test' });
    repo = new ContextRepository(client, 86_400);
    const groups = customers.map((c) =>
      repo.historyWrites(
        [
          event(c, 0, at('03-10', 12)), // before the window
          event(c, 1, at('03-15', 12)), // in it
          event(c, 2, at('03-20', 12)), // in it
          event(c, 3, at('04-10', 12)), // another month
        ],
        tz,
      ),
    );
    const failed = await writeBatched(client, groups, { groupsPerBatch: 1, concurrency: 16 });
    assert.deepEqual(failed, []);
  });
  after(async () => {
    await client?.shutdown();
  });

  it('scanEvents returns exactly the events of the months and the window, over every token range', async () => {
    let ranges = 0;
    const events = await repo.scanEvents([`${year}-03`], at('03-12', 0), at('03-25', 0), (done, total) => {
      ranges = total;
      assert.ok(done <= total);
    });
    const mine = events.filter((e) => e.id.startsWith(run));
    assert.equal(mine.length, customers.length * 2);
    assert.deepEqual(new Set(mine.map((e) => e.id.split('-').pop())), new Set(['1', '2']));
    assert.equal(
      new Set(mine.map((e) => e.customerId)).size,
      customers.length,
      'every customer, whatever its token',
    );
    assert.ok(ranges >= 1);
  });

  it('historyBefore returns the rollups of earlier days and the events that occurred before the day', async () => {
    const history = await repo.historyBefore(customers[0], `${year}-03-15`, tz);
    assert.deepEqual([...new Set(history.rows.map((r) => r.day))], [`${year}-03-10`]);
    assert.deepEqual(
      history.recent.map((r) => r.id),
      [`${run}-${customers[0]}-0`],
    );
  });
});
