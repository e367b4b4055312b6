import type { IdentityKey } from '@nunchi/config';
import { generateDataKey, wrapDataKey, type DataKey } from '@nunchi/sealing';
import type { BulkWrite } from '../bulk.js';
import type { CqlClient } from '../client.js';
import { defineStatements, run, statement } from '../statements.js';

/** A customer's data key as stored: wrapped under a KEK (libs/sealing, cql/0020_customer_keys.cql). */
export interface StoredCustomerKey {
  keyId: string;
  /** the id of the identity key the KEK was derived from */
  kekId: string;
  wrapped: Buffer;
}

const Q = defineStatements({
  get: statement(
    'customer_keys.get',
    'SELECT key_id, kek_id, wrapped_key FROM customer_keys WHERE customer_id = ?',
  ),
  // A lightweight transaction (Paxos): of two context replicas creating a customer's first key at once, one
  // wins and the other is answered with the winner's row. Not retried blindly by the driver: the answer says
  // whether it was applied.
  create: statement(
    'customer_keys.create',
    'INSERT INTO customer_keys (customer_id, key_id, kek_id, wrapped_key, created_at) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS',
    false,
  ),
  // Bulk loads only (a benchmark's history): customers known to have no key yet, nothing live beside it.
  seed: statement(
    'customer_keys.seed',
    'INSERT INTO customer_keys (customer_id, key_id, kek_id, wrapped_key, created_at) VALUES (?, ?, ?, ?, ?)',
  ),
  // After a rotation of the identity key: the same data key, wrapped under the new KEK. Conditional, so that it
  // never writes a row the erasure deleted, nor over another key.
  rewrap: statement(
    'customer_keys.rewrap',
    'UPDATE customer_keys SET kek_id = ?, wrapped_key = ? WHERE customer_id = ? IF key_id = ?',
    false,
  ),
  // A process warming its keyring (CustomerKeyring.preload): many customers a request, off the event path.
  getMany: statement(
    'customer_keys.get_many',
    'SELECT customer_id, key_id, kek_id, wrapped_key FROM customer_keys WHERE customer_id IN ?',
  ),
  // A maintenance pass over every key (nunchi customers rewrap-keys), page by page: never on a live path.
  scan: statement('customer_keys.scan', 'SELECT customer_id, key_id, kek_id, wrapped_key FROM customer_keys'),
  erasedAt: statement(
    'erased_customers.erased_at',
    'SELECT erased_at FROM erased_customers WHERE customer_id = ?',
  ),
});

/**
 * Per-customer data keys (crypto-shredding). Rows only: wrapping and unwrapping are libs/sealing's, the cache
 * CustomerKeyring's. The erasure deletes a customer's row (ErasureRepository).
 */
export class CustomerKeyRepository {
  constructor(private readonly client: CqlClient) {}

  async get(customerId: string): Promise<StoredCustomerKey | undefined> {
    const row = (await run(this.client, Q.get, [customerId])).first();
    return row ? storedKeyOf(row) : undefined;
  }

  /**
   * Stores `key` as the customer's key unless the customer has one already; returns the customer's key either
   * way — the one stored now, or the one that was there (from the transaction's answer: no second read).
   */
  async create(customerId: string, key: StoredCustomerKey, createdAt: Date): Promise<StoredCustomerKey> {
    const row = (
      await run(this.client, Q.create, [customerId, key.keyId, key.kekId, key.wrapped, createdAt])
    ).first();
    if (row['[applied]'] as boolean) return key;
    return storedKeyOf(row);
  }

  /**
   * The plain INSERT of a key for a bulk load (writeBatched) of customers who have none and whose events no
   * service handles meanwhile, e.g. a benchmark's months of history: a repeat customer has had a key since
   * its first event. Live code creates keys with `create` (IF NOT EXISTS) only. Returns a new key (wrapped
   * under `kek` in the write), which the customer's bulk-written history is sealed under (historyWrites).
   */
  seedWrite(customerId: string, kek: IdentityKey, createdAt: Date): { key: DataKey; write: BulkWrite } {
    const key = generateDataKey();
    const stored = wrapDataKey(customerId, key, kek);
    return {
      key,
      write: {
        query: Q.seed.cql,
        params: [customerId, stored.keyId, stored.kekId, stored.wrapped, createdAt],
      },
    };
  }

  /** The stored keys of those of `customerIds` that have one (one request: keep the list short, ~50). */
  async getMany(customerIds: readonly string[]): Promise<Map<string, StoredCustomerKey>> {
    const rows = (await run(this.client, Q.getMany, [[...customerIds]])).rows;
    return new Map(rows.map((row) => [row['customer_id'] as string, storedKeyOf(row)]));
  }

  /** One page of every stored key (`pageState` from the page before; undefined: the first). */
  async page(
    pageState: string | undefined,
    fetchSize: number,
  ): Promise<{ keys: Array<{ customerId: string; key: StoredCustomerKey }>; pageState?: string }> {
    const page = await run(this.client, Q.scan, [], { fetchSize, pageState });
    return {
      keys: page.rows.map((row) => ({ customerId: row['customer_id'] as string, key: storedKeyOf(row) })),
      ...(page.pageState ? { pageState: page.pageState } : {}),
    };
  }

  /** Stores the customer's key wrapped anew (a rotation); false when the row is gone or holds another key. */
  async rewrap(customerId: string, key: StoredCustomerKey): Promise<boolean> {
    const row = (await run(this.client, Q.rewrap, [key.kekId, key.wrapped, customerId, key.keyId])).first();
    return row['[applied]'] as boolean;
  }

  /** When the customer was erased (its tombstone), or undefined: why a key is missing. */
  async erasedAt(customerId: string): Promise<Date | undefined> {
    const row = (await run(this.client, Q.erasedAt, [customerId])).first();
    return (row?.['erased_at'] as Date | undefined) ?? undefined;
  }
}

function storedKeyOf(row: { [key: string]: unknown }): StoredCustomerKey {
  return {
    keyId: row['key_id'] as string,
    kekId: row['kek_id'] as string,
    wrapped: row['wrapped_key'] as Buffer,
  };
}
