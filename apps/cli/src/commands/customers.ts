import { identityKeys, requireIdentityKey } from '@nunchi/config';
import {
  ContractError,
  IDENTITY_TYPES,
  Subjects,
  validateCustomerImport,
  type CustomerProfile,
  type IdentityType,
} from '@nunchi/contracts';
import {
  CustomerKeyRepository,
  CustomerKeyring,
  CustomerRepository,
  mapBounded,
  storedIdentityValue,
  writeBatched,
  type BulkWrite,
} from '@nunchi/cassandra';
import type { Resources } from '../resources.js';
import { readNdjson } from '../ndjson.js';
import { progress } from '../progress.js';

/** An identifier of an imported line that already resolves to another customer. */
export interface IdentifierConflict {
  line: number;
  type: IdentityType;
  /** the customer the identifier resolves to (or the earlier line of this file that claims it) */
  owner: string;
}

export interface ImportReport {
  imported: number;
  /** every line not imported, conflicts included */
  rejected: Array<{ line: number; problems: string }>;
  /** identifiers that belong to another customer: their lines are rejected, unless moveIdentifiers */
  conflicts: IdentifierConflict[];
  /** identifiers taken from their previous owner (moveIdentifiers) */
  moved: IdentifierConflict[];
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
  /** an identifier owned by another customer moves to the imported one, instead of rejecting the line */
  moveIdentifiers?: boolean;
}

interface Candidate {
  line: number;
  profile: CustomerProfile;
  identities: Array<{ type: IdentityType; storedValue: string }>;
}

/** point reads in flight while checking lines against what is stored */
const CHECK_CONCURRENCY = 64;

/**
 * Imports profiles and identities from NDJSON; bad lines are reported, not fatal. Lines are validated, then
 * checked against what is stored: the id of an erased customer is not reused, and an identifier that resolves
 * to another customer (or is claimed by an earlier line) rejects its line, naming the identifier's type and
 * owner, unless moveIdentifiers. Then whole customers are written as unlogged batches, a bounded number in
 * flight (libs/cassandra writeBatched): every write is an idempotent upsert, so a repeated import is harmless.
 *
 * Afterwards the customers-changed hint tells context and ingestion replicas; when identifiers moved, the
 * import returns no sooner than NUNCHI_IDENTITY_CACHE_TTL_MS after writing them, so that from then on every
 * ingestion replica resolves them to their new owner, hint or not.
 */
export async function importCustomers(
  resources: Resources,
  file: string,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const lines = await readNdjson(file);
  const started = Date.now();
  const client = await resources.cassandra();
  const key = requireIdentityKey(resources.config);
  // Profiles are sealed under each customer's data key (docs/security.md, "Cassandra's rows"): a customer
  // without one gets it here, as its first event would give it.
  const keys = new CustomerKeyring(new CustomerKeyRepository(client), identityKeys(resources.config), {
    maxEntries: Math.max(1_000, Math.ceil(lines.length / 0.9) + 1),
  });
  const repo = new CustomerRepository(client, keys);
  const rejected: ImportReport['rejected'] = [];
  const candidates: Candidate[] = [];
  for (const line of lines) {
    try {
      if (line.error) throw new Error(line.error);
      const c = validateCustomerImport(line.value);
      candidates.push({
        line: line.line,
        profile: {
          id: c.id,
          age: c.age,
          gender: c.gender,
          region: c.region,
          creditTier: c.creditTier,
          marketingConsent: c.marketingConsent,
          ...(c.channelConsent ? { channelConsent: c.channelConsent } : {}),
          attributes: c.attributes ?? {},
        },
        identities: IDENTITY_TYPES.filter((type) => c[type]).map((type) => ({
          type,
          storedValue: storedIdentityValue(type, c[type]!, key.secret),
        })),
      });
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

  // What is stored now: tombstones of the ids, owners of the identifiers, data keys (read 50 a request; the
  // missing ones created one by one, IF NOT EXISTS).
  await keys.preload(candidates.map((c) => c.profile.id));
  const stored = await mapBounded(candidates, CHECK_CONCURRENCY, async (c) => {
    const erased = await repo.isErased(c.profile.id, true);
    return {
      erased,
      owners: await Promise.all(c.identities.map((i) => repo.ownerOf(i.type, i.storedValue))),
      // never for an erased id: no key is created for it again
      dataKey: erased ? undefined : await repo.dataKey(c.profile.id),
    };
  });
  const conflicts: IdentifierConflict[] = [];
  const moved: IdentifierConflict[] = [];
  /** identifier (type + stored value) → the line of this file that claims it */
  const claimed = new Map<string, { line: number; id: string }>();
  const ids: string[] = [];
  const lineOf: number[] = [];
  const groups: BulkWrite[][] = [];
  const previousOwners = new Set<string>();
  const at = new Date();
  for (const [k, c] of candidates.entries()) {
    if (stored[k].erased) {
      rejected.push({
        line: c.line,
        problems: `id ${c.profile.id} belongs to an erased customer and is not reused (its events would be refused)`,
      });
      continue;
    }
    const problems: string[] = [];
    const lineConflicts: IdentifierConflict[] = [];
    const lineMoves: IdentifierConflict[] = [];
    for (const [j, { type, storedValue }] of c.identities.entries()) {
      const key = `${type}\u0000${storedValue}`;
      const earlier = claimed.get(key);
      const owner = stored[k].owners[j];
      if (earlier && earlier.id !== c.profile.id) {
        lineConflicts.push({ line: c.line, type, owner: earlier.id });
        problems.push(`${type} is also given to ${earlier.id} on line ${earlier.line}; not imported`);
      } else if (owner !== undefined && owner !== c.profile.id && !options.moveIdentifiers) {
        lineConflicts.push({ line: c.line, type, owner });
        problems.push(
          `${type} already belongs to customer ${owner}; not imported (--move-identifiers moves it to ${c.profile.id})`,
        );
      } else if (owner !== undefined && owner !== c.profile.id) {
        lineMoves.push({ line: c.line, type, owner });
      }
    }
    if (problems.length) {
      conflicts.push(...lineConflicts);
      rejected.push({ line: c.line, problems: problems.join('; ') });
      continue;
    }
    for (const { type, storedValue } of c.identities)
      claimed.set(`${type}\u0000${storedValue}`, { line: c.line, id: c.profile.id });
    const writes = repo.importWrites(c.profile, c.identities, at, key.id, stored[k].dataKey!);
    for (const m of lineMoves) {
      const storedValue = c.identities.find((i) => i.type === m.type)!.storedValue;
      writes.push(repo.unlinkWrite(m.owner, m.type, storedValue));
      previousOwners.add(m.owner);
    }
    moved.push(...lineMoves);
    groups.push(writes);
    ids.push(c.profile.id);
    lineOf.push(c.line);
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
  const written = Date.now();
  bar.stop();
  for (const f of failed)
    rejected.push({ line: lineOf[f.group], problems: `not stored: ${f.error.message}` });
  const notStored = new Set(failed.map((f) => f.group));
  const storedIds = notStored.size ? ids.filter((_, i) => !notStored.has(i)) : ids;
  const failedLines = new Set(failed.map((f) => lineOf[f.group]));
  const storedMoves = moved.filter((m) => !failedLines.has(m.line));
  // Running context replicas drop these customers from their hot tier, ingestion replicas from their caches
  // (the previous owners of moved identifiers included).
  const changed = [...new Set([...storedIds, ...previousOwners])];
  // The log first: a replica that misses the hint still drops the previous owners' identifiers within
  // NUNCHI_IDENTITY_CACHE_TTL_MS (it reads the log twice as often), which the wait below covers.
  const losers = [...new Set(storedMoves.map((m) => m.owner))];
  if (losers.length) await repo.logIdentifierChanges(losers, new Date());
  const messaging = await resources.messaging().catch(() => undefined);
  for (let i = 0; messaging && i < changed.length; i += 1000)
    void messaging.client.emit(Subjects.customersChanged, { ids: changed.slice(i, i + 1000) });
  if (storedMoves.length) {
    const wait = written + resources.config.domain.identityCacheTtlMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    imported: storedIds.length,
    rejected: rejected.sort((a, b) => a.line - b.line),
    conflicts,
    moved: storedMoves,
    seconds,
    rate: Math.round(storedIds.length / Math.max(seconds, 0.001)),
  };
}
