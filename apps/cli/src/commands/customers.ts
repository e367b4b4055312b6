import { ContractError, IDENTITY_TYPES, Subjects, validateCustomerImport } from '@nunchi/contracts';
import { CustomerRepository, storedIdentityValue, writeBatched, type BulkWrite } from '@nunchi/cassandra';
import type { Resources } from '../resources.js';
import { readNdjson } from '../ndjson.js';
import { progress } from '../progress.js';

export interface ImportReport {
  imported: number;
  rejected: Array<{ line: number; problems: string }>;
  seconds: number;
  /** profiles per second */
  rate: number;
}

export interface ImportOptions {
  quiet?: boolean;
  /** customers per unlogged batch; @default 25 */
  batchCustomers?: number;
  /** batches in flight; @default 16 */
  concurrency?: number;
}

/**
 * Imports profiles and identities from NDJSON; bad lines are reported, not fatal. Lines are validated first,
 * then written as unlogged batches of whole customers, a bounded number in flight (libs/cassandra
 * writeBatched): every write is an idempotent upsert, so a repeated import is harmless.
 */
export async function importCustomers(
  resources: Resources,
  file: string,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const lines = await readNdjson(file);
  const started = Date.now();
  const client = await resources.cassandra();
  const repo = new CustomerRepository(client);
  const secret = resources.config.domain.identitySecret;
  const rejected: ImportReport['rejected'] = [];
  const ids: string[] = [];
  const lineOf: number[] = [];
  const groups: BulkWrite[][] = [];
  const at = new Date();
  for (const line of lines) {
    try {
      if (line.error) throw new Error(line.error);
      const c = validateCustomerImport(line.value);
      const identities = IDENTITY_TYPES.filter((type) => c[type]).map((type) => ({
        type,
        storedValue: storedIdentityValue(type, c[type]!, secret),
      }));
      const profile = {
        id: c.id,
        age: c.age,
        gender: c.gender,
        region: c.region,
        creditTier: c.creditTier,
        marketingConsent: c.marketingConsent,
        attributes: c.attributes ?? {},
      };
      groups.push(repo.importWrites(profile, identities, at));
      ids.push(c.id);
      lineOf.push(line.line);
    } catch (error) {
      rejected.push({
        line: line.line,
        problems:
          error instanceof ContractError
            ? error.details.map((d) => `${d.path} ${d.message}`).join('; ')
            : (error as Error).message,
      });
    }
  }
  const bar = options.quiet
    ? { tick: () => undefined, stop: () => undefined }
    : progress('customers', lines.length);
  bar.tick(rejected.length);
  const failed = await writeBatched(client, groups, {
    groupsPerBatch: options.batchCustomers,
    concurrency: options.concurrency,
    onBatch: (n) => bar.tick(n),
  });
  bar.stop();
  for (const f of failed)
    rejected.push({ line: lineOf[f.group], problems: `not stored: ${f.error.message}` });
  const notStored = new Set(failed.map((f) => f.group));
  const stored = notStored.size ? ids.filter((_, i) => !notStored.has(i)) : ids;
  // Running context services drop these customers from their hot tier.
  const nc = await resources.nc().catch(() => undefined);
  for (let i = 0; nc && i < stored.length; i += 1000)
    nc.publish(Subjects.customersChanged, JSON.stringify({ ids: stored.slice(i, i + 1000) }));
  const seconds = (Date.now() - started) / 1000;
  return {
    imported: stored.length,
    rejected: rejected.sort((a, b) => a.line - b.line),
    seconds,
    rate: Math.round(stored.length / Math.max(seconds, 0.001)),
  };
}
