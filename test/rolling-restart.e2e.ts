/**
 * Graceful shutdown (issue 13, item 5): under a steady load, every service process is stopped with SIGTERM
 * and replaced, one after another — two ingestion, two context and two decision replicas. SIGTERM drains the
 * messages in hand, flushes writes and spans and releases the partition leases (the other replica takes them
 * over within a lease round, not after expiry). Afterwards every accepted event is decided exactly once and
 * no offer was sent twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig } from '@nunchi/config';
import { Streams, Subjects, type OfferMessage } from '@nunchi/contracts/core';
import { connectNats, decodeJson } from '@nunchi/messaging';
import { Resources } from '../apps/cli/src/resources.js';
import { applyCampaign, setCampaignState } from '../apps/cli/src/commands/campaigns.js';
import { startServices, type RunningServices } from '../tools/services.js';
import { migrateStreams, runId } from './support/harness.js';
import { campaignFile, decisionsOf, waitLoaded } from './support/decision.js';
import { dlqSince, steadyPurchases } from './support/faults.js';
import { lastSeq } from './support/streams.js';

type Role = 'ingestion' | 'context' | 'decision';
const port = (name: string, fallback: number) => Number(process.env[`NUNCHI_${name}_PORT`] ?? fallback);

describe('rolling restart under load: nothing lost, every event decided once, no offer sent twice', () => {
  const run = runId();
  const store = `t${run}-roll`;
  const campaignId = `roll-${run}`;
  const env = {
    NUNCHI_LEASE_TTL_MS: '3000',
    NUNCHI_SLA_MS: '600000',
    NUNCHI_MAX_OFFERS_PER_CUSTOMER_PER_DAY: '1000',
    OTEL_TRACES_EXPORTER: 'none',
  };
  /** two replicas of each role, each on a port of its own */
  const slots: Array<{ role: Role; port: number; running?: RunningServices }> = [
    { role: 'ingestion', port: port('INGESTION', 3101) },
    { role: 'ingestion', port: port('ANALYTICS', 3104) + 3 },
    { role: 'context', port: port('CONTEXT', 3102) },
    { role: 'context', port: port('ANALYTICS', 3104) + 1 },
    { role: 'decision', port: port('DECISION', 3103) },
    { role: 'decision', port: port('ANALYTICS', 3104) + 2 },
  ];
  const logs: string[] = [];
  let nc: NatsConnection;
  let cql: CqlClient;
  let resources: Resources;
  const offers: OfferMessage[] = [];

  const start = (slot: (typeof slots)[number]) =>
    startServices({
      services: [slot.role],
      env: { ...env, [`NUNCHI_${slot.role.toUpperCase()}_PORT`]: String(slot.port) },
      log: (s, line) => logs.push(`${s}:${slot.port} ${line}`),
    });

  before(async () => {
    await migrateStreams(env);
    const config = loadConfig('cli', { ...process.env, ...env });
    nc = await connectNats(config.nats, 'nunchi-test');
    cql = await connectCassandra(config.cassandra);
    resources = new Resources({ ...process.env, ...env });
    for (const slot of slots) slot.running = await start(slot);
    nc.subscribe(Subjects.offer('pos', store), {
      callback: (_e, m) => void offers.push(decodeJson(m.data) as OfferMessage),
    });
    const applied = await applyCampaign(
      resources,
      campaignFile({
        id: campaignId,
        condition: `event.storeId == '${store}'`,
        caps: { perCustomerPerDay: 1000 },
      }),
    );
    await waitLoaded(
      slots.filter((s) => s.role === 'decision').map((s) => `http://127.0.0.1:${s.port}`),
      campaignId,
      applied.version,
    );
  });

  after(async () => {
    if (process.env['NUNCHI_TEST_LOGS'])
      (await import('node:fs')).writeFileSync(process.env['NUNCHI_TEST_LOGS'], logs.join('\n'));
    await setCampaignState(resources, campaignId, 'ended').catch(() => undefined);
    await Promise.all(slots.map(async (s) => s.running?.stop()));
    await resources?.close();
    await nc?.drain().catch(() => undefined);
    await cql?.shutdown();
  });

  it('restarts each of six processes with SIGTERM while events flow', async () => {
    const dlqBefore = await lastSeq(nc, Streams.DLQ.name);
    // About 40 events/s from 8 senders (one customer in 60 per event: several events per customer in flight).
    const load = steadyPurchases(nc, { run, store, senders: 8, customers: 60 });
    const sent = load.sent;

    for (const slot of slots) {
      await new Promise((r) => setTimeout(r, 3_000));
      const stopping = slot.running!;
      const stoppedAt = Date.now();
      await stopping.stop(); // SIGTERM; SIGKILL only after 10 s
      const stopMs = Date.now() - stoppedAt;
      logs.push(`test: ${slot.role}:${slot.port} stopped in ${stopMs} ms`);
      assert.ok(
        stopMs < 10_000,
        `${slot.role}:${slot.port} stopped gracefully in ${stopMs} ms (not killed after 10 s)`,
      );
      slot.running = await start(slot);
    }
    await new Promise((r) => setTimeout(r, 3_000));
    await load.stop();

    const decisions = await decisionsOf(cql, sent, 120_000);
    assert.equal(decisions.length, sent.length, 'every accepted event decided');
    assert.equal(new Set(decisions.map((d) => d.decisionId)).size, sent.length, 'once each');
    assert.deepEqual(
      decisions
        .filter((d) => d.outcome !== 'offer' && d.outcome !== 'control')
        .map((d) => `${d.eventId}: ${d.outcome}`),
      [],
      'each an offer (or the holdout): none late, capped or lost',
    );
    // Offers travel on core NATS: give the last ones a moment to arrive.
    await new Promise((r) => setTimeout(r, 500));
    const seen = new Map<string, number>();
    for (const o of offers) seen.set(o.decisionId, (seen.get(o.decisionId) ?? 0) + 1);
    const twice = [...seen].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`);
    assert.deepEqual(twice, [], 'no offer sent twice');
    assert.equal(
      seen.size,
      decisions.filter((d) => d.outcome === 'offer').length,
      'every offer decided was sent',
    );
    assert.deepEqual(
      await dlqSince(nc, dlqBefore + 1, ['ingestion', 'context', 'decision']),
      [],
      'nothing dead-lettered',
    );
    assert.deepEqual(
      logs.filter((l) => l.includes('exited unexpectedly')),
      [],
      'no process died',
    );
    logs.push(`test: ${sent.length} events, ${seen.size} offers`);
  });
});
