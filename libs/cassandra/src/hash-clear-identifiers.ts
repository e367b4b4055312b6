/**
 * Loyalty cards and device ids stored in clear by versions before migration 0018, hashed under the identity key
 * (docs/security.md, "Upgrading from identifiers stored in clear"). Run by the migration runner right after
 * 0018's statements (the data step `keyed_identifiers`), and by `nunchi customers hash-identifiers` after a
 * rolling upgrade during which ingestion of the previous version still wrote some.
 *
 * A row of `identities` written in clear is told apart by its `key_id`: every row this version writes names
 * the key it is hashed under, a row of an earlier version has none (phones and e-mails were hashed then too,
 * under the key of the time, and are left alone). For each clear card or device id, in an order that makes the
 * step safe to cut short and run again:
 *   1. merge records (`customer_merges.identities`, which an unlink writes back) and the absorbed customer's
 *      reverse-index rows (an entry is clear while `identities` holds it without a key id, or holds its hash);
 *   2. the hashed row in `identities` (same owner, same created_at, the key's id) and the owner's reverse-index
 *      row, then the clear rows go. If the hashed value already has another owner (ingestion of this version
 *      saw the card before the step reached it and created a customer for it), the clear row's owner — the one
 *      with the imported profile and the history — keeps the card; the other loses it and is logged in
 *      `identifier_changes_by_day`, so ingestion replicas drop their cached owner.
 * Every write is a keyed upsert or delete: a repeat changes nothing more.
 */
import type { IdentityKey } from '@nunchi/config';
import type { IdentityType } from '@nunchi/contracts/core';
import { mapBounded } from './bulk.js';
import type { CqlClient } from './client.js';
import { FORMERLY_CLEAR_TYPES, storedIdentityValue } from './identifiers.js';
import { CustomerRepository } from './repositories/customer.repository.js';
import { defineStatements, run, runAll, statement } from './statements.js';

const Q = defineStatements({
  // The whole table, page by page (a paged scan, no filtering): a one-off step, not a query of the live path.
  scanIdentities: statement(
    'identities.scan_for_hashing',
    'SELECT id_type, id_value, customer_id, created_at, key_id FROM identities',
  ),
  scanMerges: statement(
    'customer_merges.scan_for_hashing',
    'SELECT absorbed_id, identities FROM customer_merges',
  ),
  identityRow: statement(
    'identities.get_with_key',
    'SELECT customer_id, key_id FROM identities WHERE id_type = ? AND id_value = ?',
  ),
  writeHashed: statement(
    'identities.write_hashed',
    'INSERT INTO identities (id_type, id_value, customer_id, created_at, key_id) VALUES (?, ?, ?, ?, ?)',
  ),
  deleteClear: statement(
    'identities.delete_clear',
    'DELETE FROM identities WHERE id_type = ? AND id_value = ?',
  ),
  index: statement(
    'customer_identities.write_hashed',
    'INSERT INTO customer_identities (customer_id, id_type, id_value) VALUES (?, ?, ?)',
  ),
  unindex: statement(
    'customer_identities.delete_clear',
    'DELETE FROM customer_identities WHERE customer_id = ? AND id_type = ? AND id_value = ?',
  ),
  mergeIdentities: statement(
    'customer_merges.rewrite_identities',
    'UPDATE customer_merges SET identities = ? WHERE absorbed_id = ?',
  ),
});

export interface HashClearReport {
  /** rows of `identities` read */
  scanned: number;
  /** clear loyalty cards and device ids now stored hashed */
  hashed: number;
  /** merge records whose identities were rewritten */
  merges: number;
  /** hashed values another customer held already, given to the clear row's owner */
  conflicts: number;
}

export class IdentityKeyMissingError extends Error {
  override readonly name = 'IdentityKeyMissingError';
}

/** rows handled at once */
const CONCURRENCY = 32;
const isFormerlyClear = (type: string): type is IdentityType =>
  (FORMERLY_CLEAR_TYPES as readonly string[]).includes(type);

/** See the file comment. `key`: the current identity key; needed only when there is something to hash. */
export async function hashClearIdentifiers(
  client: CqlClient,
  key: IdentityKey | undefined,
  log: (line: string) => void = () => undefined,
): Promise<HashClearReport> {
  const report: HashClearReport = { scanned: 0, hashed: 0, merges: 0, conflicts: 0 };
  const customers = new CustomerRepository(client);
  const keyFor = (what: string): IdentityKey => {
    if (key) return key;
    throw new IdentityKeyMissingError(
      `${what} stored in clear by an earlier version must be hashed, which needs the identity key: set NUNCHI_IDENTITY_SECRET and NUNCHI_IDENTITY_KEY_ID as ingestion has them (docs/security.md, "Upgrading from identifiers stored in clear") and run it again`,
    );
  };
  /**
   * Whether a merge record's entry is a clear value: `identities` holds it as a row of an earlier version (no
   * key id), or — the step cut short and run again, or a merge made meanwhile — holds its hash already. (A
   * hashed entry's own hash is in no row: nobody's card is a 64-digit HMAC of another.)
   */
  const clearEntry = async (type: IdentityType, value: string) => {
    const row = (await run(client, Q.identityRow, [type, value])).first();
    if (row) return (row['key_id'] as string | null) === null;
    if (!key) return false;
    return (
      (await run(client, Q.identityRow, [type, storedIdentityValue(type, value, key.secret)])).rowLength > 0
    );
  };

  // 1. Merge records (few: one per merge) and the absorbed customers' reverse-index rows.
  for (const record of await runAll(client, Q.scanMerges, [])) {
    const text = record['identities'] as string | null;
    if (!text) continue;
    const absorbedId = record['absorbed_id'] as string;
    const entries = JSON.parse(text) as Array<[IdentityType, string]>;
    let changed = false;
    const next: Array<[IdentityType, string]> = [];
    for (const [type, value] of entries) {
      if (!isFormerlyClear(type) || !(await clearEntry(type, value))) {
        next.push([type, value]);
        continue;
      }
      const hashed = storedIdentityValue(
        type,
        value,
        keyFor('merge records naming loyalty cards or device ids').secret,
      );
      await run(client, Q.index, [absorbedId, type, hashed]);
      await run(client, Q.unindex, [absorbedId, type, value]);
      next.push([type, hashed]);
      changed = true;
    }
    if (!changed) continue;
    await run(client, Q.mergeIdentities, [JSON.stringify(next), absorbedId]);
    report.merges++;
  }

  // 2. Identities, page by page; a page's clear rows are hashed before the next page is read.
  let pageState: string | undefined;
  let logged = 0;
  do {
    const page = await run(client, Q.scanIdentities, [], { fetchSize: 5_000, pageState });
    pageState = page.pageState ?? undefined;
    report.scanned += page.rows.length;
    const clear = page.rows.filter(
      (r) => isFormerlyClear(r['id_type'] as string) && (r['key_id'] as string | null) === null,
    );
    if (clear.length) keyFor(`${clear.length}+ loyalty cards or device ids`);
    const losers = await mapBounded(clear, CONCURRENCY, async (r) => {
      const type = r['id_type'] as IdentityType;
      const value = r['id_value'] as string;
      const owner = r['customer_id'] as string;
      const hashed = storedIdentityValue(type, value, key!.secret);
      const current = (await run(client, Q.identityRow, [type, hashed])).first();
      const other =
        current && (current['customer_id'] as string) !== owner
          ? (current['customer_id'] as string)
          : undefined;
      await run(client, Q.writeHashed, [type, hashed, owner, r['created_at'], key!.id]);
      await run(client, Q.index, [owner, type, hashed]);
      if (other) await run(client, Q.unindex, [other, type, hashed]);
      await run(client, Q.unindex, [owner, type, value]);
      await run(client, Q.deleteClear, [type, value]);
      return other;
    });
    const lost = losers.filter((l): l is string => l !== undefined);
    if (lost.length) {
      await customers.logIdentifierChanges([...new Set(lost)], new Date());
      log(
        `identities: ${lost.length} hashed values held by another customer went to the clear row's owner (${[...new Set(lost)].slice(0, 5).join(', ')}${lost.length > 5 ? ', …' : ''})`,
      );
    }
    report.hashed += clear.length;
    report.conflicts += lost.length;
    if (report.scanned >= (logged + 1) * 100_000) {
      logged = Math.floor(report.scanned / 100_000);
      log(`identities: ${report.scanned} rows read, ${report.hashed} hashed`);
    }
  } while (pageState);
  return report;
}
