/**
 * Analytics' rows stored under customer ids by versions before migration 0023, moved under the customers'
 * analytics pseudonyms (docs/security.md, "Analytics' rows"). Run by the migration runner right after 0023's
 * statements (the data step `analytics_pseudonyms`), with no analytics replica of the previous version running
 * (deployment.md), and by `nunchi customers pseudonymise-analytics` if one ran after it.
 *
 * Each row whose `customer_id` is a customer id (not a `~` pseudonym) is written again under the pseudonym,
 * cell by cell at each cell's own write timestamp and with its remaining TTL — so conversions keep the order
 * their timestamps give them (libs/analytics-model attribution.ts) and a row expires when it would have — and
 * then the old row is deleted at the newest of those timestamps (in that order: the two rows may lie in two
 * partitions, and a move cut short between them is made again by the next run). Conversions are not
 * recomputed: a purchase and a decision of one customer stored under the two names by replicas of both versions
 * at once are not matched, hence no old analytics replica during the upgrade. An erased customer's rows are
 * deleted (they must not come back); a customer without a data key gets one (IF NOT EXISTS, as its first event
 * would). Keyed upserts and deletions: safe to cut short and run again.
 */
import type { IdentityKey } from '@nunchi/config';
import { exposureShardOf } from '@nunchi/analytics-model';
import { analyticsPseudonym, isPseudonym, MissingKekError } from '@nunchi/sealing';
import type cassandra from 'cassandra-driver';
import { mapBounded } from './bulk.js';
import type { CqlClient } from './client.js';
import { CustomerKeyring } from './customer-keyring.js';
import { IdentityKeyMissingError } from './hash-clear-identifiers.js';
import { CustomerKeyRepository } from './repositories/customer-key.repository.js';
import { defineStatements, run, statement, type Statement } from './statements.js';

/** One analytics table: its primary key (customer_id among it) and the cells a row may hold. */
interface AnalyticsTable {
  name: string;
  /** every primary key column, in order, customer_id included */
  key: readonly string[];
  cells: readonly string[];
}

const TABLES: readonly AnalyticsTable[] = [
  {
    name: 'analytics_decisions',
    key: ['campaign_id', 'day', 'customer_id', 'decision_id'],
    cells: [
      'decided_at',
      'hour',
      'outcome',
      'offer_id',
      'value',
      'window_days',
      'converted',
      'revenue',
      'accepted',
      'redeemed',
      'dismissed',
    ],
  },
  {
    name: 'analytics_exposures',
    key: ['campaign_id', 'shard', 'customer_id'],
    cells: ['first_at', 'grp', 'offer_id', 'window_days', 'converted', 'revenue'],
  },
  {
    name: 'analytics_customer_decisions',
    key: ['customer_id', 'decided_at', 'decision_id'],
    cells: ['campaign_id', 'day', 'outcome', 'window_days'],
  },
  {
    name: 'analytics_purchases',
    key: ['customer_id', 'occurred_at', 'event_id'],
    cells: ['amount'],
  },
];

interface TableStatements {
  /** the whole table, page by page, with each cell's write timestamp and remaining TTL */
  scan: Statement;
  /** one cell written under the pseudonym: timestamp, TTL (0: none), value, then the key */
  cell: Record<string, Statement>;
  /** the old row, at a timestamp */
  remove: Statement;
}

/** A table's statements, registered (a test prepares every statement against the migrated schema). */
function statementsOf(t: AnalyticsTable): TableStatements {
  const where = t.key.map((k) => `${k} = ?`).join(' AND ');
  const selected = [
    ...t.key,
    ...t.cells.flatMap((c) => [c, `WRITETIME(${c}) AS ${c}__at`, `TTL(${c}) AS ${c}__ttl`]),
  ];
  return {
    ...defineStatements({
      scan: statement(`${t.name}.scan_to_pseudonymise`, `SELECT ${selected.join(', ')} FROM ${t.name}`),
      remove: statement(`${t.name}.remove_named`, `DELETE FROM ${t.name} USING TIMESTAMP ? WHERE ${where}`),
    }),
    cell: defineStatements(
      Object.fromEntries(
        t.cells.map((c) => [
          c,
          statement(
            `${t.name}.pseudonymise_${c}`,
            `UPDATE ${t.name} USING TIMESTAMP ? AND TTL ? SET ${c} = ? WHERE ${where}`,
          ),
        ]),
      ),
    ),
  };
}

const TABLE_STATEMENTS = TABLES.map((table) => ({ table, statements: statementsOf(table) }));

export interface PseudonymiseReport {
  /** rows of the four tables read */
  scanned: number;
  /** rows under a customer id, now under its pseudonym */
  moved: number;
  /** customers that had no data key yet (no event since keys came, migration 0020) */
  keysCreated: number;
  /** rows of erased customers, deleted */
  erased: number;
  /** rows left under the customer id: its data key is wrapped under an identity key not given */
  unopenable: number;
}

/** What a customer's rows become: moved under its pseudonym, deleted (erased), or left (key not openable). */
type RowName = { pseudonym: string } | 'erased' | 'unopenable';

/** rows moved at once */
const CONCURRENCY = 16;

/** See the file comment. `keks`: the identity keys (current first); needed only when there is something to move. */
export async function pseudonymiseAnalytics(
  client: CqlClient,
  keks: readonly IdentityKey[],
  log: (line: string) => void = () => undefined,
): Promise<PseudonymiseReport> {
  const report: PseudonymiseReport = { scanned: 0, moved: 0, keysCreated: 0, erased: 0, unopenable: 0 };
  const keys = new CustomerKeyRepository(client);
  const keyring = new CustomerKeyring(keys, keks, { maxEntries: 10_000 });
  /** per customer (the latest 10,000) */
  const names = new Map<string, Promise<RowName>>();
  const pseudonymOf = (customerId: string) => {
    let found = names.get(customerId);
    if (!found) {
      found = nameOf(keys, keyring, customerId, report, log);
      names.set(customerId, found);
      if (names.size > 10_000) names.delete(names.keys().next().value as string);
    }
    return found;
  };
  for (const { table, statements } of TABLE_STATEMENTS) {
    let pageState: string | undefined;
    let logged = 0;
    do {
      const page = await run(client, statements.scan, [], { fetchSize: 2_000, pageState });
      pageState = page.pageState ?? undefined;
      report.scanned += page.rows.length;
      const underIds = page.rows.filter((r) => !isPseudonym(r['customer_id'] as string));
      if (underIds.length && !keks.length)
        throw new IdentityKeyMissingError(
          `${table.name}: ${underIds.length}+ rows stored under customer ids by an earlier version must be moved under the customers' analytics pseudonyms, derived from their data keys, which are wrapped under the identity key: set NUNCHI_IDENTITY_SECRET and NUNCHI_IDENTITY_KEY_ID as the services have them (docs/security.md, "Analytics' rows") and run it again`,
        );
      await mapBounded(underIds, CONCURRENCY, async (row) => {
        const name = await pseudonymOf(row['customer_id'] as string);
        if (name === 'unopenable') {
          report.unopenable++;
          return;
        }
        const move = moveRow(table, statements, row, name === 'erased' ? undefined : name.pseudonym);
        if (move.writes.length)
          await client.batch(move.writes, { prepare: true, logged: false, isIdempotent: true });
        await client.execute(move.remove.query, move.remove.params, { prepare: true, isIdempotent: true });
        if (name === 'erased') report.erased++;
        else report.moved++;
      });
      if (report.scanned >= (logged + 1) * 100_000) {
        logged = Math.floor(report.scanned / 100_000);
        log(`${table.name}: ${report.scanned} rows read, ${report.moved} moved under pseudonyms`);
      }
    } while (pageState);
  }
  return report;
}

/** A customer's pseudonym (its data key created if it has none), or why not. */
async function nameOf(
  keys: CustomerKeyRepository,
  keyring: CustomerKeyring,
  customerId: string,
  report: PseudonymiseReport,
  log: (line: string) => void,
): Promise<RowName> {
  if (await keys.erasedAt(customerId)) return 'erased';
  try {
    if (!(await keyring.find(customerId))) report.keysCreated++;
    return { pseudonym: analyticsPseudonym(customerId, await keyring.obtain(customerId)) };
  } catch (error) {
    if (!(error instanceof MissingKekError)) throw error;
    if (!report.unopenable) log(`analytics: rows left under customer ids: ${error.message}`);
    return 'unopenable';
  }
}

/**
 * The writes that copy one row under `pseudonym` (each cell at its own timestamp and remaining TTL), and the
 * deletion of the row at the newest of them; without a pseudonym (an erased customer), no writes.
 */
function moveRow(
  table: AnalyticsTable,
  statements: TableStatements,
  row: cassandra.types.Row,
  pseudonym: string | undefined,
): { writes: Array<{ query: string; params: unknown[] }>; remove: { query: string; params: unknown[] } } {
  const oldKey = table.key.map((k) => row[k] as unknown);
  const newKey = pseudonym
    ? table.key.map((k) =>
        k === 'customer_id' ? pseudonym : k === 'shard' ? exposureShardOf(pseudonym) : (row[k] as unknown),
      )
    : [];
  const writes: Array<{ query: string; params: unknown[] }> = [];
  let newest: cassandra.types.Long | undefined;
  for (const cell of table.cells) {
    if (row[cell] === null || row[cell] === undefined) continue;
    const at = row[`${cell}__at`] as cassandra.types.Long;
    if (!newest || at.greaterThan(newest)) newest = at;
    if (pseudonym)
      writes.push({
        query: statements.cell[cell].cql,
        params: [at, (row[`${cell}__ttl`] as number | null) ?? 0, row[cell] as unknown, ...newKey],
      });
  }
  // A row of key columns only (no cell, e.g. every cell expired meanwhile): removed at the current time.
  return {
    writes,
    remove: { query: statements.remove.cql, params: [newest ?? Date.now() * 1000, ...oldKey] },
  };
}
