import type cassandra from 'cassandra-driver';
import type { CustomerProfile } from '@nunchi/contracts';
import type { IdentityType } from '@nunchi/contracts/core';
import type { DataKey } from '@nunchi/sealing';
import type { CqlClient } from '../client.js';
import type { BulkWrite } from '../bulk.js';
import type { CustomerKeyring } from '../customer-keyring.js';
import { anySealedProfile, openProfile, sealProfile } from '../sealed-profile.js';
import { defineStatements, inGroupsOf, run, runAll, runQuiet, statement } from '../statements.js';

/** 'YYYY-MM-DD' of an instant in UTC: the partition of the by-day change logs */
export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Whether `text` is a real UTC day as utcDay writes it (YYYY-MM-DD; not 2026-02-30). */
export const isUtcDay = (text: string): boolean => {
  const ms = Date.parse(`${text}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(ms) && utcDay(ms) === text;
};

const Q = defineStatements({
  logIdentifierChange: statement(
    'identifier_changes_by_day.insert',
    'INSERT INTO identifier_changes_by_day (day, changed_at, customer_id) VALUES (?, ?, ?)',
  ),
  identifierChangesOn: statement(
    'identifier_changes_by_day.of_day',
    'SELECT changed_at, customer_id FROM identifier_changes_by_day WHERE day = ?',
  ),
  // The clear columns are those of rows written before migration 0022 (its data step seals them).
  get: statement(
    'customers.get',
    'SELECT customer_id, age, gender, region, credit_tier, marketing_consent, channel_consent, attributes, sealed_fields, sealed_channel_consent, sealed_attributes, merged_into, rollup_generation FROM customers WHERE customer_id = ?',
  ),
  // Simulation on history: many customers' profiles a request (the same columns as get).
  getMany: statement(
    'customers.get_many',
    'SELECT customer_id, age, gender, region, credit_tier, marketing_consent, channel_consent, attributes, sealed_fields, sealed_channel_consent, sealed_attributes, merged_into, rollup_generation FROM customers WHERE customer_id IN ?',
  ),
  mergedInto: statement(
    'customers.merged_into_of',
    'SELECT merged_into FROM customers WHERE customer_id = ?',
  ),
  exists: statement('customers.exists_row', 'SELECT customer_id FROM customers WHERE customer_id = ?'),
  // The whole profile (an import): the fields given, the consent and attribute maps replaced when given.
  upsert: statement(
    'customers.upsert',
    'UPDATE customers SET sealed_fields = sealed_fields + ?, sealed_channel_consent = ?, sealed_attributes = ?, updated_at = ? WHERE customer_id = ?',
  ),
  // A profile_update event: only the fields it names, at the event's time, so that per field the latest event
  // wins whatever order events arrive in (a late update never overwrites a newer one): each field, each
  // channel's consent and each attribute is a map entry of its own, with its own write timestamp.
  update: statement(
    'customers.update_fields',
    'UPDATE customers USING TIMESTAMP ? SET sealed_fields = sealed_fields + ?, sealed_channel_consent = sealed_channel_consent + ?, sealed_attributes = sealed_attributes + ?, updated_at = ? WHERE customer_id = ?',
  ),
  isErased: statement('erased_customers.get', 'SELECT erased_at FROM erased_customers WHERE customer_id = ?'),
  // key_id: the identity key the value is hashed under (docs/security.md); an import writes the whole row.
  importIdentity: statement(
    'identities.import',
    'INSERT INTO identities (id_type, id_value, customer_id, created_at, key_id) VALUES (?, ?, ?, ?, ?)',
  ),
  // A merge or an unlink points an existing row at another customer: the value, and its key id, stay.
  linkIdentity: statement(
    'identities.upsert',
    'INSERT INTO identities (id_type, id_value, customer_id, created_at) VALUES (?, ?, ?, ?)',
  ),
  indexIdentity: statement(
    'customer_identities.upsert',
    'INSERT INTO customer_identities (customer_id, id_type, id_value) VALUES (?, ?, ?)',
  ),
  identityOwner: statement(
    'identities.owner_of',
    'SELECT customer_id FROM identities WHERE id_type = ? AND id_value = ?',
  ),
  setGeneration: statement(
    'customers.set_generation',
    'UPDATE customers SET rollup_generation = ? WHERE customer_id = ?',
  ),
  clearMergedInto: statement(
    'customers.clear_merged_into',
    'UPDATE customers SET merged_into = null WHERE customer_id = ?',
  ),
  identitiesOf: statement(
    'customer_identities.of_customer',
    'SELECT id_type, id_value FROM customer_identities WHERE customer_id = ?',
  ),
  unindexIdentity: statement(
    'customer_identities.delete',
    'DELETE FROM customer_identities WHERE customer_id = ? AND id_type = ? AND id_value = ?',
  ),
});

/** A `customers` row as stored (CustomerRepository.profileRows), its profile still sealed. */
export type StoredProfileRow = cassandra.types.Row;

/** customers whose profiles are read in one request (CustomerRepository.profileRows) */
const PROFILES_A_REQUEST = 50;

/** A customer's profile row as a cold load reads it. */
export interface StoredCustomer {
  profile: CustomerProfile | null;
  /** the customer this one was merged into (docs/identity.md) */
  mergedInto?: string;
  /** the generation its daily rollups are written at (ContextRepository dailyRowsTimestamp); 0 until an unlink */
  generation: number;
}

/** A map worth writing: undefined (left unset) when empty or absent. */
function nonEmpty<V>(map: Record<string, V> | undefined): Record<string, V> | undefined {
  return map && Object.keys(map).length ? map : undefined;
}

/**
 * Profiles and their identities. A profile_update changes only the fields it names (unset stays as it was).
 * Profiles are stored sealed under the customer's data key (sealed-profile.ts): reading or writing one needs
 * `keys`; a repository built without (identities only: ingestion, the erasure) refuses to.
 */
export class CustomerRepository {
  constructor(
    private readonly client: CqlClient,
    private readonly keys?: CustomerKeyring,
  ) {}

  private keyring(): CustomerKeyring {
    if (this.keys) return this.keys;
    throw new Error(
      "this CustomerRepository has no keyring: profiles are sealed under the customers' data keys",
    );
  }

  /** The customer's data key, created on first use (an import: importWrites). */
  dataKey(customerId: string): Promise<DataKey> {
    return this.keyring().obtain(customerId);
  }

  /** Whether the customer has a profile row (without reading it: no key needed). */
  async exists(customerId: string): Promise<boolean> {
    return (await run(this.client, Q.exists, [customerId])).rowLength > 0;
  }

  /** The customer this one was merged into, if it was (no profile read: the erasure's walk). */
  async mergedIntoOf(customerId: string): Promise<string | undefined> {
    const row = (await run(this.client, Q.mergedInto, [customerId])).first();
    return (row?.['merged_into'] as string | null | undefined) ?? undefined;
  }

  async get(customerId: string): Promise<CustomerProfile | null> {
    return (await this.getWithLink(customerId)).profile;
  }

  /**
   * The profile, and the customer this one was merged into (docs/identity.md) if it was: one read, so that a
   * cold load learns both at once.
   */
  async getWithLink(customerId: string): Promise<StoredCustomer> {
    return this.storedCustomer(customerId, (await run(this.client, Q.get, [customerId])).first());
  }

  /**
   * Simulation on history: the profile rows of many customers, PROFILES_A_REQUEST a request, by customer (none:
   * not in the map), not opened — openProfileRow opens one as `get` would.
   */
  async profileRows(customerIds: readonly string[]): Promise<Map<string, StoredProfileRow>> {
    const out = new Map<string, StoredProfileRow>();
    await Promise.all(
      inGroupsOf(customerIds, PROFILES_A_REQUEST).map(async (group) => {
        for (const row of (await run(this.client, Q.getMany, [group])).rows)
          out.set(row['customer_id'] as string, row);
      }),
    );
    return out;
  }

  /** A profile row of profileRows (undefined: none), opened: what `get` returns. */
  async openProfileRow(
    customerId: string,
    row: StoredProfileRow | undefined,
  ): Promise<CustomerProfile | null> {
    return (await this.storedCustomer(customerId, row)).profile;
  }

  private async storedCustomer(
    customerId: string,
    row: StoredProfileRow | undefined,
  ): Promise<StoredCustomer> {
    if (!row) return { profile: null, generation: 0 };
    const mergedInto = row['merged_into'] as string | null;
    const key = anySealedProfile(row) ? await this.keyring().find(customerId) : undefined;
    return {
      profile: openProfile(customerId, row, key),
      generation: (row['rollup_generation'] as number | null) ?? 0,
      ...(mergedInto ? { mergedInto } : {}),
    };
  }

  /** An unlink (docs/identity.md): the survivor's next rollup generation, and the absorbed customer freed. */
  async setGeneration(customerId: string, generation: number): Promise<void> {
    await run(this.client, Q.setGeneration, [generation, customerId]);
  }

  async clearMergedInto(customerId: string): Promise<void> {
    await run(this.client, Q.clearMergedInto, [customerId]);
  }

  /** The identities (stored values) listed for a customer in the reverse index. */
  async identitiesOf(customerId: string): Promise<Array<[IdentityType, string]>> {
    return (await runAll(this.client, Q.identitiesOf, [customerId])).map((r) => [
      r['id_type'] as IdentityType,
      r['id_value'] as string,
    ]);
  }

  /** Writes the whole profile. `undefined` fields are left unset, so a partial update does not erase others. */
  async upsert(profile: CustomerProfile, at: Date, quiet = false): Promise<void> {
    const params = this.upsertParams(profile, at, await this.dataKey(profile.id));
    await (quiet ? runQuiet(this.client, Q.upsert, params) : run(this.client, Q.upsert, params));
  }

  private upsertParams(profile: CustomerProfile, at: Date, key: DataKey): unknown[] {
    const sealed = sealProfile(profile.id, key, profile);
    return [sealed.fields, nonEmpty(sealed.channelConsent), nonEmpty(sealed.attributes), at, profile.id];
  }

  /**
   * Applies a partial profile change that happened at `atMs` (epoch ms): fields left undefined are not
   * touched, attributes are merged key by key, and each written cell carries the event time as its write
   * timestamp (or `writeTimestamp`), so the latest change of each field wins even when changes arrive out of
   * order.
   */
  async updateFields(
    customerId: string,
    fields: Omit<Partial<CustomerProfile>, 'id'>,
    atMs: number,
    /** microseconds; @default atMs × 1000 — a live event's is clamped (write-fence.ts profileWriteTimestamp) */
    writeTimestamp = atMs * 1000,
  ): Promise<void> {
    const sealed = sealProfile(customerId, await this.dataKey(customerId), fields);
    await run(this.client, Q.update, [
      writeTimestamp,
      sealed.fields,
      sealed.channelConsent,
      sealed.attributes,
      new Date(atMs),
      customerId,
    ]);
  }

  /**
   * The writes that import one profile with its identities (stored values: see storedIdentityValue, hashed
   * under the key `keyId`), for bulk execution (writeBatched): the profile and its reverse-index rows share
   * one partition key, so in one batch Cassandra applies them as a single mutation.
   */
  importWrites(
    profile: CustomerProfile,
    identities: ReadonlyArray<{ type: IdentityType; storedValue: string }>,
    at: Date,
    keyId: string,
    /** the customer's data key (dataKey): the profile is sealed under it */
    dataKey: DataKey,
  ): BulkWrite[] {
    const writes: BulkWrite[] = [{ query: Q.upsert.cql, params: this.upsertParams(profile, at, dataKey) }];
    for (const { type, storedValue } of identities) {
      writes.push({ query: Q.indexIdentity.cql, params: [profile.id, type, storedValue] });
      writes.push({ query: Q.importIdentity.cql, params: [type, storedValue, profile.id, at, keyId] });
    }
    return writes;
  }

  /** The write that takes an identifier off its previous owner's reverse index, when it moves to another customer. */
  unlinkWrite(previousOwner: string, type: IdentityType, storedValue: string): BulkWrite {
    return { query: Q.unindexIdentity.cql, params: [previousOwner, type, storedValue] };
  }

  /** Records that these customers lost identifiers (ingestion replicas drop their cached owners). */
  async logIdentifierChanges(customerIds: readonly string[], at: Date): Promise<void> {
    await Promise.all(
      customerIds.map((id) => run(this.client, Q.logIdentifierChange, [utcDay(at.getTime()), at, id])),
    );
  }

  /** Customers who lost identifiers on the UTC days of `sinceMs` up to `nowMs`, and when (epoch ms). */
  async identifierChangesSince(
    sinceMs: number,
    nowMs: number,
  ): Promise<Array<{ customerId: string; atMs: number }>> {
    const days = new Set([utcDay(sinceMs), utcDay(nowMs)]);
    const pages = await Promise.all([...days].map((day) => run(this.client, Q.identifierChangesOn, [day])));
    return pages.flatMap((p) =>
      p.rows.map((r) => ({
        customerId: r['customer_id'] as string,
        atMs: (r['changed_at'] as Date).getTime(),
      })),
    );
  }

  /** The customer an identifier (stored value) resolves to, if any. */
  async ownerOf(type: IdentityType, storedValue: string): Promise<string | undefined> {
    const row = (await runQuiet(this.client, Q.identityOwner, [type, storedValue])).first();
    return row ? (row['customer_id'] as string) : undefined;
  }

  async linkIdentity(customerId: string, type: string, storedValue: string, at: Date): Promise<void> {
    await runQuiet(this.client, Q.linkIdentity, [type, storedValue, customerId, at]);
    await runQuiet(this.client, Q.indexIdentity, [customerId, type, storedValue]);
  }

  /** Takes an identifier off a customer's reverse index (it was given back to another: an unlink). */
  async unindexIdentity(customerId: string, type: IdentityType, storedValue: string): Promise<void> {
    await run(this.client, Q.unindexIdentity, [customerId, type, storedValue]);
  }

  async isErased(customerId: string, quiet = false): Promise<boolean> {
    return (
      (
        await (quiet
          ? runQuiet(this.client, Q.isErased, [customerId])
          : run(this.client, Q.isErased, [customerId]))
      ).rowLength > 0
    );
  }
}
