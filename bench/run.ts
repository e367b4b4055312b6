/**
 * npm run bench [-- --quick] [-- --system-only]
 *
 * The whole system under open-loop load (bench/system.ts), then the component benchmarks with their peers
 * (decision engine vs json-rules-engine; ingestion; context vs PostgreSQL) where present. Prints tables,
 * writes bench/results/<date>-<commit>.json and latest.json, and the latency chart bench/results/latency.svg.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { projectPath } from '@nunchi/config';
import { latencyChart } from './chart.js';
import { startOwnNats } from '../tools/sandbox.js';
import { formatStep, runSystemBench, type SystemBenchResult } from './system.js';

/** the component benchmarks' own NATS server */
const COMPONENT_NATS_PORT = 14296;

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const systemOnly = args.includes('--system-only');
const log = (line: string) => process.stderr.write(`${line}\n`);

function commit(): string {
  try {
    return (
      execSync('git rev-parse --short HEAD', { cwd: projectPath(), encoding: 'utf8' }).trim() +
      (execSync('git status --porcelain', { cwd: projectPath(), encoding: 'utf8' }).trim() ? '-dirty' : '')
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
  const startedAt = new Date().toISOString();
  const system: SystemBenchResult = await runSystemBench({ quick, log });
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
    schemaVersion: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    commit: commit(),
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
  const points = (key: 'p50' | 'p95' | 'p99') =>
    system.steps.map((s) => ({ x: s.offeredRate, y: s.eventToOffer[key] }));
  writeFileSync(
    `${dir}/${quick ? 'latency-quick' : 'latency'}.svg`,
    latencyChart(
      `Nunchi event → offer latency, ${result.machine.cpus} cores (${result.commit})`,
      [
        { name: 'p50', colour: '#2a7', points: points('p50') },
        { name: 'p95', colour: '#e90', points: points('p95') },
        { name: 'p99', colour: '#c22', points: points('p99') },
      ],
      { sla: 50 },
    ),
  );

  console.log('\nNunchi — whole system, open-loop load (latency from the scheduled send time)');
  for (const step of system.steps) console.log(formatStep(step));
  console.log('\nCPU % of one core / RSS MiB per process at each rate:');
  for (const step of system.steps) {
    console.log(
      `${String(step.offeredRate).padStart(5)} ev/s: ${Object.entries(step.processes)
        .map(([n, u]) => (u ? `${n} ${u.cpuPercent}%/${u.rssMiB}M` : `${n} -`))
        .join(', ')}`,
    );
  }
  console.log(
    `\nhighest rate with event→offer p99 ≤ 50 ms and nothing lost: ${system.maxRateP99Under50ms ?? 'none of the rates tried'} events/s`,
  );
  console.log(`results: bench/results/${name}, bench/results/${latest}.json, chart bench/results/${quick ? 'latency-quick' : 'latency'}.svg`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
