import type cassandra from 'cassandra-driver';
import type { CustomerProfile } from '@nunchi/contracts';
import { openCell, SealedDataError, sealCell, type DataKey } from '@nunchi/sealing';

/**
 * A customer's profile as Cassandra stores it (`customers`, migration 0022), sealed under the customer's data
 * key (crypto-shredding of the database's own rows, docs/security.md "Cassandra's rows"): an erasure deletes
 * the key, so a backup of the table taken before it cannot be read for that customer after.
 *
 * Each value is a map entry of its own — `sealed_fields` (age, gender, region, credit tier, marketing
 * consent), `sealed_channel_consent` (per channel), `sealed_attributes` (per attribute) — a sealed cell of its
 * JSON bound to the customer and to its place (`customers.sealed_fields/region`), so a value moved to another
 * customer or field does not open. One entry per value keeps what the clear columns gave: each has its own
 * write timestamp, so per value the latest change wins whatever order changes arrive in.
 *
 * The clear columns (age, gender, …, attributes) are those of rows written before 0022, sealed by its data step
 * (seal-clear-profiles.ts); a row read meanwhile is read as it is, a sealed value taking precedence.
 */

type Row = cassandra.types.Row;

/** The clear columns of a profile field and its entry name in `sealed_fields`. */
const FIELDS = [
  ['age', 'age'],
  ['gender', 'gender'],
  ['region', 'region'],
  ['creditTier', 'credit_tier'],
  ['marketingConsent', 'marketing_consent'],
] as const satisfies ReadonlyArray<readonly [keyof CustomerProfile, string]>;

/** The profile's sealed map entries (entry name → sealed cell), per map column. */
export interface SealedProfileMaps {
  fields: Record<string, Buffer>;
  channelConsent: Record<string, Buffer>;
  attributes: Record<string, Buffer>;
}

const seal = (customerId: string, key: DataKey, column: string, entry: string, value: unknown) =>
  sealCell(customerId, key, `customers.${column}/${entry}`, Buffer.from(JSON.stringify(value), 'utf8'));

/** The values `profile` gives (undefined ones left out: not written), sealed. */
export function sealProfile(
  customerId: string,
  key: DataKey,
  profile: Omit<Partial<CustomerProfile>, 'id'>,
): SealedProfileMaps {
  const out: SealedProfileMaps = { fields: {}, channelConsent: {}, attributes: {} };
  for (const [field, entry] of FIELDS) {
    const value = profile[field];
    if (value !== undefined && value !== null)
      out.fields[entry] = seal(customerId, key, 'sealed_fields', entry, value);
  }
  for (const [channel, consent] of Object.entries(profile.channelConsent ?? {}))
    out.channelConsent[channel] = seal(customerId, key, 'sealed_channel_consent', channel, consent);
  for (const [name, value] of Object.entries(profile.attributes ?? {}))
    out.attributes[name] = seal(customerId, key, 'sealed_attributes', name, value);
  return out;
}

const mapOf = (row: Row, column: string) => row[column] as Record<string, Buffer> | null;

/** Whether reading this `customers` row needs the customer's data key. */
export function anySealedProfile(row: Row): boolean {
  return ['sealed_fields', 'sealed_channel_consent', 'sealed_attributes'].some(
    (column) => Object.keys(mapOf(row, column) ?? {}).length > 0,
  );
}

/**
 * The profile of a `customers` row: its clear columns (rows from before 0022), then its sealed entries, opened
 * with the customer's data key. A sealed row without a key is a SealedDataError (erased, or the key lost).
 */
export function openProfile(customerId: string, row: Row, key: DataKey | undefined): CustomerProfile {
  const open = (column: string, entry: string, cell: Buffer): unknown => {
    if (!key)
      throw new SealedDataError(
        `the profile of customer ${customerId} is sealed, and the customer has no data key (erased, or the key was lost): it cannot be read`,
      );
    return JSON.parse(openCell(customerId, key, `customers.${column}/${entry}`, cell).toString('utf8'));
  };
  const profile: Record<string, unknown> = { id: customerId };
  const sealedFields = mapOf(row, 'sealed_fields') ?? {};
  for (const [field, entry] of FIELDS) {
    const cell = sealedFields[entry];
    const value = cell ? open('sealed_fields', entry, cell) : (row[entry] as unknown);
    if (value !== null && value !== undefined) profile[field] = value;
  }
  const channelConsent: Record<string, boolean> = {
    ...((row['channel_consent'] as Record<string, boolean> | null) ?? {}),
  };
  for (const [channel, cell] of Object.entries(mapOf(row, 'sealed_channel_consent') ?? {}))
    channelConsent[channel] = open('sealed_channel_consent', channel, cell) as boolean;
  if (Object.keys(channelConsent).length) profile['channelConsent'] = channelConsent;
  const attributes: Record<string, string> = {
    ...((row['attributes'] as Record<string, string> | null) ?? {}),
  };
  for (const [name, cell] of Object.entries(mapOf(row, 'sealed_attributes') ?? {}))
    attributes[name] = open('sealed_attributes', name, cell) as string;
  profile['attributes'] = attributes;
  return profile as unknown as CustomerProfile;
}
