import { parseArgs, type ParseArgsConfig } from 'node:util';
import { connectCassandra, migrate, type CqlClient } from '@nunchi/cassandra';
import { asMigrator, loadConfig, projectPath, type NunchiConfig } from '@nunchi/config';
import { developmentModeUnlessConfigured } from '../tools/dev-mode.js';

/**
 * Configuration for a benchmark: the environment's, with its own Cassandra keyspace (NUNCHI_BENCH_KEYSPACE,
 * default nunchi_bench) so that measurements neither read nor pollute real or test data; in development mode
 * unless a key or a mode is configured (set in process.env, for the processes a benchmark starts too).
 */
export function benchConfig(env: Record<string, string | undefined> = process.env): NunchiConfig {
  developmentModeUnlessConfigured((line) => console.log(line));
  return loadConfig('cli', {
    ...env,
    NUNCHI_DEV_MODE: env['NUNCHI_DEV_MODE'] ?? process.env['NUNCHI_DEV_MODE'],
    OTEL_TRACES_EXPORTER: 'none',
    CASSANDRA_KEYSPACE: env['NUNCHI_BENCH_KEYSPACE'] ?? 'nunchi_bench',
  });
}

/**
 * Creates and migrates the bench keyspace; returns a client on it. On a node with authorization only the
 * migrator creates keyspaces (docs/security.md, Cassandra roles): as `nunchi migrate` does, the migration runs
 * as the migrator when the local node's passwords are at hand.
 */
export async function benchKeyspace(config: NunchiConfig): Promise<CqlClient> {
  await migrate(asMigrator(config.cassandra), projectPath('cql'), undefined, {
    identityKey: config.domain.identityKey,
    previousIdentityKeys: config.domain.previousIdentityKeys,
  });
  return connectCassandra(config.cassandra, { applicationName: 'nunchi-bench' });
}

/** Drops the bench keyspace (refuses any other), as the migrator that created it. */
export async function dropBenchKeyspace(_client: CqlClient, config: NunchiConfig): Promise<void> {
  if (!/bench/.test(config.cassandra.keyspace))
    throw new Error(`refusing to drop ${config.cassandra.keyspace}: not a bench keyspace`);
  const admin = await connectCassandra(asMigrator(config.cassandra), {
    keyspace: false,
    applicationName: 'nunchi-bench',
  });
  try {
    await admin.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`, [], { readTimeout: 60_000 });
  } finally {
    await admin.shutdown();
  }
}

import { prng } from '@nunchi/testing';
import { exitOnInterrupt } from '../tools/child-processes.js';

export { prng };

/** p-th percentile (0..100) of a sorted array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round = (x: number, digits = 3) => Number(x.toFixed(digits));

export const REGIONS = [
  'Bundang',
  'Seoul',
  'Busan',
  'Incheon',
  'Daegu',
  'Daejeon',
  'Gwangju',
  'Suwon',
  'Ulsan',
  'Jeju',
];

/** A benchmark's command line, parsed: options by kind, and the positional arguments. */
export interface BenchArgs {
  flags: Record<string, boolean>;
  text: Record<string, string>;
  numbers: Record<string, number>;
  rest: string[];
}

/**
 * A benchmark's command line, checked: `--help` (or `-h`) prints `usage` and exits 0; an unknown option, a
 * missing value or a number that is not one is one line and the usage, exit 2 — never a run (a typo, or
 * `--help` itself, used to start the whole benchmark). `options`: each option's kind; `number` options are
 * positive numbers. Positional arguments are allowed only when `positionals` says what they are. Also makes
 * an interrupt (SIGINT, SIGTERM) end the process through its exit hooks, which stop the nats-server and
 * services it started (tools/child-processes.ts).
 */
export function benchArgs(
  usage: string,
  options: Record<string, 'flag' | 'text' | 'number'>,
  positionals?: string,
  argv: readonly string[] = process.argv.slice(2),
): BenchArgs {
  // Every benchmark's entry point starts here: an interrupt stops the children it starts (killOnExit).
  exitOnInterrupt();
  const fail = (message: string): never => {
    console.error(`${message}\n${usage}`);
    process.exit(2);
  };
  const config: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, kind] of Object.entries(options))
    config[name] = { type: kind === 'flag' ? 'boolean' : 'string' };
  let parsed: {
    values: Record<string, string | boolean | Array<string | boolean> | undefined>;
    positionals: string[];
  };
  try {
    parsed = parseArgs({ args: [...argv], options: config, allowPositionals: positionals !== undefined });
  } catch (error) {
    return fail((error as Error).message);
  }
  if (parsed.values['help']) {
    console.log(usage);
    process.exit(0);
  }
  const result: BenchArgs = { flags: {}, text: {}, numbers: {}, rest: parsed.positionals };
  for (const [name, kind] of Object.entries(options)) {
    const given = parsed.values[name];
    if (given === undefined) continue;
    if (kind === 'flag') result.flags[name] = given === true;
    else if (kind === 'text') result.text[name] = String(given);
    else {
      const n = Number(given);
      if (!Number.isFinite(n) || n <= 0) fail(`--${name} needs a positive number, not ${String(given)}`);
      result.numbers[name] = n;
    }
  }
  return result;
}
