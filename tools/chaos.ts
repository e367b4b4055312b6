/**
 * npm run chaos: faults under load, and what they cost (issue 13, item 2). The pipeline runs as deployed —
 * two ingestion, two context and two decision processes — against a nats-server of its own and the machine's
 * Cassandra reached through a TCP proxy (so the shared node is never frozen or killed: the proxy is). For each
 * fault, events are sent at a steady rate (an adapter retries what is not accepted) and the fault injected a
 * third of the way in; then every accepted event must have exactly one decision.
 *
 *   npm run chaos                      500 events/s, 60 s per fault
 *   npm run chaos -- --quick           100 events/s, 20 s per fault (a smoke run)
 *   npm run chaos -- --rate 300 --seconds 30
 *
 * Columns: events sent (accepted), lost (accepted, never decided), duplicates (an offer sent twice on core
 * NATS), late (decided `late`: past the deadline on arrival), recovery (from the fault's start to the receipt
 * of the last event decided late: after that, everything was on time again; 0 when nothing was late).
 * Environment: CASSANDRA_KEYSPACE (default nunchi_chaos), NUNCHI_CHAOS_BASE_PORT (HTTP ports, default 3350–3355).
 */
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectCassandra, migrate } from '@nunchi/cassandra';
import { loadConfig, projectPath } from '@nunchi/config';
import { decisionIdOf, Subjects, type DecisionRecord, type IngestReply, type OfferMessage } from '@nunchi/contracts';
import { connectNats, decodeJson, encodeJson } from '@nunchi/messaging';
import { startNatsServer, TcpFaultProxy } from '@nunchi/testing';
import { applyCampaign, setCampaignState } from '../apps/cli/src/commands/campaigns.js';
import { applyStreamLayout } from '../apps/cli/src/commands/streams.js';
import { Resources } from '../apps/cli/src/resources.js';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWriteStream, mkdirSync } from 'node:fs';
import { developmentModeUnlessConfigured } from './dev-mode.js';
import { ensureInfra } from './infra.js';
import { startServices, type RunningServices } from './services.js';

type Role = 'ingestion' | 'context' | 'decision';
interface Slot {
  role: Role;
  port: number;
  running?: RunningServices;
}

interface Row {
  fault: string;
  sent: number;
  lost: number;
  duplicates: number;
  late: number;
  recoveryS: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function args() {
  const argv = process.argv.slice(2);
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : undefined;
  };
  const quick = argv.includes('--quick');
  return { rate: value('--rate') ?? (quick ? 100 : 500), seconds: value('--seconds') ?? (quick ? 20 : 60) };
}

async function main(): Promise<void> {
  const { rate, seconds } = args();
  const log = (line: string) => process.stderr.write(`chaos  ${line}\n`);
  developmentModeUnlessConfigured(log);
  mkdirSync(projectPath('.nunchi', 'logs'), { recursive: true });
  const serviceLog = createWriteStream(projectPath('.nunchi', 'logs', 'chaos-services.log'), { flags: 'a' });
  log('service logs: .nunchi/logs/chaos-services.log');
  await ensureInfra((line) => log(`infra ${line}`));
  const run = randomUUID().slice(0, 8);
  const store = `chaos-${run}`;
  const nats = await startNatsServer();
  const base = loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const [host, port] = base.cassandra.contactPoints[0].split(':');
  const proxy = await TcpFaultProxy.start({ host: host, port: Number(port ?? 9042) });
  const env: Record<string, string> = {
    NATS_URL: nats.url,
    CASSANDRA_KEYSPACE: process.env['CASSANDRA_KEYSPACE'] ?? 'nunchi_chaos',
    CASSANDRA_CONTACT_POINTS: proxy.address,
    NUNCHI_LEASE_TTL_MS: '3000',
    NUNCHI_MAX_OFFERS_PER_CUSTOMER_PER_DAY: '1000',
    NUNCHI_ADMISSION_MAX_LAG_MS: '0',
    OTEL_TRACES_EXPORTER: 'none',
  };
  const config = loadConfig('cli', { ...process.env, ...env, CASSANDRA_CONTACT_POINTS: base.cassandra.contactPoints.join(',') });
  await migrate(config.cassandra, projectPath('cql'));
  const resources = new Resources({ ...process.env, ...env, CASSANDRA_CONTACT_POINTS: base.cassandra.contactPoints.join(',') });
  await applyStreamLayout(resources);
  const nc = await connectNats(config.nats, 'nunchi-chaos');
  const cql = await connectCassandra(config.cassandra);
  const basePort = Number(process.env['NUNCHI_CHAOS_BASE_PORT'] ?? 3350);
  const slots: Slot[] = (['ingestion', 'ingestion', 'context', 'context', 'decision', 'decision'] as Role[]).map((role, i) => ({
    role,
    port: basePort + i,
  }));
  const start = (slot: Slot) =>
    startServices({
      services: [slot.role],
      env: { ...env, [`NUNCHI_${slot.role.toUpperCase()}_PORT`]: String(slot.port) },
      log: (service, line) => void serviceLog.write(`${service}:${slot.port} ${line}\n`),
    });
  const offers = new Map<string, number>();
  nc.subscribe(Subjects.offer('pos', store), {
    callback: (_e, m) => {
      const id = (decodeJson(m.data) as OfferMessage).decisionId;
      offers.set(id, (offers.get(id) ?? 0) + 1);
    },
  });
  const rows: Row[] = [];
  const campaignId = `chaos-${run}`;
  try {
    for (const slot of slots) slot.running = await start(slot);
    await applyCampaign(
      resources,
      writeCampaign({ id: campaignId, condition: `event.storeId == '${store}'`, caps: { perCustomerPerDay: 1000 } }),
    );
    await sleep(3_000); // decision replicas load the campaign (they also reload on the change hint)
    const killAndRestart = (slot: Slot) => async () => {
      process.kill(slot.running!.pids[slot.role]!, 'SIGKILL');
      await slot.running!.stop(); // reaps it
      slot.running = await start(slot);
    };
    const faults: Array<{ name: string; inject: () => Promise<void> }> = [
      { name: 'kill -9 ingestion (1 of 2)', inject: killAndRestart(slots[0]) },
      { name: 'kill -9 context (1 of 2)', inject: killAndRestart(slots[2]) },
      { name: 'kill -9 decision (1 of 2)', inject: killAndRestart(slots[4]) },
      {
        name: 'NATS restart (SIGTERM, 3 s down)',
        inject: async () => {
          await nats.crash('SIGTERM');
          await sleep(3_000);
          await nats.restart();
        },
      },
      {
        name: 'Cassandra frozen 10 s, then down 6 s',
        inject: async () => {
          proxy.freeze();
          await sleep(10_000);
          await proxy.cut();
          await sleep(6_000);
          await proxy.heal();
        },
      },
    ];
    for (const fault of faults) {
      log(`${fault.name}: ${rate} events/s for ${seconds} s`);
      rows.push(await underLoad(nc, cql, offers, { run, store, rate, seconds, fault, slaMs: config.domain.slaMs }));
      log(JSON.stringify(rows.at(-1)));
    }
  } finally {
    await setCampaignState(resources, campaignId, 'ended').catch(() => undefined);
    await Promise.all(slots.map(async (s) => s.running?.stop()));
    await resources.close();
    await nc.drain().catch(() => undefined);
    await cql.shutdown();
    await proxy.close();
    await nats.stop();
  }
  console.log(`\n${rate} events/s, ${seconds} s per fault, 2 replicas of ingestion, context and decision\n`);
  console.log('| fault | events sent | lost | duplicates | late | recovery |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows)
    console.log(`| ${r.fault} | ${r.sent} | ${r.lost} | ${r.duplicates} | ${r.late} | ${r.recoveryS.toFixed(1)} s |`);
  if (rows.some((r) => r.lost > 0)) process.exitCode = 1;
}

function writeCampaign(definition: Record<string, unknown> & { id: string }): string {
  const path = join(tmpdir(), `${definition.id}.yaml`);
  writeFileSync(
    path,
    JSON.stringify({
      name: definition.id,
      trigger: { types: ['purchase'], channels: ['pos'] },
      offers: [{ id: 'thanks', title: 'Thank you', value: 1000 }],
      schedule: { timezone: 'Asia/Seoul' },
      ...definition,
    }),
  );
  return path;
}

async function underLoad(
  nc: NatsConnection,
  cql: Awaited<ReturnType<typeof connectCassandra>>,
  offers: Map<string, number>,
  o: { run: string; store: string; rate: number; seconds: number; slaMs: number; fault: { name: string; inject: () => Promise<void> } },
): Promise<Row> {
  const tag = o.fault.name.replace(/[^a-z0-9]+/gi, '').slice(0, 12);
  const accepted: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const send = async (id: string, customer: string) => {
    const event = {
      id,
      type: 'purchase',
      channel: 'pos',
      occurredAt: new Date().toISOString(),
      customer: { id: customer },
      storeId: o.store,
      payload: { amount: 1_000, currency: 'KRW', items: [{ sku: 's', category: 'snacks', quantity: 1, unitPrice: 1_000 }] },
    };
    for (let attempt = 0; attempt < 600; attempt++) {
      try {
        const reply = decodeJson((await nc.request(Subjects.inbound('pos', 'purchase'), encodeJson(event), { timeout: 5_000 })).data) as IngestReply;
        if (reply.ok) return void accepted.push(id);
      } catch {
        // no answer: retried, as an adapter does
      }
      await sleep(200);
    }
  };
  const startedMs = Date.now();
  let faultAt = 0;
  const faultDone = (async () => {
    await sleep((o.seconds * 1000) / 3);
    faultAt = Date.now();
    await o.fault.inject();
  })();
  for (let n = 0; Date.now() - startedMs < o.seconds * 1000; ) {
    const due = Math.floor(((Date.now() - startedMs) / 1000) * o.rate);
    for (; n < due; n++) {
      const p = send(`${o.run}-${tag}-${n}`, `${o.run}-c${n % 500}`).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await sleep(20);
  }
  await faultDone;
  await Promise.all(inFlight);
  // Every accepted event decided (or the wait gives up: those are lost).
  const decisions = new Map<string, DecisionRecord>();
  const deadline = Date.now() + 180_000;
  while (decisions.size < accepted.length && Date.now() < deadline) {
    const missing = accepted.filter((id) => !decisions.has(decisionIdOf(id)));
    for (let i = 0; i < missing.length; i += 100) {
      const ids = missing.slice(i, i + 100).map(decisionIdOf);
      const rows = (await cql.execute('SELECT decision_id, record FROM decisions_by_id WHERE decision_id IN ?', [ids], { prepare: true })).rows;
      for (const r of rows) decisions.set(r['decision_id'] as string, JSON.parse(r['record'] as string) as DecisionRecord);
    }
    if (decisions.size < accepted.length) await sleep(1_000);
  }
  await sleep(500);
  const ours = [...decisions.values()];
  const late = ours.filter((d) => d.outcome === 'late');
  const lastLateReceipt = Math.max(0, ...late.map((d) => Date.parse(d.decidedAt) - d.latencyMs));
  const duplicates = ours.filter((d) => (offers.get(d.decisionId) ?? 0) > 1).length;
  return {
    fault: o.fault.name,
    sent: accepted.length,
    lost: accepted.length - decisions.size,
    duplicates,
    late: late.length,
    recoveryS: late.length ? Math.max(0, (lastLateReceipt - faultAt) / 1000) : 0,
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
