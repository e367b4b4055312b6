/**
 * npm run bench [-- --quick] [-- --system-only] [-- --rates 300,600] [-- --overload-rate N] [-- --profile] [-- --allow-dirty]
 * npm run bench -- --simulation-beside [RATE] [--quick]   (live p99 at RATE, default 500 events/s, without and with a
 *   simulation on history running beside it; prints only, writes no results)
 *
 * The whole system under open-loop load (bench/system.ts), then the component benchmarks with their peers
 * (decision engine vs json-rules-engine; ingestion; context vs PostgreSQL) where present. Prints tables and
 * the targets beside the measured figures, writes bench/results/<date>-<commit>.json and
 * latest.json, and the latency chart bench/results/latency.svg. Refuses to run from a tree with
 * uncommitted changes (results must name the code they measured) unless --allow-dirty.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { projectPath } from '@nunchi/config';
import { startOwnNats } from '../tools/sandbox.js';
import { reportProfiles } from './profile.js';
import { report, systemChart } from './report.js';
import { runSystemBench, type SystemBenchResult } from './system.js';
import { benchArgs } from './support.js';

/** the component benchmarks' own NATS server */
const COMPONENT_NATS_PORT = 14296;

const usage = `usage: npm run bench [-- options]
  --quick                     a smaller population and shorter steps (a smoke run; its results stay out of git)
  --system-only               the whole system only, without the component benchmarks
  --rates 300,600,1000        the ramp's rates, events/s (default 50,100,200,300,500,750,1000,1500,2000,3000;
                              quick: 100,300,1000)
  --overload-rate N           the overload step's rate, events/s (default: twice the measured capacity)
  --profile                   CPU profiles of every service: where the CPU goes
  --allow-dirty               run from a tree with uncommitted changes (a run not for the record)
  --simulation-beside [RATE]  live p99 at RATE (default 500 events/s) without and with a simulation on history
                              beside it; prints only, writes no results
  -h, --help                  this text`;

/** The command line, checked: an unknown option or a bad value is one line and exit 2, never a run. */
function parseCommandLine(argv: readonly string[]) {
  // `--simulation-beside` takes an optional rate: given none, the default.
  const i = argv.indexOf('--simulation-beside');
  const normalised =
    i >= 0 && !/^\d+$/.test(argv[i + 1] ?? '')
      ? [...argv.slice(0, i + 1), '500', ...argv.slice(i + 1)]
      : argv;
  const { flags, numbers, text } = benchArgs(
    usage,
    {
      quick: 'flag',
      'system-only': 'flag',
      'allow-dirty': 'flag',
      'overload-rate': 'number',
      rates: 'text',
      profile: 'flag',
      'simulation-beside': 'number',
    },
    undefined,
    normalised,
  );
  const rates = text['rates']?.split(',').map(Number);
  if (rates?.some((r) => !Number.isFinite(r) || r <= 0)) {
    console.error(
      `--rates needs comma-separated positive events/s, e.g. 300,600,1000, not ${text['rates']}\n${usage}`,
    );
    process.exit(2);
  }
  return {
    quick: flags['quick'] === true,
    systemOnly: flags['system-only'] === true,
    allowDirty: flags['allow-dirty'] === true,
    overloadRate: numbers['overload-rate'],
    rates,
    profile: flags['profile'] === true,
    simulationBeside: numbers['simulation-beside'],
  };
}

const { quick, systemOnly, allowDirty, overloadRate, rates, profile, simulationBeside } = parseCommandLine(
  process.argv.slice(2),
);
const SCHEMA_VERSION = 2;
const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * The commit measured; "-dirty" when tracked files differ from it or untracked files lie in the tree
 * (a worktree's node_modules symlink aside).
 */
function commit(): string {
  try {
    return (
      execSync('git rev-parse --short HEAD', { cwd: projectPath(), encoding: 'utf8' }).trim() +
      (execSync("git status --porcelain -- . ':!node_modules'", {
        cwd: projectPath(),
        encoding: 'utf8',
      }).trim()
        ? '-dirty'
        : '')
    );
  } catch {
    return 'unknown';
  }
}

interface ComponentRun {
  name: string;
  module: string;
  fn: string;
  format?: string;
  /** options for a --quick run */
  quickOptions?: object;
}

/** Component benchmarks live beside this file; each exports run…Bench(opts) and optionally format…Bench(result). */
const COMPONENTS: ComponentRun[] = [
  {
    name: 'decision',
    module: './decision.js',
    fn: 'runDecisionBench',
    format: 'formatDecisionBench',
    quickOptions: { sizes: [100, 1000], measureMs: 1000, jreMs: 2000, events: 500 },
  },
  {
    name: 'ingestion',
    module: './ingestion.js',
    fn: 'runIngestionBench',
    format: 'formatIngestionBench',
    quickOptions: { events: 5_000, customers: 2_000 },
  },
  {
    name: 'transport',
    module: './transport.js',
    fn: 'runTransportBench',
    format: 'formatTransportBench',
    quickOptions: { messages: 5_000, calls: 30_000 },
  },
  {
    name: 'context',
    module: './context.js',
    fn: 'runContextBench',
    format: 'formatContextBench',
    quickOptions: {
      events: 100_000,
      customers: 1_000,
      measured: 100,
      updates: 300,
      snapshots: 3_000,
      sqlQueries: 300,
    },
  },
];

async function main(): Promise<void> {
  if (simulationBeside) {
    // Not a run for the record: the step without and with a simulation beside, printed (runSystemBench logs it).
    await runSystemBench({ quick, log, simulationBeside, tracingComparison: false });
    return;
  }
  const measured = commit();
  if (measured.endsWith('-dirty') && !allowDirty)
    throw new Error(
      `the tree has uncommitted changes (${measured}): commit first, or pass --allow-dirty for a run that is not for the record`,
    );
  const startedAt = new Date().toISOString();
  const profileDir = profile ? mkdtempSync(join(tmpdir(), 'nunchi-profile-')) : undefined;
  const system: SystemBenchResult = await runSystemBench({
    quick,
    log,
    overloadRate,
    rates,
    ...(profileDir ? { profileDir } : {}),
  });
  if (profileDir) {
    log(`\nCPU profiles of the services over the whole run (${profileDir}):`);
    reportProfiles(profileDir, log);
  }
  const components: Record<string, unknown> = {};
  if (!systemOnly) {
    // Component runs that publish (ingestion) get a NATS server of their own: nothing is left in the
    // machine's streams for the next service to consume.
    const nats = await startOwnNats(COMPONENT_NATS_PORT, log);
    const env = { ...process.env, NATS_URL: nats.url, CASSANDRA_KEYSPACE: 'nunchi_bench' };
    try {
      for (const c of COMPONENTS) {
        let mod: Record<string, unknown>;
        try {
          mod = (await import(c.module)) as Record<string, unknown>;
        } catch {
          log(`(component benchmark ${c.name} not present)`);
          continue;
        }
        log(`\ncomponent benchmark: ${c.name}`);
        const result = await (mod[c.fn] as (o: object) => Promise<unknown>)({
          ...(quick ? c.quickOptions : {}),
          env,
          log,
        });
        components[c.name] = result;
        if (c.format && typeof mod[c.format] === 'function')
          console.log((mod[c.format] as (r: unknown) => string)(result));
      }
    } finally {
      nats.stop();
    }
  }

  const result = {
    schemaVersion: SCHEMA_VERSION,
    startedAt,
    finishedAt: new Date().toISOString(),
    commit: measured,
    quick,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      kernel: release(),
    },
    system,
    components,
  };
  const dir = projectPath('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const name = `${startedAt.slice(0, 10)}-${result.commit}${quick ? '-quick' : ''}.json`;
  writeFileSync(`${dir}/${name}`, `${JSON.stringify(result, null, 2)}\n`);
  // A quick run never replaces the committed full results.
  const latest = quick ? 'latest-quick' : 'latest';
  writeFileSync(`${dir}/${latest}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const chartName = quick ? 'latency-quick' : 'latency';
  writeFileSync(
    `${dir}/${chartName}.svg`,
    systemChart(system, `${result.machine.cpus} cores (${result.commit})`),
  );
  console.log(report(system));
  console.log(
    `results: bench/results/${name}, bench/results/${latest}.json, chart bench/results/${chartName}.svg`,
  );
  if (!quick) console.log('then: npm run bench:table (the README table from latest.json), and commit both');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
