import { Subjects, validateCustomerImport, ContractError, IDENTITY_TYPES } from '@nunchi/contracts';
import { CustomerRepository, storedIdentityValue } from '@nunchi/cassandra';
import type { Resources } from '../resources.js';
import { readNdjson } from '../ndjson.js';
import { forEachBounded, progress } from '../progress.js';

export interface ImportReport {
  imported: number;
  rejected: Array<{ line: number; problems: string }>;
  seconds: number;
  /** profiles per second */
  rate: number;
}

/** customers in flight while importing; each is 1 + (identities × 2) writes */
const IMPORT_CONCURRENCY = 256;

/** Imports profiles and identities from NDJSON; bad lines are reported, not fatal. */
export async function importCustomers(resources: Resources, file: string, options: { quiet?: boolean } = {}): Promise<ImportReport> {
  const lines = await readNdjson(file);
  const client = await resources.cassandra();
  const repo = new CustomerRepository(client);
  const secret = resources.config.domain.identitySecret;
  const bar = options.quiet ? { tick: () => undefined, stop: () => undefined } : progress('customers', lines.length);
  const rejected: ImportReport['rejected'] = [];
  const ids: string[] = [];
  const started = Date.now();
  const at = new Date();
  await forEachBounded(lines, IMPORT_CONCURRENCY, async (line) => {
    try {
      if (line.error) throw new Error(line.error);
      const c = validateCustomerImport(line.value);
      await repo.upsert({ id: c.id, age: c.age, gender: c.gender, region: c.region, creditTier: c.creditTier, marketingConsent: c.marketingConsent, attributes: c.attributes ?? {} }, at, true);
      for (const type of IDENTITY_TYPES) {
        const value = c[type];
        if (value) await repo.linkIdentity(c.id, type, storedIdentityValue(type, value, secret), at);
      }
      ids.push(c.id);
    } catch (error) {
      rejected.push({ line: line.line, problems: error instanceof ContractError ? error.details.map((d) => `${d.path} ${d.message}`).join('; ') : (error as Error).message });
    } finally {
      bar.tick();
    }
  });
  bar.stop();
  // Running context services drop these customers from their hot tier.
  const nc = await resources.nc().catch(() => undefined);
  for (let i = 0; nc && i < ids.length; i += 1000) nc.publish(Subjects.customersChanged, JSON.stringify({ ids: ids.slice(i, i + 1000) }));
  const seconds = (Date.now() - started) / 1000;
  return { imported: ids.length, rejected: rejected.sort((a, b) => a.line - b.line), seconds, rate: Math.round(ids.length / Math.max(seconds, 0.001)) };
}
