/**
 * Simulation benchmark: `nunchi campaigns simulate` end to end — the read (the month index by token range,
 * then each customer's history: profile, what came before the period, the period's events) and the replay
 * (context fold, decisions, report) — on a generated month of history.
 *
 *   npm run bench:simulate                    (200,000 events of 5,000 customers; a few minutes on 2 cores)
 *   node dist/bench/simulate.js --quick       (30,000 events of 2,000 customers)
 *   node dist/bench/simulate.js --events N --customers M
 *   node dist/bench/simulate.js --reuse --workers 2   (keep the history written by an earlier run of the day; and sharded)
 *   node dist/bench/simulate.js --reuse --runs 9      (nine runs on the same history: the read's spread and median)
 *
 * The history (bench/population.ts, seeded): customers by Zipf–Mandelbrot visit frequency, events of the
 * mix of the whole-system run (half purchases) over the 30 days before today (UTC), written as the live path
 * would have written them (ContextRepository.historyWrites) into a keyspace of its own
 * (NUNCHI_BENCH_KEYSPACE, default nunchi_bench_simulate, dropped first; `--reuse` keeps the history of an
 * earlier run of the same size and day). Customers have profiles (age, gender, region, credit tier).
 * Campaigns: the three examples and 50 store × category promotions with caps, budgets and a 10 % holdout, stored as versions applied before the month began, so that `--with-live` finds them live.
 * Measured: `simulate bundang-dad-beer --with-live` over the month, `--runs` times (3 unless said): the read
 * from Cassandra and the in-memory replay apart, events/s (wall-clock, and of CPU for the replay), each run's
 * and their median, every run checked to give the same report; with --workers N also sharded, and checked to
 * give the same offers.
 */
import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';
import {
  CustomerKeyRepository,
  customerStores,
  historyRepository,
  inGroupsOf,
  type ContextRepository,
  writeBatched,
  type BulkWrite,
} from '@nunchi/cassandra';
import { projectPath, requireIdentityKey } from '@nunchi/config';
import { localDay } from '@nunchi/context-model';
import { forEachBounded, packHistory, READ_AHEAD_CHUNK } from '@nunchi/operations';
import { parseCampaign, type SimulationReport } from '@nunchi/rules';
import { Resources } from '../apps/cli/src/resources.js';
import { formatTimings, simulateCampaign, simulateWithWorkers } from '../apps/cli/src/commands/simulate.js';
import { portsOf } from '../apps/cli/src/commands/campaigns.js';
import { customers, EventFactory, EXAMPLE_CAMPAIGNS, storePromotions, VisitFrequency } from './population.js';
import {
  benchArgs,
  benchConfig,
  benchKeyspace,
  dropBenchKeyspace,
  percentile,
  prng,
  round,
} from './support.js';

const DAY_MS = 86_400_000;

export interface SimulateBenchOptions {
  /** events of history @default 200_000 */
  events?: number;
  /** keep the history of an earlier run of the same size and day instead of writing it again */
  reuse?: boolean;
  /** also run it sharded over this many worker processes (`--workers`), and compare the reports */
  workers?: number;
  /** read the history row by row: delete its packed weeks instead of packing them (`--unpacked`) */
  unpacked?: boolean;
  /** the simulation run this many times on the same history, the figures each run's and their median @default 3 */
  runs?: number;
  /** customers sharing them @default 5_000 */
  customers?: number;
  log?: (line: string) => void;
}

export async function runSimulateBench(options: SimulateBenchOptions = {}) {
  const log = options.log ?? ((line: string) => console.log(line));
  const total = options.events ?? 200_000;
  const count = options.customers ?? 5_000;
  const keyspace = process.env['NUNCHI_BENCH_KEYSPACE'] ?? 'nunchi_bench_simulate';
  const config = benchConfig({ ...process.env, NUNCHI_BENCH_KEYSPACE: keyspace });
  // after benchConfig, which may have turned development mode on for this process and the ones it starts
  const env = { ...process.env, NUNCHI_BENCH_KEYSPACE: keyspace };
  const timeZone = config.domain.timeZone;
  let cql = await benchKeyspace(config);
  const seed = 20261202;
  // The month ends at the start of today (UTC): the same history for every run of a day (--reuse).
  const toMs = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const fromMs = toMs - 30 * DAY_MS;
  const appliedAt = new Date(fromMs - DAY_MS);
  const label = `bench ${total}/${count} profiles`;
  const definitions = campaigns();
  try {
    const stored = options.reuse
      ? (
          await cql.execute(
            'SELECT applied_at, applied_by FROM campaigns WHERE campaign_id = ? AND version = 1',
            [definitions[0].id],
            { prepare: true },
          )
        ).first()
      : null;
    if (
      stored?.['applied_by'] === label &&
      (stored['applied_at'] as Date).getTime() === appliedAt.getTime()
    ) {
      log(`history: reusing the ${label.slice(6)} (events/customers) of ${config.cassandra.keyspace}`);
    } else {
      await writeHistory();
    }

    async function writeHistory(): Promise<void> {
      await dropBenchKeyspace(cql, config);
      await cql.shutdown();
      cql = await benchKeyspace(config);
      const people = customers(count, seed);
      const frequency = new VisitFrequency(count, seed, { q: count / 50 });
      const factory = new EventFactory(people, frequency, seed, 'sim');
      const repo = historyRepository(cql, config.domain);
      // each customer's data key, stored with its history (sealed under it), as its first event would have
      const keys = new CustomerKeyRepository(cql);
      const kek = requireIdentityKey(config);
      const rnd = prng(seed);
      const started = performance.now();
      let written = 0;
      for (let i = 0; i < people.length; i += 1_000) {
        const groups: BulkWrite[][] = [];
        people.slice(i, i + 1_000).forEach((customer, k) => {
          const n = Math.floor(frequency.weight(i + k) * (total / count) + rnd());
          if (!n) return;
          written += n;
          const { key, write } = keys.seedWrite(customer.id, kek, new Date());
          const writes = [
            write,
            ...repo.historyWrites(factory.history(customer, n, fromMs, toMs), key, timeZone),
          ];
          for (let w = 0; w < writes.length; w += 40) groups.push(writes.slice(w, w + 40));
        });
        const failed = await writeBatched(cql, groups, { groupsPerBatch: 1, concurrency: 32 });
        if (failed.length)
          throw new Error(`history: ${failed.length} batches failed: ${failed[0].error.message}`);
      }
      // Profiles, so that audiences on age, region and credit tier hold for some and read ctx (as live).
      const profiles = customerStores(cql, config.domain).customers;
      const at = new Date(fromMs - DAY_MS);
      for (let i = 0; i < people.length; i += 64)
        await Promise.all(
          people.slice(i, i + 64).map((p) =>
            profiles.upsert(
              {
                id: p.id,
                age: p.age,
                gender: p.gender,
                region: p.region,
                creditTier: p.creditTier,
                marketingConsent: p.marketingConsent,
                attributes: p.attributes,
              },
              at,
            ),
          ),
        );
      log(
        `history: ${written} events of ${count} customers (with profiles) written in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      for (const d of definitions) {
        await cql.execute(
          'INSERT INTO campaigns (campaign_id, version, state, definition, applied_at, applied_by) VALUES (?, 1, ?, ?, ?, ?)',
          [d.id, 'active', JSON.stringify(d), appliedAt, label],
          { prepare: true },
        );
        await cql.execute(
          'INSERT INTO campaign_index (bucket, campaign_id, latest_version, state, updated_at) VALUES (0, ?, 1, ?, ?)',
          [d.id, 'active', appliedAt],
          { prepare: true },
        );
      }
      log(`campaigns: ${definitions.length} stored as applied on ${appliedAt.toISOString()}`);
    }

    const resources = new Resources({ ...env, CASSANDRA_KEYSPACE: config.cassandra.keyspace });
    try {
      // Packed weeks, as the nightly `nunchi history pack` leaves them (docs/campaigns.md): every closed week.
      let packing: (Awaited<ReturnType<typeof packHistory>> & { seconds: number }) | undefined;
      if (options.unpacked) {
        await cql.execute('TRUNCATE customer_event_packs');
        log('packed weeks: none (--unpacked): the read is row by row');
      } else {
        const started = performance.now();
        const packed = await packHistory(await portsOf(resources));
        packing = { ...packed, seconds: Math.round((performance.now() - started) / 100) / 10 };
        log(
          `packed weeks (nunchi history pack): ${packed.packed} packed (${packed.events} events), ${packed.current} current already, ${packed.skipped} skipped, ${packed.customers} customers, weeks ${packed.fromWeek} to ${packed.toWeek}, in ${packing.seconds} s`,
        );
      }
      // The same simulation `runs` times: this machine's speed moves by a third within minutes, so a single
      // read rate says little; the figures are each run's and their median, and every run must decide alike.
      const runs: RunFigures[] = [];
      let result: Awaited<ReturnType<typeof simulateCampaign>> | undefined;
      for (let run = 1; run <= (options.runs ?? 3); run++) {
        const thisRun = await simulateCampaign(resources, 'bundang-dad-beer', {
          from: new Date(fromMs).toISOString(),
          to: new Date(toMs).toISOString(),
          withLive: true,
          progress: process.stderr,
        });
        log(`run ${run}: ${formatTimings(thisRun.timings)}`);
        if (result && canonical(thisRun.report) !== canonical(result.report))
          throw new Error(`run ${run} gave another report than run 1`);
        result ??= thisRun;
        runs.push(runFigures(thisRun.timings));
      }
      if (!result) throw new Error('--runs must be at least 1');
      const t = result.timings;
      const median = (pick: (r: RunFigures) => number) =>
        percentile(
          runs.map(pick).sort((a, b) => a - b),
          50,
        );
      const figures = {
        events: t.events,
        customers: count,
        campaigns: definitions.length,
        runs: runs.length,
        ...(Object.fromEntries(
          (Object.keys(runs[0]) as Array<keyof RunFigures>).map((k) => [k, median((r) => r[k])]),
        ) as RunFigures),
        readEventsPerSecondEach: runs.map((r) => r.readEventsPerSecond),
        packedEvents: t.packedEvents,
        decisions: result.report.events.decisions,
        outcomes: result.report.outcomes,
      };
      if (runs.length > 1)
        log(
          `median of ${runs.length} runs: read from Cassandra ${figures.readEventsPerSecond} events/s (each: ${figures.readEventsPerSecondEach.join(', ')}), replay ${figures.replayCpuEventsPerSecond} events/s of CPU`,
        );
      // The floor the row-by-row read is judged against: the same rows fetched and not opened. (With packed
      // weeks the read fetches packs instead, and this floor does not apply.)
      let fetchedUnopened: { seconds: number; eventsPerSecond: number } | undefined;
      if (options.unpacked) {
        const raw = await fetchUnopened(historyRepository(cql, config.domain), fromMs, toMs, timeZone);
        log(
          `the same events fetched as the read fetches them, and not opened: ${raw.rows} in ${raw.seconds} s (${raw.rowsPerSecond} events/s) — keys, profiles, daily rows and opening what is fetched take the rest`,
        );
        fetchedUnopened = { seconds: raw.seconds, eventsPerSecond: raw.rowsPerSecond };
      }
      let shardedFigures:
        { workers: number; seconds: number; eventsPerSecond: number; rounds: number } | undefined;
      if (options.workers) {
        const run = await simulateWithWorkers(resources, 'bundang-dad-beer', {
          workers: options.workers,
          from: new Date(fromMs).toISOString(),
          to: new Date(toMs).toISOString(),
          withLive: true,
        });
        const one = canonical(result.report);
        const sharded = canonical(run.report);
        if (sharded !== one)
          throw new Error(
            `--workers ${options.workers} gave another report than one process:\n${sharded}\n${one}`,
          );
        shardedFigures = {
          workers: run.workers,
          seconds: Math.round(run.seconds * 10) / 10,
          eventsPerSecond: Math.round(t.events / run.seconds),
          rounds: run.rounds,
        };
        log(
          `${options.workers} worker processes: ${t.events} events in ${shardedFigures.seconds} s (${shardedFigures.eventsPerSecond} events/s, read and replay, process start-up included), ${run.rounds} round(s), the same report as one process`,
        );
      }
      log(
        JSON.stringify({
          ...figures,
          ...(fetchedUnopened ? { fetchedUnopened } : {}),
          ...(packing ? { packing } : {}),
          ...(shardedFigures ? { sharded: shardedFigures } : {}),
        }),
      );
      return { ...figures, fetchedUnopened, packing, sharded: shardedFigures };
    } finally {
      await resources.close();
    }
  } finally {
    await cql.shutdown();
  }
}

/**
 * Every event of [fromMs, toMs) fetched as the simulation's read fetches it — the month index over the whole
 * ring (customersInRanges), then the period's events many customers a request (periodBodies), 200 customers
 * a chunk, two chunks at a time — without opening (parsing, decrypting) a row.
 */
async function fetchUnopened(history: ContextRepository, fromMs: number, toMs: number, timeZone: string) {
  const monthsOf = await history.customersInRanges(history.shardRanges(0, 1));
  const customers = [...monthsOf].map(([customerId, months]) => ({ customerId, months }));
  const chunks = inGroupsOf(customers, READ_AHEAD_CHUNK);
  const started = performance.now();
  let rows = 0;
  await forEachBounded(chunks, 2, async (chunk) => {
    for (const bodies of (
      await history.periodBodies(chunk, localDay(fromMs, timeZone), toMs, timeZone)
    ).values())
      rows += bodies.length;
  });
  const seconds = (performance.now() - started) / 1000;
  return { rows, seconds: Math.round(seconds * 100) / 100, rowsPerSecond: Math.round(rows / seconds) };
}

/** One run's figures: seconds and events/s, wall-clock (the replay's also of CPU). */
type RunFigures = ReturnType<typeof runFigures>;

function runFigures(t: Awaited<ReturnType<typeof simulateCampaign>>['timings']) {
  const seconds = (t.readMs + t.replayMs) / 1000;
  return {
    seconds: round(seconds, 1),
    eventsPerSecond: Math.round(t.events / seconds),
    readSeconds: round(t.readMs / 1000, 1),
    readEventsPerSecond: Math.round(t.events / (t.readMs / 1000)),
    replaySeconds: round(t.replayMs / 1000, 1),
    replayEventsPerSecond: Math.round(t.events / (t.replayMs / 1000)),
    replayCpuEventsPerSecond: Math.round(t.events / (t.replayCpuMs / 1000)),
  };
}

/** A report as compared across shard counts: keys in order, money to the cent, without the explained sample. */
function canonical(report: SimulationReport): string {
  return JSON.stringify({ ...report, sample: report.sample.map((s) => s.eventId) }, (key, value: unknown) => {
    if (typeof value === 'number' && ['value', 'cost', 'valueLost', 'totalCost'].includes(key))
      return Math.round(value * 100) / 100;
    if (value && typeof value === 'object' && !Array.isArray(value))
      return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return value;
  });
}

/** The three examples and store × category promotions (as bench/system.ts applies them). */
function campaigns(): Array<Record<string, unknown> & { id: string }> {
  const examples = EXAMPLE_CAMPAIGNS.map((f) => {
    const d: Record<string, unknown> & { id: string } = {
      ...parseCampaign(readFileSync(projectPath('campaigns', 'examples', f), 'utf8')),
    };
    delete d['version'];
    return d;
  });
  return [...examples, ...storePromotions()];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { flags, numbers } = benchArgs(
    'usage: node dist/bench/simulate.js [--quick] [--events N] [--customers M] [--reuse] [--workers N] [--unpacked] [--runs N]\n  --quick        30,000 events of 2,000 customers (default 200,000 of 5,000)\n  --events N     events in the generated month\n  --customers M  customers they come from\n  --reuse        keep the history an earlier run of the day wrote\n  --workers N    simulate in N sharded worker processes\n  --unpacked     no packed weeks (nunchi history pack): the read row by row\n  --runs N       simulate N times on the same history: the figures of each run and their median (default 3)',
    {
      quick: 'flag',
      events: 'number',
      customers: 'number',
      reuse: 'flag',
      workers: 'number',
      unpacked: 'flag',
      runs: 'number',
    },
  );
  const quick = flags['quick'] === true;
  await runSimulateBench({
    events: numbers['events'] ?? (quick ? 30_000 : undefined),
    reuse: flags['reuse'] === true,
    workers: numbers['workers'],
    unpacked: flags['unpacked'] === true,
    runs: numbers['runs'],
    customers: numbers['customers'] ?? (quick ? 2_000 : undefined),
  });
}
