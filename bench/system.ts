/**
 * The whole system under open-loop load: `npm run bench` (full) or `npm run bench -- --quick` (< 3 min).
 *
 * Brings up the infrastructure, a NATS server of its own (clean streams) and a keyspace of its own
 * (dropped and migrated), imports a seeded synthetic population, applies realistic campaigns, starts the
 * four services exactly as deployed (one process each, tracing on), then offers load at fixed rates.
 * Each event has a scheduled send time; latency is measured from that time, so a stalled system cannot
 * hide queued requests (no coordinated omission). Every purchase gets a decision (a receipt campaign
 * matches all of them), so lost and duplicated decisions and offers are counted exactly.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { loadConfig, projectPath } from '@nunchi/config';
import { Subjects, type DecisionRecord, type IngestReply, type OfferMessage } from '@nunchi/contracts';
import { decodeJson, encodeJson } from '@nunchi/messaging';
import { applyCampaign } from '../apps/cli/src/commands/campaigns.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { Resources } from '../apps/cli/src/resources.js';
import { ensureInfra } from '../tools/infra.js';
import { freshKeyspace, startOwnNats } from '../tools/sandbox.js';
import { startServices, type RunningServices } from '../tools/services.js';
import { customers, EventFactory, STORES } from './population.js';
import { sampleProcess, usageBetween, type ProcSample, type ProcUsage } from './proc-stats.js';
import { summarize, type LatencySummary } from './stats.js';

export interface SystemBenchOptions {
  quick?: boolean;
  /** offered loads, events/s */
  rates?: number[];
  /** seconds per rate */
  stepSeconds?: number;
  /** customers in the synthetic population */
  population?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface StepResult {
  /** events/s offered (open loop) */
  offeredRate: number;
  durationS: number;
  sent: number;
  /** events/s actually sent by the generator */
  achievedSendRate: number;
  sendErrors: number;
  rejected: number;
  purchases: number;
  decisions: number;
  /** decisions/s over the step's send window */
  decisionsPerSec: number;
  /** ms from scheduled send to the decision on DECISIONS, every purchase */
  eventToDecision: LatencySummary;
  /** ms from scheduled send to the offer on mkt.offers.*, every offer */
  eventToOffer: LatencySummary;
  /** ms from scheduled send to ingestion's acknowledgement, every event */
  ack: LatencySummary;
  outcomes: Record<string, number>;
  /** purchases without a decision after the drain timeout */
  lostDecisions: number;
  /** offer decisions whose offer never arrived */
  lostOffers: number;
  duplicateDecisions: number;
  duplicateOffers: number;
  processes: Record<string, ProcUsage | undefined>;
}

export interface SystemBenchResult {
  rates: number[];
  stepSeconds: number;
  population: number;
  campaigns: number;
  partitions: number;
  steps: StepResult[];
  /** highest offered rate with event-to-offer p99 ≤ 50 ms, nothing lost, and ≥ 95 % of the load sent */
  maxRateP99Under50ms: number | null;
}

const P99_AIM_MS = 50;
const BENCH_NATS_PORT = 14299;
const BENCH_ENV = {
  CASSANDRA_KEYSPACE: 'nunchi_bench',
  NUNCHI_INGESTION_PORT: '3301',
  NUNCHI_CONTEXT_PORT: '3302',
  NUNCHI_DECISION_PORT: '3303',
  NUNCHI_ANALYTICS_PORT: '3304',
};

export async function runSystemBench(options: SystemBenchOptions = {}): Promise<SystemBenchResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const quick = options.quick ?? false;
  const rates = options.rates ?? (quick ? [50, 100, 200] : [25, 50, 100, 150, 200, 300, 400]);
  const stepSeconds = options.stepSeconds ?? (quick ? 10 : 20);
  const seed = options.seed ?? 20261124;
  const expectedPurchases = rates.reduce((s, r) => s + r * stepSeconds, 0) * 0.5 + 5 * rates[0];
  const population = options.population ?? Math.max(10_000, Math.ceil(expectedPurchases / 2));

  const infra = await ensureInfra((line) => log(`infra ${line}`));
  const nats = await startOwnNats(BENCH_NATS_PORT, log);
  const env = { ...BENCH_ENV, NATS_URL: nats.url };
  const config = loadConfig('cli', { ...process.env, ...env });
  await freshKeyspace(config.cassandra);
  log(`bench keyspace ${config.cassandra.keyspace} recreated; NATS of its own at ${nats.url}`);

  const resources = new Resources({ ...process.env, ...env });
  let services: RunningServices | undefined;
  try {
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-bench-'));
    const people = customers(population, seed);
    writeFileSync(join(dir, 'customers.ndjson'), people.map((c) => JSON.stringify(c)).join('\n'));
    const imported = await importCustomers(resources, join(dir, 'customers.ndjson'), { quiet: true });
    log(`population: ${imported.imported} customers imported at ${imported.rate}/s`);
    const campaignFiles = writeCampaigns(dir);
    for (const file of campaignFiles) await applyCampaign(resources, file, 'bench');
    log(`campaigns: ${campaignFiles.length} applied`);

    services = await startServices({ env, log: () => undefined });
    const pids: Record<string, number> = { nats: nats.pid };
    for (const [name, pid] of Object.entries(services.pids)) if (pid) pids[name] = pid;
    for (const [name, r] of Object.entries(infra) as Array<[string, { pid?: number | null }]>) if (r.pid && name !== 'nats') pids[name] = r.pid;
    await waitCampaigns(services.urls.decision, campaignFiles.length);

    const nc = await resources.nc();
    const tracker = new Tracker();
    nc.subscribe(Subjects.decisionsAll, { callback: (_e, m) => tracker.decision(decodeJson(m.data) as DecisionRecord) });
    nc.subscribe(Subjects.offersAll, { callback: (_e, m) => tracker.offer(decodeJson(m.data) as OfferMessage) });
    const factory = new EventFactory(people, seed, `bench${Date.now().toString(36)}`);

    log(`warm-up: 5 s at ${rates[0]} events/s`);
    await runStep(nc, factory, tracker, rates[0], 5, pids);
    const steps: StepResult[] = [];
    for (const rate of rates) {
      const step = await runStep(nc, factory, tracker, rate, stepSeconds, pids);
      steps.push(step);
      log(formatStep(step));
      if (step.eventToDecision.p99 > 5_000 || step.lostDecisions > step.purchases * 0.01) {
        log(`stopping: the system is past saturation at ${rate} events/s`);
        break;
      }
    }
    const ok = steps.filter((s) => s.eventToOffer.p99 <= P99_AIM_MS && s.lostDecisions === 0 && s.lostOffers === 0 && s.achievedSendRate >= 0.95 * s.offeredRate);
    return {
      rates,
      stepSeconds,
      population,
      campaigns: campaignFiles.length,
      partitions: config.nats.partitions,
      steps,
      maxRateP99Under50ms: ok.length ? Math.max(...ok.map((s) => s.offeredRate)) : null,
    };
  } finally {
    await services?.stop();
    await resources.close();
    nats.stop();
  }
}

/** Follows DECISIONS and offers, keyed by event id. */
class Tracker {
  scheduled = new Map<string, { atMs: number; purchase: boolean }>();
  decisions = new Map<string, { atMs: number; outcome: string; count: number }>();
  offers = new Map<string, { atMs: number; count: number }>();

  decision(d: DecisionRecord): void {
    const seen = this.decisions.get(d.eventId);
    if (seen) seen.count++;
    else this.decisions.set(d.eventId, { atMs: nowMs(), outcome: d.outcome, count: 1 });
  }

  offer(o: OfferMessage): void {
    const seen = this.offers.get(o.eventId);
    if (seen) seen.count++;
    else this.offers.set(o.eventId, { atMs: nowMs(), count: 1 });
  }
}

/** Epoch milliseconds with sub-millisecond resolution. */
const nowMs = () => performance.timeOrigin + performance.now();

async function runStep(
  nc: Awaited<ReturnType<Resources['nc']>>,
  factory: EventFactory,
  tracker: Tracker,
  rate: number,
  seconds: number,
  pids: Record<string, number>,
): Promise<StepResult> {
  const total = Math.round(rate * seconds);
  const ids: string[] = [];
  const acks: number[] = [];
  let sendErrors = 0;
  let rejected = 0;
  const before: Record<string, ProcSample | undefined> = Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, sampleProcess(pid)]));
  const start = nowMs() + 20;
  const inflight: Array<Promise<void>> = [];
  let i = 0;
  while (i < total) {
    const due = Math.min(total, Math.floor(((nowMs() - start) * rate) / 1000) + 1);
    for (; i < due; i++) {
      const scheduledMs = start + (i * 1000) / rate;
      const { kind, body } = factory.next(new Date(scheduledMs).toISOString());
      const id = body['id'] as string;
      ids.push(id);
      tracker.scheduled.set(id, { atMs: scheduledMs, purchase: kind === 'purchase' });
      inflight.push(
        nc.request(Subjects.inbound(body['channel'] as string, body['type'] as string), encodeJson(body), { timeout: 30_000 }).then(
          (m) => {
            acks.push(nowMs() - scheduledMs);
            if (!(decodeJson(m.data) as IngestReply).ok) rejected++;
          },
          () => void sendErrors++,
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const sendSeconds = (nowMs() - start) / 1000;
  await Promise.all(inflight);
  const purchases = ids.filter((id) => tracker.scheduled.get(id)!.purchase);
  // Drain: wait until every purchase has a decision and every offer decision its offer, or 20 s.
  const drainDeadline = nowMs() + 20_000;
  while (nowMs() < drainDeadline) {
    const pending = purchases.some((id) => !tracker.decisions.has(id)) || purchases.some((id) => tracker.decisions.get(id)?.outcome === 'offer' && !tracker.offers.has(id));
    if (!pending) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const elapsed = (nowMs() - start) / 1000;
  const after = Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, sampleProcess(pid)]));
  const toDecision: number[] = [];
  const toOffer: number[] = [];
  const outcomes: Record<string, number> = {};
  let lostDecisions = 0;
  let lostOffers = 0;
  let duplicateDecisions = 0;
  let duplicateOffers = 0;
  for (const id of ids) {
    const scheduled = tracker.scheduled.get(id)!;
    const d = tracker.decisions.get(id);
    const o = tracker.offers.get(id);
    if (d) {
      toDecision.push(d.atMs - scheduled.atMs);
      outcomes[d.outcome] = (outcomes[d.outcome] ?? 0) + 1;
      if (d.count > 1) duplicateDecisions += d.count - 1;
      if (d.outcome === 'offer' && !o) lostOffers++;
    } else if (scheduled.purchase) {
      lostDecisions++;
    }
    if (o) {
      toOffer.push(o.atMs - scheduled.atMs);
      if (o.count > 1) duplicateOffers += o.count - 1;
    }
    tracker.scheduled.delete(id);
  }
  return {
    offeredRate: rate,
    durationS: seconds,
    sent: total,
    achievedSendRate: Math.round(total / sendSeconds),
    sendErrors,
    rejected,
    purchases: purchases.length,
    decisions: toDecision.length,
    decisionsPerSec: Math.round(toDecision.length / Math.max(sendSeconds, 0.001)),
    eventToDecision: summarize(toDecision),
    eventToOffer: summarize(toOffer),
    ack: summarize(acks),
    outcomes,
    lostDecisions,
    lostOffers,
    duplicateDecisions,
    duplicateOffers,
    processes: Object.fromEntries(Object.keys(pids).map((n) => [n, usageBetween(before[n], after[n], elapsed)])),
  };
}

export function formatStep(s: StepResult): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
  return `${String(s.offeredRate).padStart(5)} ev/s offered, ${String(s.achievedSendRate).padStart(5)} sent | event→offer p50 ${f(s.eventToOffer.p50)} p95 ${f(s.eventToOffer.p95)} p99 ${f(s.eventToOffer.p99)} max ${f(s.eventToOffer.max)} ms | decisions ${s.decisions}/${s.purchases} purchases, lost ${s.lostDecisions}+${s.lostOffers}, dup ${s.duplicateDecisions}+${s.duplicateOffers}`;
}

/** The examples, the receipt campaign and a realistic spread of store × category promotions. */
function writeCampaigns(dir: string): string[] {
  const files = ['bundang-dad-beer.yaml', 'app-winback-30d.yaml', 'web-wine-cheese-cross-sell.yaml'].map((f) => projectPath('campaigns', 'examples', f));
  files.push(projectPath('bench', 'campaigns', 'receipt-thank-you.yaml'));
  const promos: Array<[string, number]> = [['meat', 50000], ['seafood', 40000], ['wine', 30000], ['cosmetics', 40000], ['household', 30000]];
  STORES.forEach((store, s) =>
    promos.forEach(([category, minimum], c) => {
      const id = `promo-${store}-${category}`;
      const file = join(dir, `${id}.yaml`);
      writeFileSync(
        file,
        stringify({
          id,
          name: `${store}: ${category} promotion`,
          trigger: { types: ['purchase'], channels: ['pos'], stores: [store] },
          audience: c % 2 ? 'customer.age >= 30 && ctx.all.d90.purchases >= 1' : "customer.creditTier in ['A', 'B', 'C']",
          condition: `'${category}' in event.categories && event.amount >= ${minimum}`,
          offers: [
            { id: `${category}-double`, title: `Double points on ${category}`, value: 4000, cost: 2000, when: 'ctx.thisStore.d90.visits >= 2' },
            { id: `${category}-coupon`, title: `10% off ${category} next time`, value: 3000, cost: 1500 },
          ],
          caps: { perCustomerPerDay: 1 },
          budget: { maxOffers: 1_000_000 },
          holdoutPercent: 10,
          priority: 10 + ((s * 5 + c) % 30),
          schedule: { timezone: 'Asia/Seoul' },
        }),
      );
      files.push(file);
    }),
  );
  return files;
}

async function waitCampaigns(decisionUrl: string, count: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const body = (await (await fetch(`${decisionUrl}/v1/campaigns`)).json()) as { loaded: Record<string, number> };
    if (Object.keys(body.loaded).length >= count) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the decision service did not load ${count} campaigns in time`);
}
