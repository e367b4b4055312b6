/**
 * Admission control under overload: while a partition's consumer is behind by more than
 * NUNCHI_ADMISSION_MAX_LAG_MS, ingestion refuses new events of that partition with OVERLOADED_RETRY and a
 * retry hint; once the backlog drains it accepts again; every event it accepted is applied, none twice.
 * The overload is made by hanging the context service (SIGSTOP) while events arrive, then letting it go.
 * And analytics yields to the hot path: while a context consumer says it is behind, analytics holds its
 * messages, and counts them once the hot path has caught up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { partitionOf, Subjects, type IngestReply, type LagReport } from '@nunchi/contracts/core';
import { decodeJson, encodeJson } from '@nunchi/messaging';
import { runId, startHarness, waitFor, type Harness } from './support/harness.js';
import { contextDrained, getJson, storedTotals, type ContextStats } from './support/context-tools.js';

const CUSTOMERS = 40;

describe('overload: admission control at the door', () => {
  let h: Harness;
  const run = runId();
  let sent = 0;

  const purchase = (c: number) => ({
    id: `t${run}-c${c}-e${sent++}`,
    type: 'purchase',
    channel: 'pos',
    occurredAt: new Date(Date.now() - 1_000).toISOString(),
    customer: { id: `t${run}-c${c}` },
    storeId: 'store-1',
    payload: {
      amount: 1_000,
      currency: 'KRW',
      items: [{ sku: 'x', category: 'beer', quantity: 1, unitPrice: 1_000 }],
    },
  });

  async function send(c: number): Promise<IngestReply> {
    const e = purchase(c);
    const msg = await h.nc.request(Subjects.inbound('pos', 'purchase'), encodeJson(e), { timeout: 15_000 });
    return decodeJson(msg.data) as IngestReply;
  }

  before(async () => {
    h = await startHarness({ NUNCHI_ADMISSION_MAX_LAG_MS: '500', NUNCHI_ANALYTICS_YIELD_MAX_MS: '4000' });
    await waitFor(
      'the context service to own every partition',
      async () => {
        const stats = await getJson<ContextStats>(`${h.services.urls.context}/v1/context/stats`);
        return stats.partitions.owned.length === h.config.nats.partitions ? true : undefined;
      },
      30_000,
    );
  });

  after(async () => {
    await h?.close();
  });

  it('refuses with OVERLOADED_RETRY while the backlog is older than the bound, accepts again after, and loses nothing', async () => {
    const accepted = new Map<number, number>();
    const count = (c: number, reply: IngestReply) => {
      if (reply.ok) accepted.set(c, (accepted.get(c) ?? 0) + 1);
    };
    const context = h.services.pids['context']!;
    // From no backlog: what earlier test files left in EVENTS and ENRICHED is applied first (its age would refuse
    // at once), and the consumers' lag reports (every 500 ms) have said so…
    await contextDrained(h.nc, h.config.nats.partitions, 120_000);
    await waitFor('context and decision to be current', async () => {
      for (const url of [h.services.urls.context, h.services.urls.decision])
        if (((await (await fetch(`${url}/ready`)).json()) as { status: string }).status !== 'ok')
          return undefined;
      return true;
    });
    await new Promise((r) => setTimeout(r, 1_000));
    // … to one: the context service hangs while 200 events are stored.
    process.kill(context, 'SIGSTOP');
    try {
      for (let i = 0; i < 200; i++) {
        const reply = await send(i % CUSTOMERS);
        assert.ok(reply.ok, `a hung consumer reports nothing: no refusal yet (${JSON.stringify(reply)})`);
        count(i % CUSTOMERS, reply);
      }
      await new Promise((r) => setTimeout(r, 2_500));
    } finally {
      process.kill(context, 'SIGCONT');
    }
    // It resumes with messages 2.5 s old in hand, and says so: new events of those partitions are refused.
    const refused: IngestReply[] = [];
    const deadline = Date.now() + 8_000;
    let okAfterRefusal = false;
    for (let i = 0; Date.now() < deadline && !okAfterRefusal; i++) {
      const c = i % CUSTOMERS;
      const reply = await send(c);
      count(c, reply);
      if (!reply.ok) refused.push(reply);
      else if (refused.length > 0) okAfterRefusal = true;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(refused.length > 0, 'some events were refused while the backlog was old');
    for (const r of refused) {
      assert.ok(!r.ok && r.error.code === 'OVERLOADED_RETRY', JSON.stringify(r));
      assert.ok(
        !r.ok && r.error.retryAfterMs! >= 250 && /behind/.test(r.error.message ?? ''),
        JSON.stringify(r),
      );
    }
    assert.ok(okAfterRefusal, 'accepted again once the backlog drained');

    // Every accepted event is applied, exactly once; refused ones are not.
    await contextDrained(h.nc, h.config.nats.partitions);
    for (const [c, n] of accepted)
      assert.equal((await storedTotals(h.cql, `t${run}-c${c}`)).events, n, `customer ${c}`);
    const metrics = await (await fetch(`${h.services.urls.ingestion}/metrics`)).text();
    assert.match(metrics, /nunchi_ingestion_overloaded_total(\{[^}]*\})? [1-9]/);
  });

  it('analytics waits while the hot path is behind, and counts what it held once it has caught up', async () => {
    const counted = async () => {
      const metrics = await (await fetch(`${h.services.urls.analytics}/metrics`)).text();
      const pos = /^nunchi_analytics_events_counted_total\{[^}]*channel="pos"[^}]*\} (\d+)/m.exec(metrics);
      const yielded = /^nunchi_analytics_yielded_seconds_total(?:\{[^}]*\})? ([\d.e+-]+)/m.exec(metrics);
      return { pos: Number(pos?.[1] ?? 0), yieldedS: Number(yielded?.[1] ?? 0) };
    };
    // A customer, and its partition; then a (forged) report that another partition's consumer is 3 s behind:
    // admission refuses only that partition, analytics yields to all of it.
    await contextDrained(h.nc, h.config.nats.partitions, 120_000);
    const first = await waitFor('the door to accept again after the first test', async () => {
      const reply = await send(CUSTOMERS);
      if (reply.ok) return reply;
      await new Promise((r) => setTimeout(r, 250));
      return undefined;
    });
    const partition = partitionOf(first.customerId, h.config.nats.partitions);
    const base = await waitFor('analytics to count the first event', async () => {
      const c = await counted();
      return c.pos > 0 ? c : undefined;
    });
    await new Promise((r) => setTimeout(r, 1_000));
    const before = await counted();
    const behind = (): LagReport => ({
      group: 'context',
      member: `test-${run}`,
      atMs: Date.now(),
      partitions: [
        { partition: (partition + 1) % h.config.nats.partitions, oldestAgeMs: 3_000, pending: 99 },
      ],
    });
    h.nc.publish(Subjects.lag('context'), encodeJson(behind()));
    const reporting = setInterval(() => h.nc.publish(Subjects.lag('context'), encodeJson(behind())), 200);
    let stoppedAt = 0;
    try {
      await new Promise((r) => setTimeout(r, 300));
      const second = await send(CUSTOMERS);
      assert.ok(second.ok, `the customer's own partition is not behind: ${JSON.stringify(second)}`);
      await contextDrained(h.nc, h.config.nats.partitions);
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal(
        (await counted()).pos,
        before.pos,
        'analytics holds the event while the hot path is behind',
      );
    } finally {
      clearInterval(reporting);
      stoppedAt = Date.now();
    }
    // The forged reports expire (2 s) and analytics goes on, well before its longest wait (4 s) would let it.
    const after = await waitFor('analytics to count the held event', async () => {
      const c = await counted();
      return c.pos > before.pos ? c : undefined;
    });
    assert.equal(after.pos, before.pos + 1);
    assert.ok(
      Date.now() - stoppedAt < 3_900,
      `counted ${Date.now() - stoppedAt} ms after the reports stopped`,
    );
    assert.ok(after.yieldedS > base.yieldedS, 'the wait is on /metrics');
  });
});
