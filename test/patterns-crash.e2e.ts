/**
 * Event patterns under a crash and a takeover (docs/patterns.md): a context replica killed between its write
 * and the acknowledgement; the next owner folds the redelivered event from the stored pattern state, so every
 * sequence completes exactly where it would have without the crash.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig, type NunchiConfig } from '@nunchi/config';
import { partitionOf, Streams } from '@nunchi/contracts/core';
import type { EnrichedEvent } from '@nunchi/contracts';
import { connectNats, decodeJson } from '@nunchi/messaging';
import { applyCampaign, setCampaignState } from '../apps/cli/src/commands/campaigns.js';
import { Resources } from '../apps/cli/src/resources.js';
import { startServices, type RunningServices } from '../tools/services.js';
import { getJson, sendEvents, startContextReplica, type Replica } from './support/context-tools.js';
import { migrateStreams, runId, waitFor } from './support/harness.js';

const LEASE_TTL_MS = 3_000;

describe('event patterns: a context replica killed between write and acknowledgement', () => {
  let config: NunchiConfig;
  let nc: NatsConnection;
  let resources: Resources;
  let ingestion: RunningServices;
  const replicas: Replica[] = [];
  const run = `t${runId()}`;
  const campaign = `two-purchases-${run}`;
  const basePort = Number(process.env['NUNCHI_CONTEXT_PORT'] ?? 3102) + 150;
  const env = { NUNCHI_LEASE_TTL_MS: String(LEASE_TTL_MS), OTEL_TRACES_EXPORTER: 'none' };

  before(async () => {
    config = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
    nc = await connectNats(config.nats, 'nunchi-test');
    await migrateStreams();
    resources = new Resources({ ...process.env });
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-'));
    writeFileSync(
      join(dir, `${campaign}.yaml`),
      [
        `id: ${campaign}`,
        'name: Two purchases within an hour',
        'trigger: { types: [purchase] }',
        'pattern: { sequence: { steps: [{ types: [purchase] }, { types: [purchase] }], within: 1h } }',
        'offers: [{ id: thanks, title: Thanks, value: 100 }]',
        'schedule: { timezone: Asia/Seoul }',
      ].join('\n'),
    );
    await applyCampaign(resources, join(dir, `${campaign}.yaml`));
    ingestion = await startServices({ services: ['ingestion'], env, log: () => undefined });
  });

  after(async () => {
    await setCampaignState(resources, campaign, 'ended').catch(() => undefined);
    await Promise.all(replicas.map((r) => r.stop()));
    await ingestion?.stop();
    await resources?.close();
    await nc?.drain();
  });

  it('every second purchase completes the sequence, the crashed customer’s too, each once on ENRICHED', async () => {
    const survivor = await startContextReplica(basePort, env);
    replicas.push(survivor);
    const crasher = await startContextReplica(basePort + 1, {
      ...env,
      NUNCHI_FAILPOINT: `context.after-write=${run}-crash-e3`,
    });
    replicas.push(crasher);
    for (const r of replicas)
      await waitFor(
        'the pattern in each replica',
        async () =>
          (
            await getJson<{ patternCampaigns?: string[] }>(`${r.url}/v1/context/stats`)
          ).patternCampaigns?.includes(campaign) || undefined,
        15_000,
      );
    await waitFor(
      'the two replicas to split the partitions',
      async () =>
        ((await crasher.stats()).partitions.owned.length > 0 &&
          (await survivor.stats()).partitions.owned.length > 0) ||
        undefined,
      8 * LEASE_TTL_MS,
    );
    const crasherOwned = (await crasher.stats()).partitions.owned;
    // the crashing customer in a partition the crasher owns; two more customers anywhere
    let crashing = '';
    for (let i = 0; !crashing; i++)
      if (crasherOwned.includes(partitionOf(`${run}-crash-${i}`, config.nats.partitions)))
        crashing = `${run}-crash-${i}`;
    const customers = [crashing, `${run}-a`, `${run}-b`];
    const prefix = (id: string) => (id === crashing ? `${run}-crash` : id);
    const now = Date.now();
    const started = now - 1_000;
    for (let k = 0; k < 6; k++)
      for (const id of customers)
        // one at a time: each customer's events in order
        await sendEvents(
          nc,
          [
            {
              id: `${prefix(id)}-e${k}`,
              type: 'purchase',
              channel: 'pos',
              occurredAt: new Date(now - (6 - k) * 1_000).toISOString(),
              customer: { id },
              storeId: 'store-1',
              payload: {
                amount: 1_000,
                currency: 'KRW',
                items: [{ sku: 'x', category: 'c', quantity: 1, unitPrice: 1_000 }],
              },
            },
          ],
          1,
        );
    await waitFor(
      'the crasher to die at its failpoint',
      () => Promise.resolve(crasher.child.signalCode === 'SIGKILL' || undefined),
      30_000,
    );

    // What ENRICHED carries for this run: event id → the patterns it completed, per message.
    const seen = await waitFor(
      'all 18 events on ENRICHED',
      async () => {
        const consumer = await jetstream(nc).consumers.get(Streams.ENRICHED.name, {
          deliver_policy: DeliverPolicy.StartTime,
          opt_start_time: new Date(started).toISOString(),
        });
        const out = new Map<string, string[][]>();
        for (;;) {
          let n = 0;
          for await (const m of await consumer.fetch({ max_messages: 1_000, expires: 1_000 })) {
            n++;
            const { event, patterns } = decodeJson(m.data) as EnrichedEvent;
            if (!event.id.startsWith(run)) continue;
            out.set(event.id, [...(out.get(event.id) ?? []), patterns ?? []]);
          }
          if (n === 0) break;
        }
        return out.size === 18 ? out : undefined;
      },
      60_000,
    );
    for (const id of customers)
      for (let k = 0; k < 6; k++) {
        const eventId = `${prefix(id)}-e${k}`;
        assert.deepEqual(seen.get(eventId), [k % 2 === 1 ? [campaign] : []], eventId);
      }
  });
});
