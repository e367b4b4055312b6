/**
 * Profiles stored in clear by versions before migration 0022, sealed under each customer's data key
 * (docs/security.md, "Cassandra's rows"). Run by the migration runner right after 0022's statements (the data
 * step `sealed_profiles`), and by `nunchi customers seal-profiles` after a rolling upgrade during which
 * replicas of the previous version still wrote some.
 *
 * For each `customers` row with a clear value, in one single-partition batch: every value is written as its
 * sealed map entry at the clear value's own write timestamp, and the clear value is deleted at that same
 * timestamp — a deletion wins a tie, so exactly that value (or an older one) goes, and a change written since,
 * sealed or not, stays the newer. Scalar fields carry their own timestamps (WRITETIME); the consent and
 * attribute maps, whose entries' timestamps CQL does not return, take the row's `updated_at` one: the newest
 * any of them can have. A customer without a data key gets one (IF NOT EXISTS, as the first event would),
 * unless it was erased. Keyed upserts and deletions: safe to cut short and run again.
 */
import type { IdentityKey } from '@nunchi/config';
import { mapBounded } from './bulk.js';
import type { CqlClient } from './client.js';
import { CustomerKeyring } from './customer-keyring.js';
import { MissingKekError } from '@nunchi/sealing';
import { IdentityKeyMissingError } from './hash-clear-identifiers.js';
import { CustomerKeyRepository } from './repositories/customer-key.repository.js';
import type { CustomerProfile } from '@nunchi/contracts';
import { sealProfile } from './sealed-profile.js';
import { defineStatements, run, statement, type Statement } from './statements.js';

/** The clear scalar columns, and the profile field each holds. */
const SCALARS = {
  age: 'age',
  gender: 'gender',
  region: 'region',
  credit_tier: 'creditTier',
  marketing_consent: 'marketingConsent',
} as const satisfies Record<string, keyof CustomerProfile>;
type Scalar = keyof typeof SCALARS;
const COLUMNS = Object.keys(SCALARS) as Scalar[];

const Q = defineStatements({
  // The whole table, page by page: a one-off step, not a query of the live path.
  scan: statement(
    'customers.scan_for_sealing',
    `SELECT customer_id, ${COLUMNS.join(', ')}, channel_consent, attributes, ${COLUMNS.map((c) => `WRITETIME(${c}) AS ${c}_at`).join(', ')}, WRITETIME(updated_at) AS updated_at_at FROM customers`,
  ),
  isErased: statement(
    'erased_customers.get_for_sealing',
    'SELECT customer_id FROM erased_customers WHERE customer_id = ?',
  ),
  sealField: statement(
    'customers.seal_field',
    'UPDATE customers USING TIMESTAMP ? SET sealed_fields = sealed_fields + ? WHERE customer_id = ?',
  ),
  sealMaps: statement(
    'customers.seal_maps',
    'UPDATE customers USING TIMESTAMP ? SET sealed_channel_consent = sealed_channel_consent + ?, sealed_attributes = sealed_attributes + ? WHERE customer_id = ?',
  ),
  clearMaps: statement(
    'customers.clear_maps',
    'DELETE channel_consent, attributes FROM customers USING TIMESTAMP ? WHERE customer_id = ?',
  ),
});

/** Deletes one clear scalar column at a timestamp. */
const CLEAR = defineStatements(
  Object.fromEntries(
    COLUMNS.map((c) => [
      c,
      statement(`customers.clear_${c}`, `DELETE ${c} FROM customers USING TIMESTAMP ? WHERE customer_id = ?`),
    ]),
  ) as Record<Scalar, Statement>,
);

export interface SealProfilesReport {
  /** rows of `customers` read */
  scanned: number;
  /** profiles with clear values, now sealed */
  sealed: number;
  /** of those, customers that had no data key yet (imported, no event since) */
  keysCreated: number;
  /** rows with clear values of customers erased meanwhile: left for the erasure's deletion */
  erased: number;
  /**
   * profiles left in clear because the customer's data key is wrapped under an identity key this process
   * lacks (NUNCHI_IDENTITY_PREVIOUS_KEYS): run it again with that key
   */
  unopenable: number;
}

/** rows sealed at once */
const CONCURRENCY = 16;

/** See the file comment. `keks`: the identity keys (current first); needed only when there is something to seal. */
export async function sealClearProfiles(
  client: CqlClient,
  keks: readonly IdentityKey[],
  log: (line: string) => void = () => undefined,
): Promise<SealProfilesReport> {
  const report: SealProfilesReport = { scanned: 0, sealed: 0, keysCreated: 0, erased: 0, unopenable: 0 };
  const keyRepository = new CustomerKeyRepository(client);
  const keyring = new CustomerKeyring(keyRepository, keks, { maxEntries: 1_000 });
  let pageState: string | undefined;
  let logged = 0;
  do {
    const page = await run(client, Q.scan, [], { fetchSize: 2_000, pageState });
    pageState = page.pageState ?? undefined;
    report.scanned += page.rows.length;
    const clear = page.rows.filter(
      (r) => COLUMNS.some((c) => r[c] !== null) || r['channel_consent'] !== null || r['attributes'] !== null,
    );
    if (clear.length && !keks.length)
      throw new IdentityKeyMissingError(
        `${clear.length}+ profiles stored in clear by an earlier version must be sealed under their customers' data keys, which are wrapped under the identity key: set NUNCHI_IDENTITY_SECRET and NUNCHI_IDENTITY_KEY_ID as the services have them (docs/security.md, "Cassandra's rows") and run it again`,
      );
    await mapBounded(clear, CONCURRENCY, async (r) => {
      const customerId = r['customer_id'] as string;
      if ((await run(client, Q.isErased, [customerId])).rowLength > 0) {
        report.erased++;
        return;
      }
      let hadKey: boolean;
      try {
        hadKey = (await keyring.find(customerId)) !== undefined;
      } catch (error) {
        if (!(error instanceof MissingKekError)) throw error;
        if (!report.unopenable) log(`customers: left in clear: ${error.message}`);
        report.unopenable++;
        return;
      }
      const key = await keyring.obtain(customerId);
      if (!hadKey) report.keysCreated++;
      /** a column's write timestamp, microseconds (the clear value's own; now if, oddly, it has none) */
      const writtenAt = (column: string) =>
        (r[`${column}_at`] as { toNumber(): number } | null)?.toNumber() ?? Date.now() * 1000;
      const queries: Array<{ query: string; params: unknown[] }> = [];
      for (const column of COLUMNS) {
        if (r[column] === null) continue;
        const at = writtenAt(column);
        const sealed = sealProfile(customerId, key, { [SCALARS[column]]: r[column] as unknown });
        queries.push(
          { query: Q.sealField.cql, params: [at, sealed.fields, customerId] },
          { query: CLEAR[column].cql, params: [at, customerId] },
        );
      }
      const channelConsent = r['channel_consent'] as Record<string, boolean> | null;
      const attributes = r['attributes'] as Record<string, string> | null;
      if (channelConsent || attributes) {
        const at = writtenAt('updated_at');
        const sealed = sealProfile(customerId, key, {
          channelConsent: channelConsent ?? {},
          attributes: attributes ?? {},
        });
        queries.push(
          { query: Q.sealMaps.cql, params: [at, sealed.channelConsent, sealed.attributes, customerId] },
          { query: Q.clearMaps.cql, params: [at, customerId] },
        );
      }
      await client.batch(queries, { prepare: true, logged: false, isIdempotent: true });
      report.sealed++;
    });
    if (report.scanned >= (logged + 1) * 100_000) {
      logged = Math.floor(report.scanned / 100_000);
      log(`customers: ${report.scanned} rows read, ${report.sealed} profiles sealed`);
    }
  } while (pageState);
  return report;
}
