/**
 * `nunchi customers import` throughput, through the real command code against Cassandra.
 *
 *   npm run build && npm run bench:import                  (200,000 profiles by default)
 *   node dist/bench/customers-import.js --customers 50000
 *
 * Generates an NDJSON file of realistic profiles (seeded: age, gender, region, credit tier, consent, two
 * attributes; every customer a loyalty card, 60 % a phone, 30 % an email — hashed on import), imports it
 * into the bench keyspace (NUNCHI_BENCH_KEYSPACE, default nunchi_bench, created by migration and dropped
 * at the end unless --keep), and prints profiles/s and Cassandra writes/s. Checks a sample afterwards.
 *
 * runImportBench(opts) returns the figures.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { storedIdentityValue } from '@nunchi/cassandra';
import { requireIdentityKey } from '@nunchi/config';
import { Resources } from '../apps/cli/src/resources.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { benchArgs, benchConfig, benchKeyspace, dropBenchKeyspace, prng, REGIONS } from './support.js';
import { developmentModeUnlessConfigured } from '../tools/dev-mode.js';

export interface ImportBenchOptions {
  /** profiles to import; @default 200_000 */
  customers?: number;
  /** customers per unlogged batch; @default the command's (25) */
  batchCustomers?: number;
  /** batches in flight; @default the command's (16) */
  concurrency?: number;
  /** identities per profile; @default 'mix' */
  identities?: IdentityMix;
  /** keep the bench keyspace afterwards; @default false */
  keep?: boolean;
  seed?: number;
  log?: (line: string) => void;
}

export interface ImportBenchFigures {
  customers: number;
  /** Cassandra rows written: profile + 2 per identity */
  rows: number;
  seconds: number;
  profilesPerSec: number;
  rowsPerSec: number;
  /** CPU microseconds the importing process spent per profile (read, validate, hash, encode, send) */
  clientCpuUsPerProfile: number;
  /** load average (1 min) when the run ended: the machine is shared with Cassandra */
  loadAverage: number;
}

/** Identities per profile: `mix` (card always, 60 % phone, 30 % email), `card` (a loyalty card only), `none`. */
export type IdentityMix = 'mix' | 'card' | 'none';

export function generateProfiles(n: number, seed = 7, identities: IdentityMix = 'mix'): string {
  const rnd = prng(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `b-${String(i).padStart(8, '0')}`;
    const c: Record<string, unknown> = {
      id,
      age: 18 + Math.floor(rnd() * 62),
      gender: rnd() < 0.5 ? 'M' : 'F',
      region: REGIONS[Math.floor(rnd() * REGIONS.length)],
      creditTier: 'ABCDE'[Math.floor(rnd() * 5)],
      marketingConsent: rnd() < 0.8,
      attributes: {
        segment: ['family', 'single', 'senior', 'student'][Math.floor(rnd() * 4)],
        joined: String(2010 + Math.floor(rnd() * 16)),
      },
    };
    if (identities !== 'none') c['loyaltyCard'] = `LC-${i}`;
    if (identities !== 'mix') {
      lines.push(JSON.stringify(c));
      continue;
    }
    if (rnd() < 0.6)
      c['phone'] = `+82-10-${String(1000 + Math.floor(rnd() * 9000))}-${String(i % 10000).padStart(4, '0')}`;
    if (rnd() < 0.3) c['email'] = `user${i}@example.com`;
    lines.push(JSON.stringify(c));
  }
  return lines.join('\n') + '\n';
}

export async function runImportBench(opts: ImportBenchOptions = {}): Promise<ImportBenchFigures> {
  developmentModeUnlessConfigured((line) => (opts.log ?? console.log)(line));
  const log = opts.log ?? (() => undefined);
  const n = opts.customers ?? 200_000;
  const config = benchConfig();
  const env = { ...process.env, CASSANDRA_KEYSPACE: config.cassandra.keyspace };
  const admin = await benchKeyspace(config);
  const dir = mkdtempSync(join(tmpdir(), 'nunchi-bench-'));
  const file = join(dir, 'customers.ndjson');
  const text = generateProfiles(n, opts.seed, opts.identities);
  writeFileSync(file, text);
  const identities = (text.match(/"loyaltyCard"|"phone"|"email"/g) ?? []).length;
  log(`generated ${n.toLocaleString()} profiles (${identities.toLocaleString()} identities) in ${file}`);
  const resources = new Resources(env);
  try {
    const cpu = process.cpuUsage();
    const report = await importCustomers(resources, file, {
      quiet: true,
      batchCustomers: opts.batchCustomers,
      concurrency: opts.concurrency,
    });
    const { user, system } = process.cpuUsage(cpu);
    if (report.rejected.length)
      throw new Error(`${report.rejected.length} rejected, e.g. ${JSON.stringify(report.rejected[0])}`);
    // Spot check: the last profile and its loyalty card are there.
    const last = `b-${String(n - 1).padStart(8, '0')}`;
    const row = (
      await admin.execute('SELECT region FROM customers WHERE customer_id = ?', [last], { prepare: true })
    ).first();
    const card = (
      await admin.execute(
        "SELECT customer_id FROM identities WHERE id_type = 'loyaltyCard' AND id_value = ?",
        [storedIdentityValue('loyaltyCard', `LC-${n - 1}`, requireIdentityKey(resources.config).secret)],
        { prepare: true },
      )
    ).first();
    if (!row || (opts.identities !== 'none' && card?.['customer_id'] !== last))
      throw new Error('imported data not found');
    const rows = n + 2 * identities;
    return {
      customers: report.imported,
      rows,
      seconds: report.seconds,
      profilesPerSec: report.rate,
      rowsPerSec: Math.round(rows / report.seconds),
      clientCpuUsPerProfile: Math.round((user + system) / n),
      loadAverage: (await import('node:os')).loadavg()[0],
    };
  } finally {
    await resources.close();
    rmSync(dir, { recursive: true, force: true });
    if (!opts.keep)
      await dropBenchKeyspace(admin, config).catch((e: Error) =>
        log(`could not drop the bench keyspace: ${e.message}`),
      );
    await admin.shutdown();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { flags, numbers, text } = benchArgs(
    'usage: node dist/bench/customers-import.js [--customers N] [--batch N] [--concurrency N] [--identities MIX] [--keep]\n  --customers N     profiles to import (default 200,000)\n  --batch N         customers per batch\n  --concurrency N   batches in flight\n  --identities MIX  the identifiers each customer has (see IdentityMix in the file)\n  --keep            keep the bench keyspace afterwards',
    { customers: 'number', batch: 'number', concurrency: 'number', identities: 'text', keep: 'flag' },
  );
  const figures = await runImportBench({
    customers: numbers['customers'],
    batchCustomers: numbers['batch'],
    concurrency: numbers['concurrency'],
    keep: flags['keep'] === true,
    identities: text['identities'] as IdentityMix | undefined,
    log: (line) => console.log(line),
  });
  console.log(
    `imported ${figures.customers.toLocaleString()} profiles in ${figures.seconds.toFixed(1)} s: ` +
      `${figures.profilesPerSec.toLocaleString()} profiles/s, ${figures.rowsPerSec.toLocaleString()} rows/s, client CPU ${figures.clientCpuUsPerProfile} µs/profile (load average ${figures.loadAverage.toFixed(1)})`,
  );
  console.log(JSON.stringify(figures));
}
