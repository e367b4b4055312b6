/**
 * A NATS cluster of three servers on three hosts (issue 13, item 3; `npm run test:cluster`, not in `npm test`:
 * ~100 s and root; docs/reliability.md): scripts/cluster.mjs starts them in network namespaces of their own, the
 * streams have three replicas, and the services run against the cluster (Cassandra is the suite's one node).
 * Under load, one server is killed with SIGKILL and started again, then another host is cut off the network
 * and joined again. Every accepted event must be decided exactly once. An offer may go out twice — a decision
 * whose record could not be stored while NATS failed is retried and sends its offer again (docs/reliability.md,
 * known limits) — but only ever the same offer under the same decision id (its instant aside), which an
 * adapter drops. Needs root
 * (`ip netns`); without it the test says so and is skipped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectCassandra, type CqlClient } from '@nunchi/cassandra';
import { loadConfig, projectPath } from '@nunchi/config';
import { Subjects, type OfferMessage } from '@nunchi/contracts/core';
import { connectNats, decodeJson } from '@nunchi/messaging';
import { Resources } from '../apps/cli/src/resources.js';
import { applyCampaign, setCampaignState } from '../apps/cli/src/commands/campaigns.js';
import { startServices, type RunningServices } from '../tools/services.js';
import { migrateStreams, runId } from './support/harness.js';
import { campaignFile, decisionsOf, waitLoaded } from './support/decision.js';
import { steadyPurchases } from './support/faults.js';

interface ClusterModule {
  CLUSTER_ENV: Record<string, string>;
  unavailable(): string | null;
  up(options: { only: string[]; log: (line: string) => void }): Promise<unknown>;
  down(options: { only: string[]; wipe?: boolean; log: (line: string) => void }): Promise<void>;
  kill(host: string, what: 'nats'): Promise<boolean>;
  start(host: string, what: 'nats'): Promise<void>;
  partition(host: string): void;
  heal(host: string): void;
}

const cluster = (await import(pathToFileURL(projectPath('scripts', 'cluster.mjs')).href)) as ClusterModule;
const cannot = cluster.unavailable();
if (cannot) console.log(`# nats-cluster.cluster.ts skipped: ${cannot}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** An offer without the instant of the attempt that sent it. */
const substance = (o: OfferMessage): Partial<OfferMessage> => ({
  ...o,
  decidedAt: undefined,
  latencyMs: undefined,
});

describe(
  'a three-server NATS cluster: a server killed, a host partitioned — nothing lost, nothing decided twice',
  { skip: cannot ?? false },
  () => {
    const run = runId();
    const store = `t${run}-cluster`;
    const campaignId = `cluster-${run}`;
    const env = {
      NATS_URL: cluster.CLUSTER_ENV['NATS_URL'],
      NUNCHI_STREAM_REPLICAS: '3',
      NUNCHI_SLA_MS: '600000',
      NUNCHI_MAX_OFFERS_PER_CUSTOMER_PER_DAY: '1000',
      OTEL_TRACES_EXPORTER: 'none',
    };
    const logs: string[] = [];
    let services: RunningServices | undefined;
    let nc: NatsConnection;
    let cql: CqlClient;
    let resources: Resources;
    const offers: OfferMessage[] = [];

    before(async () => {
      // Servers of their own, with empty stores: a run must not inherit streams and consumers an earlier
      // run's faults left behind.
      await cluster.down({ only: ['nats'], wipe: true, log: (line) => logs.push(`cluster: ${line}`) });
      await cluster.up({ only: ['nats'], log: (line) => logs.push(`cluster: ${line}`) });
      await migrateStreams(env);
      const config = loadConfig('cli', { ...process.env, ...env });
      nc = await connectNats(config.nats, 'nunchi-test');
      cql = await connectCassandra(config.cassandra);
      resources = new Resources({ ...process.env, ...env });
      services = await startServices({
        services: ['ingestion', 'context', 'decision'],
        env,
        log: (s, line) => logs.push(`${s} ${line}`),
      });
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
      await waitLoaded([services.urls.decision], campaignId, applied.version);
    });

    after(async () => {
      if (process.env['NUNCHI_TEST_LOGS'])
        (await import('node:fs')).writeFileSync(process.env['NUNCHI_TEST_LOGS'], logs.join('\n'));
      await setCampaignState(resources, campaignId, 'ended').catch(() => undefined);
      await services?.stop();
      await resources?.close();
      await nc?.drain().catch(() => undefined);
      await cql?.shutdown();
      // NUNCHI_CLUSTER_KEEP=1 leaves the servers up for a look after a failure (node scripts/cluster.mjs down).
      if (!process.env['NUNCHI_CLUSTER_KEEP'])
        await cluster.down({ only: ['nats'], log: (line) => logs.push(`cluster: ${line}`) });
    });

    it('decides every accepted event once while h3 is killed and h2 partitioned', async () => {
      // About 30 events/s from 6 senders, 40 customers (several events per customer in flight).
      const load = steadyPurchases(nc, { run, store, senders: 6, customers: 40 });
      const sent = load.sent;
      await sleep(4_000);
      assert.ok(await cluster.kill('h3', 'nats'), 'the server on h3 was running');
      await sleep(4_000);
      await cluster.start('h3', 'nats');
      await sleep(3_000);
      cluster.partition('h2');
      await sleep(12_000); // longer than the clients' two missed pings (libs/messaging connection.ts)
      cluster.heal('h2');
      await sleep(4_000);
      await load.stop();

      const decisions = await decisionsOf(cql, sent, 300_000);
      assert.equal(
        new Set(decisions.map((d) => d.decisionId)).size,
        sent.length,
        'every accepted event decided once',
      );
      await sleep(500);
      const seen = new Map<string, OfferMessage>();
      let again = 0;
      for (const o of offers) {
        const first = seen.get(o.decisionId);
        if (!first) seen.set(o.decisionId, o);
        else {
          again++;
          // The retried attempt stamps its own instant; what the customer is offered must not change.
          assert.deepEqual(
            substance(o),
            substance(first),
            `offer ${o.decisionId} sent again, but not the same offer`,
          );
        }
      }
      const decidedOffers = new Set(decisions.filter((d) => d.outcome === 'offer').map((d) => d.decisionId));
      assert.deepEqual(
        [...seen.keys()].filter((id) => !decidedOffers.has(id)),
        [],
        'every offer sent is a recorded decision',
      );
      assert.deepEqual(
        logs.filter((l) => l.includes('exited unexpectedly')),
        [],
        'no process died',
      );
      console.log(
        `# ${sent.length} events decided once each; ${seen.size} offers, ${again} of them sent again (same offer)`,
      );
    });
  },
);
