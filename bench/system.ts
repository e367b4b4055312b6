/**
 * The whole system under open-loop load: `npm run bench` (full) or `npm run bench -- --quick` (< 3 min).
 *
 * Brings up the infrastructure, a NATS server of its own (clean streams) and a keyspace of its own
 * (dropped and migrated), imports a seeded synthetic population with months of prior events written as the
 * live path would have written them, applies realistic campaigns, starts the four services exactly as
 * deployed (one process each, tracing on), then offers load at fixed rates: a ramp until event→decision p99
 * passes 500 ms (the capacity), then twice the capacity for a minute and back to a low rate (overload).
 *
 * Each event has a scheduled send time; latency is measured from that time, so a stalled system cannot hide
 * queued requests (no coordinated omission). Every purchase is decided — offer, control, late or none — and
 * every decision is counted: those published on DECISIONS as they arrive, the "none" decisions (not
 * published) read back from Cassandra once the streams have drained. Lost and duplicated decisions and offers
 * are counted exactly.
 */
import { createWriteStream, mkdtempSync, writeFileSync, type WriteStream } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import {
  customerStores,
  DecisionRepository,
  mapBounded,
  type ContextRepository,
  writeBatched,
  type BulkWrite,
} from '@nunchi/cassandra';
import { loadConfig, projectPath } from '@nunchi/config';
import type { DataKey } from '@nunchi/sealing';
import {
  decisionIdOf,
  partitionOf,
  Streams,
  Subjects,
  type DecisionRecord,
  type IngestReply,
  type OfferMessage,
} from '@nunchi/contracts/core';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, decodeJson, encodeJson } from '@nunchi/messaging';
import { applyCampaign, cliActor } from '../apps/cli/src/commands/campaigns.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { Resources } from '../apps/cli/src/resources.js';
import { ensureInfra } from '../tools/infra.js';
import { freshKeyspace, startOwnNats } from '../tools/sandbox.js';
import { startServices, type RunningServices } from '../tools/services.js';
import { applyStreamLayout } from '../apps/cli/src/commands/streams.js';
import type { SimulationReport } from '@nunchi/rules';
import { LAG_STREAMS, LagProbe, totalPending, type StreamLag } from './lag.js';
import {
  customers,
  EventFactory,
  prng,
  VisitFrequency,
  type SyntheticCustomer,
  EXAMPLE_CAMPAIGNS,
  storePromotions,
} from './population.js';
import { sampleProcess, usageBetween, type ProcSample, type ProcUsage } from './proc-stats.js';
import { summarize, type LatencySummary } from './stats.js';
import { developmentModeUnlessConfigured } from '../tools/dev-mode.js';
import { killOnExit } from '../tools/child-processes.js';

export interface SystemBenchOptions {
  quick?: boolean;
  /** offered loads of the ramp, events/s; the ramp stops at the first rate whose event→decision p99 passes 500 ms */
  rates?: number[];
  /** seconds per ramp rate */
  stepSeconds?: number;
  /** customers in the synthetic population */
  population?: number;
  /** months of prior events written before the run */
  historyMonths?: number;
  /** events/s of the overload step; default twice the measured capacity */
  overloadRate?: number;
  /** seconds of the overload step; default 60 (quick 15) */
  overloadSeconds?: number;
  seed?: number;
  log?: (line: string) => void;
  /** run the tracing on/off comparison at the end; @default true */
  tracingComparison?: boolean;
  /** a folder: every service runs with --cpu-prof and writes its CPU profile there when stopped */
  profileDir?: string;
  /**
   * instead of the ramp: live load at this rate, a step to warm up (the hot tier filled, code compiled at that
   * rate), then steps without and with a simulation on history running beside it (`nunchi campaigns simulate
   * --with-live`, again and again, at niceness SIMULATION_NICENESS as the campaigns API's worker runs) in the
   * order without, with, with, without — so that a drift over time (compactions, a warming cache) weighs on
   * both alike — and the live p99 of each (`--simulation-beside`)
   */
  simulationBeside?: number;
}

/** CPU and RSS of one process over a step, and its CPU per event offered. */
export interface ProcessUsage extends ProcUsage {
  /** CPU milliseconds (user + system) per event sent in the step, drain included */
  cpuMsPerEvent: number;
}

export interface StepResult {
  kind: 'ramp' | 'overload' | 'recovery';
  /** events/s offered (open loop) */
  offeredRate: number;
  durationS: number;
  sent: number;
  /** events/s actually sent by the generator */
  achievedSendRate: number;
  sendErrors: number;
  /** events answered with an error: refused as overload (OVERLOADED_RETRY), not stored and not expected to be decided */
  rejected: number;
  /** purchases accepted (refused ones are not counted: they were never stored) */
  purchases: number;
  /** purchases with a decision of any outcome (offer, control, late, none); other events' decisions are not counted here */
  decisions: number;
  /** decisions/s over the step's send window */
  decisionsPerSec: number;
  /**
   * ms from the scheduled send to the decision instant (decidedAt, stamped by the decision service; ms
   * resolution, same host clock), every purchase's decision whatever its outcome — late and none included
   */
  eventToDecision: LatencySummary;
  /** ms from the scheduled send to the offer's arrival on mkt.offers.*, every offer (app and web events' too) */
  eventToOffer: LatencySummary;
  /** offers (any event's) that arrived within NUNCHI_SLA_MS of the event's scheduled send */
  onTimeOffers: number;
  /** ms from the scheduled send to ingestion's acknowledgement, every event */
  ack: LatencySummary;
  /** decisions of purchases by outcome */
  outcomes: Record<string, number>;
  /** late decisions / decisions (decided past NUNCHI_SLA_MS: nothing sent) */
  lateShare: number;
  /** offers on purchases / purchases */
  offerShare: number;
  /** purchases without a decision once the streams drained (or the drain deadline passed) */
  lostDecisions: number;
  /** offer decisions whose offer never arrived */
  lostOffers: number;
  duplicateDecisions: number;
  duplicateOffers: number;
  /** the context service's hot tier over the step: look-ups answered from memory / all look-ups */
  hotTier: { hits: number; misses: number; hitRatio: number } | null;
  /** s from the step's last send until EVENTS and ENRICHED had nothing pending (null: not within the deadline) */
  drainS: number | null;
  /** per process, the load generator ("loadgen": this process) included */
  processes: Record<string, ProcessUsage | undefined>;
  /** CPU ms per event summed over the system's processes (services, NATS, Cassandra, Zipkin; not loadgen) */
  cpuMsPerEvent: number;
  /**
   * Cassandra requests per accepted event over the step, all services, by `service/statement`
   * (nunchi_cassandra_requests_total; a batch counts once), and their sum; null when /metrics was not readable
   */
  cassandraPerEvent: { total: number; byStatement: Record<string, number> } | null;
}

/** One window of the overload and recovery steps, by the events' scheduled send times. */
export interface OverloadWindow {
  /** s from the start of the overload step */
  startS: number;
  offeredRate: number;
  sent: number;
  purchases: number;
  /** offers that arrived within NUNCHI_SLA_MS of the event's scheduled send */
  onTimeOffers: number;
  onTimeOffersPerSec: number;
  /** onTimeOffersPerSec / the capacity step's on-time offers per second (null without a capacity step) */
  ofCapacity: number | null;
  late: number;
  /** events of the window refused at the door (OVERLOADED_RETRY): not stored, so never offered */
  refused: number;
  /** ms from each event's scheduled send to the door's answer (the load generator's own delay included) */
  ack: { p50: number; max: number };
}

export interface LagSample {
  /** s from the start of the overload step */
  tS: number;
  streams: Record<string, Omit<StreamLag, 'byConsumer'> & { maxConsumer: number }>;
  /** each process's CPU since the sample before, percent of one core: which one an episode of slowness is in */
  cpuPercent?: Record<string, number>;
}

export interface OverloadResult {
  /** events/s: the capacity the overload rate was derived from */
  capacity: number;
  capacitySource: 'measured' | 'flag';
  rate: number;
  seconds: number;
  recoveryRate: number;
  recoverySeconds: number;
  windowSeconds: number;
  /** on-time offers per second at the capacity step (the reference of ofCapacity), null without one */
  capacityOnTimeOffersPerSec: number | null;
  windows: OverloadWindow[];
  /** lowest ofCapacity over the overload step's windows */
  minOfCapacity: number | null;
  lag: LagSample[];
  /**
   * s from the overload's last send until the backlog was gone: the oldest unacknowledged message on EVENTS
   * and ENRICHED younger than 500 ms (under the recovery's load a stream is never quite empty); null when
   * that never happened before the drain deadline
   */
  drainS: number | null;
  /** s from the overload's last send until nothing at all was pending (necessarily after the recovery's load) */
  emptyS: number | null;
  /** decisions and offers lost over overload and recovery */
  lost: number;
  overload: StepResult;
  recovery: StepResult;
}

export interface IdleProbe {
  count: number;
  /** ms from send to the decision instant (decidedAt), every probe */
  sendToDecision: LatencySummary;
  /** ms from ingestion's receipt to the decision, as the decision service measured it */
  receiptToDecision: LatencySummary;
  /** ms from send to the offer's arrival, probes that got an offer */
  sendToOffer: LatencySummary;
}

export interface SystemBenchResult {
  rates: number[];
  stepSeconds: number;
  population: number;
  /** the visit frequency's shape: share of events made by the top 1 % / 20 % of customers */
  frequency: { s: number; q: number; top1PercentShare: number; top20PercentShare: number };
  history: { months: number; customers: number; events: number; writeSeconds: number };
  /**
   * the hot tier's preload (HotTierPreload) before the first step: customers active in the last `days` days
   * loaded, and seconds from the services being ready to its end; null when off or unfinished. Absent: results
   * from before it existed
   */
  preload?: { days: number; customers: number; seconds: number } | null;
  campaigns: number;
  partitions: number;
  /** ms: NUNCHI_SLA_MS, past which a decision is late and nothing is sent */
  slaMs: number;
  idle: IdleProbe;
  steps: StepResult[];
  /** highest ramp rate with event→decision p99 ≤ 50 ms, nothing lost, ≥ 95 % of the load sent */
  maxRateP99Under50ms: number | null;
  /** highest ramp rate with event→decision p99 ≤ 500 ms, nothing lost, ≥ 95 % of the load sent */
  capacity: number | null;
  overload: OverloadResult | null;
  /**
   * The cost of tracing: the same step (rate, seconds, a fresh start of the services each) with every event
   * traced (the default) and with tracing off (OTEL_TRACES_SAMPLER=always_off), back to back
   */
  tracing: { rate: number; on: StepResult; off: StepResult } | null;
  /** with simulationBeside: the live step without and with a simulation running beside it */
  simulationBeside?: SimulationBeside;
  /** ENRICHED as JetStream stored it over the run: messages and stored bytes per message (headers included) */
  enriched?: { messages: number; bytesPerMessage: number };
}

/** Live decisions with and without a simulation on history beside them (the same rate and step length). */
export interface SimulationBeside {
  rate: number;
  /** the steps without a simulation, in the order run (the first and the last) */
  without: StepResult[];
  /** the steps with a simulation beside (the second and the third) */
  with: StepResult[];
  /**
   * the simulations run during the steps with one: whole runs, events they replayed, their events/s while
   * running, and the CPU they had (seconds, and percent of one core over those steps, drains included)
   */
  simulation: {
    runs: number;
    events: number;
    seconds: number;
    eventsPerSecond: number;
    cpuSeconds: number;
    cpuPercent: number;
    niceness: number;
  };
  /** 1-minute load average at the end of each step, as `without` and `with` (the machine is shared: figures are noisy) */
  loadAverage: { without: number[]; with: number[] };
}

const P99_AIM_MS = 50;
const CAPACITY_P99_MS = 500;
/** the bench's NATS, keyspace and service ports; NUNCHI_BENCH_NATS_PORT, NUNCHI_BENCH_SYSTEM_KEYSPACE and
 * NUNCHI_BENCH_SERVICE_PORTS (four, comma-separated) move them, for a run beside another on one machine */
const BENCH_NATS_PORT = Number(process.env['NUNCHI_BENCH_NATS_PORT'] ?? 14299);
const BENCH_PORTS = (process.env['NUNCHI_BENCH_SERVICE_PORTS'] ?? '3301,3302,3303,3304').split(',');
const BENCH_ENV = {
  CASSANDRA_KEYSPACE: process.env['NUNCHI_BENCH_SYSTEM_KEYSPACE'] ?? 'nunchi_bench',
  NUNCHI_INGESTION_PORT: BENCH_PORTS[0],
  NUNCHI_CONTEXT_PORT: BENCH_PORTS[1],
  NUNCHI_DECISION_PORT: BENCH_PORTS[2],
  NUNCHI_ANALYTICS_PORT: BENCH_PORTS[3],
  // The adapters' rate limit stays on (its cost is measured) but above any rate the ramp reaches.
  NUNCHI_ADAPTER_RATE_PER_SECOND: '1000000',
};
/** the visit frequency's shape (VisitFrequency): q grows with the population, so its shape does not */
const zipf = (population: number) => ({ s: 1, q: Math.max(1, Math.round(population / 50)) });
/** history: events per month of the mean customer, and at most per customer */
const HISTORY_EVENTS_PER_MONTH = 2;
const HISTORY_MAX_EVENTS = 600;
const WINDOW_S = 5;
/** ms: the backlog is gone when the oldest unacknowledged message is younger than this (the capacity threshold) */
const CAUGHT_UP_MS = CAPACITY_P99_MS;
const DAY_MS = 86_400_000;

type Nc = NatsConnection;

interface Bench {
  nc: Nc;
  factory: EventFactory;
  tracker: Tracker;
  lag: LagProbe;
  decisions: DecisionRepository;
  pids: Record<string, number>;
  contextUrl: string;
  /** each service's base URL, for /metrics */
  serviceUrls: Record<string, string>;
  /** NUNCHI_SLA_MS: an offer later than this after the event's scheduled send is not on time */
  slaMs: number;
  log: (line: string) => void;
}

export async function runSystemBench(options: SystemBenchOptions = {}): Promise<SystemBenchResult> {
  developmentModeUnlessConfigured((line) => (options.log ?? console.log)(line));
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const quick = options.quick ?? false;
  const rates =
    options.rates ?? (quick ? [100, 300, 1000] : [50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000]);
  const stepSeconds = options.stepSeconds ?? (quick ? 10 : 20);
  const seed = options.seed ?? 20261124;
  const population = options.population ?? (quick ? 5_000 : 20_000);
  const historyMonths = options.historyMonths ?? (quick ? 3 : 6);
  const overloadSeconds = options.overloadSeconds ?? (quick ? 15 : 60);

  const infra = await ensureInfra((line) => log(`infra ${line}`), ['cassandra', 'zipkin']); // NATS: its own
  const nats = await startOwnNats(BENCH_NATS_PORT, log);
  const env = { ...BENCH_ENV, NATS_URL: nats.url };
  const config = loadConfig('cli', { ...process.env, ...env });
  await freshKeyspace(config.cassandra);
  log(`bench keyspace ${config.cassandra.keyspace} recreated; NATS of its own at ${nats.url}`);

  const resources = new Resources({ ...process.env, ...env });
  // The streams, as the migration step lays them out: services only check them.
  await applyStreamLayout(resources);
  let services: RunningServices | undefined;
  /** the services' output, on disk beside the run (services.log) */
  let serviceLog: WriteStream | undefined;
  let nc: Nc | undefined;
  try {
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-bench-'));
    const people = customers(population, seed);
    const probes = probeCustomers();
    writeFileSync(
      join(dir, 'customers.ndjson'),
      [...people, ...probes].map((c) => JSON.stringify(c)).join('\n'),
    );
    const imported = await importCustomers(resources, join(dir, 'customers.ndjson'), { quiet: true });
    log(`population: ${imported.imported} customers imported at ${imported.rate}/s`);
    const frequency = new VisitFrequency(people.length, seed, zipf(people.length));
    const factory = new EventFactory(people, frequency, seed, `bench${Date.now().toString(36)}`);
    const cql = await resources.cassandra();
    // The import gave every customer its data key (the profile is sealed under it), as a first event would: the
    // history is sealed under the same, read here 50 a request.
    const stores = customerStores(cql, config.domain, people.length + probes.length + 1_000);
    await stores.keys.preload([...people, ...probes].map((p) => p.id));
    const history = await writeHistory(
      stores.history,
      // (past the preload's room, 90 % of the keyring, read one by one)
      async (customerId) => (await stores.keys.find(customerId)) ?? missingKey(customerId),
      cql,
      factory,
      frequency,
      [...people, ...probes],
      historyMonths,
      config.domain.timeZone,
      config.nats.partitions,
    );
    log(
      `history: ${history.events.toLocaleString()} prior events of ${history.customers.toLocaleString()} customers over ${historyMonths} months written in ${history.writeSeconds} s`,
    );
    // Writing months of history starts compactions; measured steps must not pay for them.
    const settled = await compactionsSettled(cql, 180_000);
    log(
      `compactions after the history: ${settled === null ? 'still running after 180 s' : `settled in ${settled} s`}`,
    );
    const campaignFiles = writeCampaigns(dir);
    for (const file of campaignFiles) await applyCampaign(resources, file, cliActor('bench'));
    log(`campaigns: ${campaignFiles.length} applied`);

    // Kept out of the report, but on disk: a stall or a refusal seen in the figures can be looked up there.
    const serviceLogPath = join(dir, 'services.log');
    log(`service logs: ${serviceLogPath}`);
    serviceLog = createWriteStream(serviceLogPath, { flags: 'a' });
    const start = (extra: Record<string, string> = {}) =>
      startServices({
        env: { ...env, ...extra },
        log: (service, line) => serviceLog?.write(`${new Date().toISOString()} ${service} ${line}\n`),
        ...(options.profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] } : {}),
      });
    services = await start();
    const pids: Record<string, number> = { nats: nats.pid };
    for (const [name, pid] of Object.entries(services.pids)) if (pid) pids[name] = pid;
    for (const [name, r] of Object.entries(infra) as Array<[string, { pid?: number | null }]>)
      if (r.pid && name !== 'nats') pids[name] = r.pid;
    pids['loadgen'] = process.pid;
    await waitCampaigns(services.urls.decision, campaignFiles.length);
    const preload = await waitPreload(services.urls.context, config.nats.partitions);
    log(
      preload
        ? `hot-tier preload: ${preload.customers.toLocaleString()} customers active in the last ${preload.days} days loaded in ${preload.seconds} s after the services were ready`
        : 'hot-tier preload: off (NUNCHI_PRELOAD_DAYS=0) or not finished in 300 s',
    );

    // The load generator is an outside client (an adapter): it speaks NATS directly.
    nc = await connectNats(resources.config.nats, 'nunchi-bench');
    const tracker = new Tracker();
    nc.subscribe(Subjects.decisionsAll, {
      callback: (_e, m) => tracker.decision(decodeJson(m.data) as DecisionRecord),
    });
    nc.subscribe(Subjects.offersAll, {
      callback: (_e, m) => tracker.offer(decodeJson(m.data) as OfferMessage),
    });
    const bench: Bench = {
      nc,
      factory,
      tracker,
      lag: await LagProbe.open(nc),
      decisions: new DecisionRepository(cql),
      pids,
      contextUrl: services.urls.context,
      serviceUrls: services.urls,
      slaMs: config.domain.slaMs,
      log,
    };
    const slaMs = config.domain.slaMs;
    const drainDeadlineS = quick ? 60 : 180;

    log(`warm-up: 5 s at ${rates[0]} events/s`);
    await runStep(bench, 'ramp', rates[0], 5, drainDeadlineS);
    const idle = await idleProbe(bench, probes);
    /** What every result states about the run's setting, whichever steps it ran. */
    const setup = () => ({
      stepSeconds,
      population,
      frequency: {
        ...zipf(population),
        top1PercentShare: round3(frequency.shareOfTop(0.01)),
        top20PercentShare: round3(frequency.shareOfTop(0.2)),
      },
      history: { months: historyMonths, ...history },
      preload,
      campaigns: campaignFiles.length,
      partitions: config.nats.partitions,
      slaMs,
      idle,
    });
    log(
      `idle probe: send→decision p50 ${idle.sendToDecision.p50} max ${idle.sendToDecision.max} ms, send→offer p50 ${idle.sendToOffer.p50} max ${idle.sendToOffer.max} ms`,
    );

    if (options.simulationBeside) {
      const rate = options.simulationBeside;
      log(`warm-up: ${stepSeconds} s at ${rate} events/s`);
      await runStep(bench, 'ramp', rate, stepSeconds, drainDeadlineS);
      const simulations = simulationRuns({ ...process.env, ...env }, config.domain.timeZone, log);
      const without: StepResult[] = [];
      const withSimulation: StepResult[] = [];
      const loadAverage: SimulationBeside['loadAverage'] = { without: [], with: [] };
      for (const beside of [false, true, true, false]) {
        let step: StepResult;
        if (beside) {
          simulations.start();
          try {
            await sleep(2_000); // started and reading when the load begins
            step = await runStep(bench, 'ramp', rate, stepSeconds, drainDeadlineS);
          } finally {
            await simulations.stop();
          }
        } else {
          step = await runStep(bench, 'ramp', rate, stepSeconds, drainDeadlineS);
        }
        (beside ? withSimulation : without).push(step);
        loadAverage[beside ? 'with' : 'without'].push(loadavg()[0]);
        log(`${beside ? 'with a simulation beside' : 'without a simulation'}: ${formatStep(step)}`);
      }
      const beside: SimulationBeside = {
        rate,
        without,
        with: withSimulation,
        simulation: simulations.result(),
        loadAverage,
      };
      log(formatSimulationBeside(beside, slaMs));
      return {
        rates: [rate],
        ...setup(),
        steps: [without[0], ...withSimulation, without[1]],
        maxRateP99Under50ms: null,
        capacity: null,
        overload: null,
        tracing: null,
        simulationBeside: beside,
      };
    }

    const steps: StepResult[] = [];
    for (const rate of rates) {
      const step = await runStep(bench, 'ramp', rate, stepSeconds, drainDeadlineS);
      steps.push(step);
      log(formatStep(step));
      if (
        step.eventToDecision.p99 > CAPACITY_P99_MS ||
        step.lostDecisions > step.purchases * 0.01 ||
        step.rejected > step.sent * 0.01 ||
        step.achievedSendRate < 0.9 * rate
      ) {
        log(
          `ramp stops: event→decision p99 passed ${CAPACITY_P99_MS} ms (or decisions were lost, or over 1 % of events were refused as overload, or the generator fell behind) at ${rate} events/s`,
        );
        break;
      }
    }
    const within = (limit: number) =>
      steps.filter(
        (s) =>
          s.eventToDecision.p99 <= limit &&
          s.lostDecisions === 0 &&
          s.lostOffers === 0 &&
          s.rejected <= s.sent * 0.01 &&
          s.achievedSendRate >= 0.95 * s.offeredRate,
      );
    const best = (list: StepResult[]) => (list.length ? Math.max(...list.map((s) => s.offeredRate)) : null);
    const capacity = best(within(CAPACITY_P99_MS));

    let overload: OverloadResult | null = null;
    const base = options.overloadRate ? options.overloadRate / 2 : capacity;
    if (base) {
      const reference = steps.find((s) => s.offeredRate === base) ?? null;
      overload = await runOverload(bench, {
        capacity: base,
        capacitySource: options.overloadRate ? 'flag' : 'measured',
        rate: options.overloadRate ?? 2 * base,
        seconds: overloadSeconds,
        recoveryRate: rates[0],
        recoverySeconds: quick ? 10 : 30,
        drainDeadlineS: quick ? 60 : 240,
        reference,
      });
    } else
      log('overload step skipped: no ramp rate kept event→decision p99 under 500 ms (give --overload-rate)');

    // The cost of tracing, measured rather than assumed: the same step with a fresh start each, on then off.
    let tracing: SystemBenchResult['tracing'] = null;
    if (options.tracingComparison ?? true) {
      const rate = capacity ? Math.max(rates[0], Math.round(capacity / 2)) : rates[0];
      const measure = async (extra: Record<string, string>) => {
        await services?.stop();
        services = await start(extra);
        for (const [name, pid] of Object.entries(services.pids)) if (pid) bench.pids[name] = pid;
        await waitCampaigns(services.urls.decision, campaignFiles.length);
        await waitPreload(services.urls.context, config.nats.partitions);
        await runStep(bench, 'ramp', rate, 3, drainDeadlineS); // warm-up
        return runStep(bench, 'ramp', rate, stepSeconds, drainDeadlineS);
      };
      const on = await measure({});
      const off = await measure({ OTEL_TRACES_SAMPLER: 'always_off' });
      tracing = { rate, on, off };
      log(
        `tracing at ${rate} events/s: every event traced ${on.cpuMsPerEvent} ms CPU/event, p99 ${on.eventToDecision.p99.toFixed(1)} ms; ` +
          `off ${off.cpuMsPerEvent} ms CPU/event, p99 ${off.eventToDecision.p99.toFixed(1)} ms`,
      );
    }

    const stored = (await (await jetstreamManager(nc)).streams.info(Streams.ENRICHED.name)).state;
    const enriched = {
      messages: stored.messages,
      bytesPerMessage: stored.messages ? Math.round(stored.bytes / stored.messages) : 0,
    };
    log(
      `ENRICHED: ${enriched.messages} messages, ${enriched.bytesPerMessage} bytes each as stored (headers included)`,
    );

    return {
      rates,
      ...setup(),
      steps,
      enriched,
      maxRateP99Under50ms: best(within(P99_AIM_MS)),
      capacity,
      overload,
      tracing,
    };
  } finally {
    await services?.stop();
    await new Promise((resolve) => (serviceLog ? serviceLog.end(resolve) : resolve(undefined)));
    if (nc && !nc.isClosed()) await nc.drain();
    await resources.close();
    nats.stop();
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** the niceness of the simulations run beside live load: the campaigns API's simulation worker's */
const SIMULATION_NICENESS = 10;
const CLI_MAIN = fileURLToPath(new URL('../apps/cli/src/main.js', import.meta.url));

/**
 * `nunchi campaigns simulate bundang-dad-beer --with-live` over the whole history written, as a process of its
 * own at SIMULATION_NICENESS, started again each time it finishes, from start() until stop() — as often as
 * asked; result() adds up every period.
 */
function simulationRuns(
  env: Record<string, string | undefined>,
  timeZone: string,
  log: (line: string) => void,
): { start(): void; stop(): Promise<void>; result(): SimulationBeside['simulation'] } {
  let stopped = true;
  let child: ChildProcess | undefined;
  let loop: Promise<void> = Promise.resolve();
  let sampler: NodeJS.Timeout | undefined;
  let runs = 0;
  let events = 0;
  let busyMs = 0;
  /** wall-clock milliseconds between start() and stop(), summed */
  let activeMs = 0;
  let startedAt = 0;
  /** CPU seconds of finished runs, and the last sample of the running one (sampled each second) */
  let cpuDone = 0;
  let cpuRunning = 0;
  const to = new Date().toISOString();
  const from = new Date(Date.now() - 365 * 86_400_000).toISOString();
  const once = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      child = spawn(
        process.execPath,
        [
          CLI_MAIN,
          'campaigns',
          'simulate',
          'bundang-dad-beer',
          '--with-live',
          '--from',
          from,
          '--to',
          to,
          '--json',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, NUNCHI_TIMEZONE: timeZone } },
      );
      killOnExit(child);
      try {
        if (child.pid) setPriority(child.pid, SIMULATION_NICENESS);
      } catch {
        log('simulation beside: could not lower its priority (it runs at normal priority)');
      }
      let out = '';
      let err = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2_000)));
      child.on('close', (code) => {
        child = undefined;
        cpuDone += cpuRunning;
        cpuRunning = 0;
        if (code === 0) {
          runs++;
          busyMs += performance.now() - t0;
          try {
            events += (JSON.parse(out) as SimulationReport).events.replayed;
          } catch {
            // not the report: counted as a run without its events
          }
        } else if (!stopped) log(`simulation beside: exit ${code}: ${err.trim().split('\n').at(-1) ?? ''}`);
        resolve();
      });
    });
  return {
    start() {
      stopped = false;
      startedAt = performance.now();
      sampler = setInterval(() => {
        const pid = child?.pid;
        const sample = pid ? sampleProcess(pid) : undefined;
        if (sample) cpuRunning = sample.cpuSeconds;
      }, 1_000);
      loop = (async () => {
        while (!stopped) await once();
      })();
    },
    async stop() {
      stopped = true;
      const pid = child?.pid;
      const sample = pid ? sampleProcess(pid) : undefined;
      if (sample) cpuRunning = sample.cpuSeconds;
      child?.kill('SIGTERM');
      await loop;
      clearInterval(sampler);
      activeMs += performance.now() - startedAt;
    },
    result() {
      const seconds = busyMs / 1000;
      const wall = activeMs / 1000;
      return {
        runs,
        events,
        seconds: Math.round(wall * 10) / 10,
        eventsPerSecond: seconds > 0 ? Math.round(events / seconds) : 0,
        cpuSeconds: Math.round(cpuDone * 10) / 10,
        cpuPercent: wall > 0 ? Math.round((cpuDone / wall) * 100) : 0,
        niceness: SIMULATION_NICENESS,
      };
    },
  };
}

/** The live figures without and with a simulation beside, on one line each. */
export function formatSimulationBeside(b: SimulationBeside, slaMs: number): string {
  // where the CPU went, per process (Cassandra serves the simulation's reads too)
  const cpu = (s: StepResult) =>
    Object.entries(s.processes)
      .filter(([, u]) => u && u.cpuMsPerEvent >= 0.05)
      .sort(([, a], [, b]) => b!.cpuMsPerEvent - a!.cpuMsPerEvent)
      .map(([name, u]) => `${name} ${u!.cpuMsPerEvent.toFixed(2)}`)
      .join(', ');
  const line = (label: string, s: StepResult, load: number) =>
    `  ${label}: event→decision p50 ${s.eventToDecision.p50.toFixed(1)} ms, p99 ${s.eventToDecision.p99.toFixed(1)} ms, max ${s.eventToDecision.max.toFixed(1)} ms; late ${s.outcomes['late'] ?? 0} of ${s.decisions} decisions, lost ${s.lostDecisions}, refused ${s.rejected}; load average ${load.toFixed(1)}\n    CPU ms/event: ${cpu(s)}`;
  return [
    `live load at ${b.rate} events/s (SLA ${slaMs} ms), in the order run:`,
    line('without a simulation', b.without[0], b.loadAverage.without[0]),
    ...b.with.map((s, i) => line('with a simulation beside', s, b.loadAverage.with[i])),
    line('without a simulation', b.without[1], b.loadAverage.without[1]),
    `  the simulation (niceness ${b.simulation.niceness}): ${b.simulation.runs} whole run(s), ${b.simulation.events} events replayed, ${b.simulation.eventsPerSecond} events/s while running (read and replay); ${b.simulation.cpuSeconds} s of CPU, ${b.simulation.cpuPercent} % of one core over ${b.simulation.seconds} s`,
  ].join('\n');
}

/**
 * Seconds until Cassandra runs no compaction (`system_views.sstable_tasks` empty twice in a row, a second
 * apart), or null after `timeoutMs`.
 */
async function compactionsSettled(
  cql: Parameters<typeof writeBatched>[0],
  timeoutMs: number,
): Promise<number | null> {
  const started = nowMs();
  let quiet = 0;
  while (nowMs() - started < timeoutMs) {
    const tasks = (await cql.execute('SELECT kind FROM system_views.sstable_tasks')).rowLength;
    quiet = tasks === 0 ? quiet + 1 : 0;
    if (quiet >= 2) return Math.round((nowMs() - started) / 100) / 10;
    await sleep(1_000);
  }
  return null;
}

/** An imported customer has a data key: one missing is a bug of the bench's setup. */
function missingKey(customerId: string): never {
  throw new Error(`customer ${customerId} has no data key after the import`);
}

/**
 * Months of prior events of every customer, in proportion to how often they come (at most
 * HISTORY_MAX_EVENTS; rare customers often have none), ending the day before the run: the rows the live
 * path would have written (ContextRepository.historyWrites), written in bulk.
 */
async function writeHistory(
  repo: ContextRepository,
  dataKeyOf: (customerId: string) => Promise<DataKey>,
  cql: Parameters<typeof writeBatched>[0],
  factory: EventFactory,
  frequency: VisitFrequency,
  people: SyntheticCustomer[],
  months: number,
  timeZone: string,
  partitions: number,
): Promise<{ customers: number; events: number; writeSeconds: number }> {
  const started = performance.now();
  const toMs = Date.now() - DAY_MS;
  const fromMs = toMs - months * 30 * DAY_MS;
  let events = 0;
  let withHistory = 0;
  const rnd = prng(0x9e3779b9);
  // A slice of customers at a time: the writes of all of them would not fit comfortably in memory.
  for (let i = 0; i < people.length; i += 2_000) {
    const groups: BulkWrite[][] = [];
    const slice = people.slice(i, i + 2_000);
    const keys = await Promise.all(slice.map((customer) => dataKeyOf(customer.id)));
    slice.forEach((customer, k) => {
      const index = i + k;
      const expected =
        index < frequency.size ? frequency.weight(index) * HISTORY_EVENTS_PER_MONTH * months : 20;
      const count = Math.min(HISTORY_MAX_EVENTS, Math.floor(expected + rnd()));
      if (!count) return;
      withHistory++;
      events += count;
      const writes = repo.historyWrites(
        factory.history(customer, count, fromMs, toMs),
        keys[k],
        timeZone,
        partitionOf(customer.id, partitions),
      );
      for (let w = 0; w < writes.length; w += 40) groups.push(writes.slice(w, w + 40));
    });
    const failed = await writeBatched(cql, groups, { groupsPerBatch: 1, concurrency: 32 });
    if (failed.length)
      throw new Error(`history: ${failed.length} batches failed: ${failed[0].error.message}`);
  }
  return {
    customers: withHistory,
    events,
    writeSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

/** Customers of the idle probe: outside the visit-frequency draw, each with a little history. */
function probeCustomers(): SyntheticCustomer[] {
  return Array.from({ length: 8 }, (_, i) => ({
    id: `b-probe-${i}`,
    age: 41,
    gender: 'M' as const,
    region: 'Bundang',
    creditTier: 'A',
    marketingConsent: true,
    loyaltyCard: `BLC-probe-${i}`,
    attributes: { segment: 'young-family' },
  }));
}

/** Follows DECISIONS and offers, keyed by event id. */
class Tracker {
  /** refused: answered OVERLOADED_RETRY or another error, so not stored and not expected to be decided */
  scheduled = new Map<
    string,
    { atMs: number; purchase: boolean; channel: string; refused?: boolean; ackMs?: number }
  >();
  decisions = new Map<string, { decidedAtMs: number; outcome: string; count: number; latencyMs: number }>();
  offers = new Map<string, { atMs: number; count: number }>();

  decision(d: DecisionRecord): void {
    const seen = this.decisions.get(d.eventId);
    if (seen) seen.count++;
    else
      this.decisions.set(d.eventId, {
        decidedAtMs: Date.parse(d.decidedAt),
        outcome: d.outcome,
        count: 1,
        latencyMs: d.latencyMs,
      });
  }

  offer(o: OfferMessage): void {
    const seen = this.offers.get(o.eventId);
    if (seen) seen.count++;
    else this.offers.set(o.eventId, { atMs: nowMs(), count: 1 });
  }
}

/** p50 and max of a window's answer times, ms (Infinity: unanswered) */
function answered(ms: number[]): { p50: number; max: number } {
  const { p50, max } = summarize(ms);
  return { p50, max };
}

/** Epoch milliseconds with sub-millisecond resolution. */
const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One open-loop send phase: the events' ids, acknowledgement latencies and failures. */
interface Phase {
  rate: number;
  seconds: number;
  startMs: number;
  endMs: number;
  ids: string[];
  acks: number[];
  sendErrors: number;
  rejected: number;
  inflight: Array<Promise<void>>;
}

async function send(b: Bench, rate: number, seconds: number): Promise<Phase> {
  const total = Math.round(rate * seconds);
  const phase: Phase = {
    rate,
    seconds,
    startMs: nowMs() + 20,
    endMs: 0,
    ids: [],
    acks: [],
    sendErrors: 0,
    rejected: 0,
    inflight: [],
  };
  let i = 0;
  while (i < total) {
    const due = Math.min(total, Math.floor(((nowMs() - phase.startMs) * rate) / 1000) + 1);
    for (; i < due; i++) {
      const scheduledMs = phase.startMs + (i * 1000) / rate;
      const { kind, body } = b.factory.next(new Date(scheduledMs).toISOString());
      request(b, phase, body, scheduledMs, kind === 'purchase');
    }
    await sleep(1);
  }
  phase.endMs = nowMs();
  return phase;
}

function request(
  b: Bench,
  phase: Phase,
  body: Record<string, unknown>,
  scheduledMs: number,
  purchase: boolean,
): void {
  const id = body['id'] as string;
  phase.ids.push(id);
  b.tracker.scheduled.set(id, { atMs: scheduledMs, purchase, channel: body['channel'] as string });
  phase.inflight.push(
    b.nc
      .request(Subjects.inbound(body['channel'] as string, body['type'] as string), encodeJson(body), {
        timeout: 30_000,
      })
      .then(
        (m) => {
          const ackMs = nowMs() - scheduledMs;
          phase.acks.push(ackMs);
          b.tracker.scheduled.get(id)!.ackMs = ackMs;
          if (!(decodeJson(m.data) as IngestReply).ok) {
            phase.rejected++;
            b.tracker.scheduled.get(id)!.refused = true;
          }
        },
        () => void phase.sendErrors++,
      ),
  );
}

/**
 * Waits until every request is acknowledged, EVENTS and ENRICHED have nothing pending and every offer
 * decision's offer has arrived (or the deadline); then reads the decisions not published on DECISIONS
 * ("none": no campaign won) from Cassandra. Returns seconds from `fromMs` until the streams drained.
 */
async function settle(
  b: Bench,
  phases: Phase[],
  fromMs: number,
  deadlineS: number,
  onLag?: (lag: Record<string, StreamLag>) => void,
): Promise<number | null> {
  await Promise.all(phases.flatMap((p) => p.inflight));
  const deadline = nowMs() + deadlineS * 1000;
  const ids = phases.flatMap((p) => p.ids);
  let drainedAt: number | null = null;
  while (nowMs() < deadline) {
    const lag = await b.lag.sample();
    onLag?.(lag);
    if (totalPending(lag) === 0) {
      drainedAt ??= nowMs();
      const offersPending = ids.some(
        (id) => b.tracker.decisions.get(id)?.outcome === 'offer' && !b.tracker.offers.has(id),
      );
      if (!offersPending || nowMs() - drainedAt > 5_000) break;
    } else drainedAt = null;
    await sleep(drainedAt ? 50 : 250);
  }
  const unpublished = ids.filter(
    (id) =>
      b.tracker.scheduled.get(id)?.purchase &&
      !b.tracker.scheduled.get(id)?.refused &&
      !b.tracker.decisions.has(id),
  );
  await mapBounded(unpublished, 32, async (id) => {
    const channel = b.tracker.scheduled.get(id)?.channel ?? 'pos';
    const record = await b.decisions.findById(decisionIdOf({ channel, id }));
    if (record)
      b.tracker.decisions.set(id, {
        decidedAtMs: Date.parse(record.decidedAt),
        outcome: record.outcome,
        count: 1,
        latencyMs: record.latencyMs,
      });
  });
  return drainedAt === null ? null : Math.round((drainedAt - fromMs) / 100) / 10;
}

async function hotTier(b: Bench): Promise<{ hits: number; misses: number } | null> {
  try {
    const body = (await (await fetch(`${b.contextUrl}/v1/context/stats`)).json()) as {
      cache: { hits: number; misses: number };
    };
    return { hits: body.cache.hits, misses: body.cache.misses };
  } catch {
    return null;
  }
}

/** `service/statement` → requests so far, from every service's /metrics; null when one cannot be read. */
async function cassandraRequests(b: Bench): Promise<Map<string, number> | null> {
  const counts = new Map<string, number>();
  try {
    for (const [service, url] of Object.entries(b.serviceUrls)) {
      const text = await (await fetch(`${url}/metrics`)).text();
      for (const match of text.matchAll(/^nunchi_cassandra_requests_total\{([^}]*)\} (\d+)/gm)) {
        const name = /statement="([^"]*)"/.exec(match[1])?.[1] ?? 'other';
        const key = `${service}/${name}`;
        counts.set(key, (counts.get(key) ?? 0) + Number(match[2]));
      }
    }
  } catch {
    return null;
  }
  return counts;
}

function cassandraPerEvent(
  before: Map<string, number> | null,
  after: Map<string, number> | null,
  events: number,
): StepResult['cassandraPerEvent'] {
  if (!before || !after || events === 0) return null;
  const byStatement: Record<string, number> = {};
  let total = 0;
  for (const [key, count] of after) {
    const delta = count - (before.get(key) ?? 0);
    if (delta <= 0) continue;
    byStatement[key] = Math.round((delta / events) * 1000) / 1000;
    total += delta;
  }
  return { total: Math.round((total / events) * 1000) / 1000, byStatement };
}

interface Snapshot {
  procs: Record<string, ProcSample | undefined>;
  hot: { hits: number; misses: number } | null;
  cassandra: Map<string, number> | null;
  atMs: number;
}

const sampleProcs = (b: Bench) =>
  Object.fromEntries(Object.entries(b.pids).map(([n, pid]) => [n, sampleProcess(pid)]));

async function snapshot(b: Bench): Promise<Snapshot> {
  return {
    procs: sampleProcs(b),
    hot: await hotTier(b),
    cassandra: await cassandraRequests(b),
    atMs: nowMs(),
  };
}

async function runStep(
  b: Bench,
  kind: StepResult['kind'],
  rate: number,
  seconds: number,
  drainDeadlineS: number,
): Promise<StepResult> {
  const before = await snapshot(b);
  const phase = await send(b, rate, seconds);
  const drainS = await settle(b, [phase], phase.endMs, drainDeadlineS);
  return measure(b, kind, phase, before, await snapshot(b), drainS);
}

/** The step's figures; forgets its events afterwards. */
function measure(
  b: Bench,
  kind: StepResult['kind'],
  phase: Phase,
  before: Snapshot,
  after: Snapshot,
  drainS: number | null,
): StepResult {
  const { tracker } = b;
  const toDecision: number[] = [];
  const toOffer: number[] = [];
  const outcomes: Record<string, number> = {};
  let purchases = 0;
  let lostDecisions = 0;
  let lostOffers = 0;
  let duplicateDecisions = 0;
  let duplicateOffers = 0;
  for (const id of phase.ids) {
    const scheduled = tracker.scheduled.get(id)!;
    const d = tracker.decisions.get(id);
    const o = tracker.offers.get(id);
    if (d && d.count > 1) duplicateDecisions += d.count - 1;
    if (d?.outcome === 'offer' && !o) lostOffers++;
    // Latency and outcomes over purchases: each has a decision, published or (none) read back from Cassandra.
    if (scheduled.purchase && !scheduled.refused) {
      purchases++;
      if (d) {
        toDecision.push(d.decidedAtMs - scheduled.atMs);
        outcomes[d.outcome] = (outcomes[d.outcome] ?? 0) + 1;
      } else lostDecisions++;
    }
    if (o) {
      toOffer.push(o.atMs - scheduled.atMs);
      if (o.count > 1) duplicateOffers += o.count - 1;
    }
  }
  for (const id of phase.ids) {
    tracker.scheduled.delete(id);
    tracker.decisions.delete(id);
    tracker.offers.delete(id);
  }
  const sent = phase.ids.length;
  const elapsedS = (after.atMs - before.atMs) / 1000;
  const processes: Record<string, ProcessUsage | undefined> = {};
  let systemCpuMs = 0;
  for (const name of Object.keys(b.pids)) {
    const usage = usageBetween(before.procs[name], after.procs[name], elapsedS);
    if (!usage) {
      processes[name] = undefined;
      continue;
    }
    const cpuMs = (after.procs[name]!.cpuSeconds - before.procs[name]!.cpuSeconds) * 1000;
    processes[name] = { ...usage, cpuMsPerEvent: Math.round((cpuMs / Math.max(sent, 1)) * 1000) / 1000 };
    if (name !== 'loadgen') systemCpuMs += cpuMs;
  }
  const hits = before.hot && after.hot ? after.hot.hits - before.hot.hits : NaN;
  const misses = before.hot && after.hot ? after.hot.misses - before.hot.misses : NaN;
  const sendSeconds = Math.max((phase.endMs - phase.startMs) / 1000, 0.001);
  const decisions = toDecision.length;
  return {
    kind,
    offeredRate: phase.rate,
    durationS: phase.seconds,
    sent,
    achievedSendRate: Math.round(sent / sendSeconds),
    sendErrors: phase.sendErrors,
    rejected: phase.rejected,
    purchases,
    decisions,
    decisionsPerSec: Math.round(decisions / sendSeconds),
    eventToDecision: summarize(toDecision),
    eventToOffer: summarize(toOffer),
    onTimeOffers: toOffer.filter((x) => x <= b.slaMs).length,
    ack: summarize(phase.acks),
    outcomes,
    lateShare: round3((outcomes['late'] ?? 0) / Math.max(decisions, 1)),
    offerShare: round3((outcomes['offer'] ?? 0) / Math.max(purchases, 1)),
    lostDecisions,
    lostOffers,
    duplicateDecisions,
    duplicateOffers,
    hotTier: Number.isNaN(hits)
      ? null
      : { hits, misses, hitRatio: round3(hits / Math.max(hits + misses, 1)) },
    drainS,
    processes,
    cpuMsPerEvent: Math.round((systemCpuMs / Math.max(sent, 1)) * 1000) / 1000,
    cassandraPerEvent: cassandraPerEvent(before.cassandra, after.cassandra, sent - phase.rejected),
  };
}

/**
 * A few single events with the system idle: each probe customer makes a visit (so it is in the hot tier,
 * as a customer at the till is), then a purchase that a store promotion matches; one at a time, 300 ms apart.
 */
async function idleProbe(b: Bench, probes: SyntheticCustomer[]): Promise<IdleProbe> {
  const sendToDecision: number[] = [];
  const receiptToDecision: number[] = [];
  const sendToOffer: number[] = [];
  const phase: Phase = {
    rate: 0,
    seconds: 0,
    startMs: nowMs(),
    endMs: 0,
    ids: [],
    acks: [],
    sendErrors: 0,
    rejected: 0,
    inflight: [],
  };
  for (const [i, customer] of probes.entries()) {
    const at = new Date().toISOString();
    const visit = b.factory.event('visit', customer, at, `probe-${Date.now().toString(36)}-${i}-v`);
    request(b, phase, { ...visit, storeId: 'bundang-01' }, nowMs(), false);
    await sleep(300);
    const id = `probe-${Date.now().toString(36)}-${i}-p`;
    const sentMs = nowMs();
    const items = [{ sku: 'mea-1', category: 'meat', quantity: 5, unitPrice: 32000 }];
    request(
      b,
      phase,
      {
        id,
        type: 'purchase',
        channel: 'pos',
        occurredAt: new Date().toISOString(),
        customer: { id: customer.id },
        storeId: 'bundang-01',
        payload: { amount: 160000, currency: 'KRW', items },
      },
      sentMs,
      true,
    );
    const deadline = sentMs + 3_000;
    while (
      nowMs() < deadline &&
      !(
        b.tracker.decisions.get(id) &&
        (b.tracker.decisions.get(id)!.outcome !== 'offer' || b.tracker.offers.has(id))
      )
    )
      await sleep(1);
    const d = b.tracker.decisions.get(id);
    if (d) {
      sendToDecision.push(d.decidedAtMs - sentMs);
      receiptToDecision.push(d.latencyMs);
    }
    const o = b.tracker.offers.get(id);
    if (o) sendToOffer.push(o.atMs - sentMs);
    await sleep(300);
  }
  phase.endMs = nowMs();
  await settle(b, [phase], phase.endMs, 10);
  for (const id of phase.ids) {
    b.tracker.scheduled.delete(id);
    b.tracker.decisions.delete(id);
    b.tracker.offers.delete(id);
  }
  return {
    count: probes.length,
    sendToDecision: summarize(sendToDecision),
    receiptToDecision: summarize(receiptToDecision),
    sendToOffer: summarize(sendToOffer),
  };
}

/**
 * Twice the capacity for `seconds`, then straight back to a low rate without waiting for the backlog; the
 * streams' lag sampled every second until it is back to zero. On-time offers are counted per window of
 * scheduled send time and set beside the capacity step's rate of on-time offers.
 */
async function runOverload(
  b: Bench,
  o: Pick<
    OverloadResult,
    'capacity' | 'capacitySource' | 'rate' | 'seconds' | 'recoveryRate' | 'recoverySeconds'
  > & { drainDeadlineS: number; reference: StepResult | null },
): Promise<OverloadResult> {
  b.log(
    `overload: ${o.rate} events/s for ${o.seconds} s (2 × ${o.capacity}), then ${o.recoveryRate} events/s for ${o.recoverySeconds} s`,
  );
  const lag: LagSample[] = [];
  const t0 = nowMs();
  let procsBefore = { atMs: nowMs(), procs: sampleProcs(b) };
  const cpuSince = () => {
    const now = { atMs: nowMs(), procs: sampleProcs(b) };
    const seconds = (now.atMs - procsBefore.atMs) / 1000;
    const cpu: Record<string, number> = {};
    for (const [name, after] of Object.entries(now.procs)) {
      const usage = usageBetween(procsBefore.procs[name], after, seconds);
      if (usage) cpu[name] = usage.cpuPercent;
    }
    procsBefore = now;
    return cpu;
  };
  const record = (l: Record<string, StreamLag>) =>
    lag.push({
      cpuPercent: cpuSince(),
      tS: Math.round((nowMs() - t0) / 100) / 10,
      streams: Object.fromEntries(
        Object.entries(l).map(([stream, s]) => [
          stream,
          {
            pending: s.pending,
            oldestAgeMs: Math.round(s.oldestAgeMs),
            maxConsumer: Math.max(0, ...Object.values(s.byConsumer)),
          },
        ]),
      ),
    });
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const started = nowMs();
      record(await b.lag.sample().catch(() => ({})));
      await sleep(Math.max(0, 1_000 - (nowMs() - started)));
    }
  })();

  const before = await snapshot(b);
  const overload = await send(b, o.rate, o.seconds);
  const boundary = await snapshot(b);
  const recovery = await send(b, o.recoveryRate, o.recoverySeconds);
  sampling = false;
  await sampler;
  let lastLagAt = 0;
  const emptyS = await settle(b, [overload, recovery], overload.endMs, o.drainDeadlineS, (l) => {
    if (nowMs() - lastLagAt >= 1_000) {
      lastLagAt = nowMs();
      record(l);
    }
  });
  const after = await snapshot(b);
  const overloadEndS = (overload.endMs - t0) / 1000;
  const caughtUp = lag.find(
    (l) =>
      l.tS >= overloadEndS &&
      LAG_STREAMS.every((stream) => l.streams[stream] && l.streams[stream].oldestAgeMs < CAUGHT_UP_MS),
  );
  const drainS = caughtUp ? Math.round((caughtUp.tS - overloadEndS) * 10) / 10 : emptyS;
  const recoveryEmptyS =
    emptyS === null
      ? null
      : Math.max(0, Math.round((emptyS - (recovery.endMs - overload.endMs) / 1000) * 10) / 10);

  // Windows before measure() forgets the events.
  const capacityRate = o.reference ? o.reference.onTimeOffers / o.reference.durationS : null;
  const onTime = (id: string) => {
    const offer = b.tracker.offers.get(id);
    return offer !== undefined && offer.atMs - b.tracker.scheduled.get(id)!.atMs <= b.slaMs;
  };
  const windows: OverloadWindow[] = [];
  for (const [phase, offsetS] of [
    [overload, 0],
    [recovery, (recovery.startMs - overload.startMs) / 1000],
  ] as const) {
    const perWindow = phase.rate * WINDOW_S;
    for (let w = 0; w * perWindow < phase.ids.length; w++) {
      const ids = phase.ids.slice(w * perWindow, (w + 1) * perWindow);
      const seconds = ids.length / phase.rate;
      const onTimeOffers = ids.filter(onTime).length;
      windows.push({
        startS: Math.round((offsetS + w * WINDOW_S) * 10) / 10,
        offeredRate: phase.rate,
        sent: ids.length,
        purchases: ids.filter((id) => b.tracker.scheduled.get(id)!.purchase).length,
        onTimeOffers,
        onTimeOffersPerSec: Math.round((onTimeOffers / seconds) * 10) / 10,
        ofCapacity: capacityRate ? round3(onTimeOffers / seconds / capacityRate) : null,
        late: ids.filter((id) => b.tracker.decisions.get(id)?.outcome === 'late').length,
        refused: ids.filter((id) => b.tracker.scheduled.get(id)!.refused).length,
        ack: answered(ids.map((id) => b.tracker.scheduled.get(id)!.ackMs ?? Infinity)),
      });
    }
  }
  const overloadWindows = windows.filter((w) => w.offeredRate === o.rate && w.startS < o.seconds);
  const shares = overloadWindows.map((w) => w.ofCapacity).filter((x): x is number => x !== null);
  const overloadStep = measure(b, 'overload', overload, before, boundary, drainS);
  const recoveryStep = measure(b, 'recovery', recovery, boundary, after, recoveryEmptyS);
  return {
    capacity: o.capacity,
    capacitySource: o.capacitySource,
    rate: o.rate,
    seconds: o.seconds,
    recoveryRate: o.recoveryRate,
    recoverySeconds: o.recoverySeconds,
    windowSeconds: WINDOW_S,
    capacityOnTimeOffersPerSec: capacityRate === null ? null : Math.round(capacityRate * 10) / 10,
    windows,
    minOfCapacity: shares.length ? Math.min(...shares) : null,
    lag,
    drainS,
    emptyS,
    lost:
      overloadStep.lostDecisions +
      overloadStep.lostOffers +
      recoveryStep.lostDecisions +
      recoveryStep.lostOffers,
    overload: overloadStep,
    recovery: recoveryStep,
  };
}

export function formatStep(s: StepResult): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
  const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
  return (
    `${s.kind === 'ramp' ? '' : `${s.kind} `}${String(s.offeredRate).padStart(5)} ev/s offered, ${String(s.achievedSendRate).padStart(5)} sent` +
    ` | event→decision p50 ${f(s.eventToDecision.p50)} p95 ${f(s.eventToDecision.p95)} p99 ${f(s.eventToDecision.p99)} max ${f(s.eventToDecision.max)} ms` +
    ` | event→offer p99 ${f(s.eventToOffer.p99)} ms | late ${pct(s.lateShare)} | offers/purchases ${pct(s.offerShare)}` +
    ` | hot-tier hits ${s.hotTier ? pct(s.hotTier.hitRatio) : '-'}${s.rejected ? ` | refused ${s.rejected}` : ''} | lost ${s.lostDecisions}+${s.lostOffers}, dup ${s.duplicateDecisions}+${s.duplicateOffers}` +
    ` | CPU ${s.cpuMsPerEvent} ms/event | drain ${s.drainS ?? '>deadline'} s`
  );
}

/**
 * The examples and a realistic spread of store × category promotions: most purchases match none of them
 * (no campaign that matches every purchase), so offers are a minority of purchases, as in a store.
 */
function writeCampaigns(dir: string): string[] {
  const files = EXAMPLE_CAMPAIGNS.map((f) => projectPath('campaigns', 'examples', f));
  for (const definition of storePromotions()) {
    const file = join(dir, `${definition.id}.yaml`);
    writeFileSync(file, stringify(definition));
    files.push(file);
  }
  return files;
}

/**
 * Waits until the context service has every partition and has preloaded the customers active in them
 * (HotTierPreload), as a replica running for a while would have them; null when the preload is off or did not
 * finish within 300 s (the run goes on either way).
 */
async function waitPreload(
  contextUrl: string,
  partitions: number,
): Promise<{ days: number; customers: number; seconds: number } | null> {
  const started = performance.now();
  while (performance.now() - started < 300_000) {
    const body = (await (await fetch(`${contextUrl}/v1/context/stats`)).json()) as {
      partitions: { owned: number[] };
      preload: { days: number; pending: number[]; loaded: number };
    };
    if (body.preload.days === 0) return null;
    if (body.partitions.owned.length === partitions && body.preload.pending.length === 0)
      return {
        days: body.preload.days,
        customers: body.preload.loaded,
        seconds: Math.round((performance.now() - started) / 100) / 10,
      };
    await new Promise((r) => setTimeout(r, 500));
  }
  return null;
}

async function waitCampaigns(decisionUrl: string, count: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const body = (await (await fetch(`${decisionUrl}/v1/campaigns`)).json()) as {
      loaded: Record<string, number>;
    };
    if (Object.keys(body.loaded).length >= count) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the decision service did not load ${count} campaigns in time`);
}
