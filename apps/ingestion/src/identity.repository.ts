import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CQL_CLIENT } from '@nunchi/cassandra/nest';
import {
  CustomerKeyring,
  defineStatements,
  run,
  statement,
  storedIdentityValue,
  type CqlClient,
} from '@nunchi/cassandra';
import { CONFIG } from '@nunchi/config/nest';
import { requireIdentityKey, type IdentityKey, type NunchiConfig } from '@nunchi/config';
import type { IdentityType } from '@nunchi/contracts/core';
import { meter } from '@nunchi/telemetry';
import { CustomerChanges } from './customer-changes.js';

const Q = defineStatements({
  findIdentity: statement(
    'identities.find',
    'SELECT customer_id FROM identities WHERE id_type = ? AND id_value = ?',
  ),
  // key_id: the identity key the value is hashed under (cql/0018)
  claimIdentity: statement(
    'identities.claim',
    'INSERT INTO identities (id_type, id_value, customer_id, created_at, key_id) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS',
    false,
  ),
  indexIdentity: statement(
    'customer_identities.insert',
    'INSERT INTO customer_identities (customer_id, id_type, id_value) VALUES (?, ?, ?)',
  ),
  unindexIdentity: statement(
    'customer_identities.drop_unclaimed',
    'DELETE FROM customer_identities WHERE customer_id = ? AND id_type = ? AND id_value = ?',
  ),
  loyaltyCardsOf: statement(
    'customer_identities.loyalty_cards_of',
    'SELECT id_value FROM customer_identities WHERE customer_id = ? AND id_type = ?',
  ),
  tombstone: statement(
    'erased_customers.exists',
    'SELECT customer_id FROM erased_customers WHERE customer_id = ?',
  ),
});

/** Who an event is for, as far as ingestion can tell before storing it. */
export type Resolution =
  | { kind: 'customer'; customerId: string; created: boolean }
  /** the customer (named by id, or owning the identifier) was erased: the event would be refused downstream */
  | { kind: 'erased'; customerId: string }
  /** no customer has the identifier and NUNCHI_UNKNOWN_IDENTIFIERS=refuse */
  | { kind: 'unknown' };

/** Whether a customer id is erased, as read from `erased_customers` when checkedAtMs was the time. */
interface Status {
  erased: boolean;
  checkedAtMs: number;
}

/** The owner of an identifier, read at checkedAtMs; valid only while `status` is still the owner's entry. */
interface Owner {
  customerId: string;
  checkedAtMs: number;
  status: Status;
}

/** entries of each cache; the oldest written goes first */
const CACHE_MAX = 200_000;

/**
 * Resolves identifiers to customer ids through `identities`, and tells erased customers apart (CustomerChanges:
 * the set in memory; the tombstone `erased_customers` only while that set is not current). An unknown identifier creates one customer (or is refused, by configuration):
 * the claim is a lightweight transaction, so two concurrent first sightings agree on one customer.
 * Identifiers are looked up and stored only as their keyed hash (storedIdentityValue); a new customer's id is
 * random (newCustomerId), so nothing about a customer can be computed from an identifier without the key.
 *
 * What it reads is cached per process for NUNCHI_IDENTITY_CACHE_TTL_MS, counted from the moment the read was
 * sent, so no entry outlives a change by more than that. Erasure and identifier moves (import) return no
 * sooner than that after writing, and also send the `mkt.ctl.customers.changed` hint, which drops the
 * customers' entries at once (forget): the hint makes a change visible at once, the TTL makes it certain.
 * An identifier's entry holds the status entry of its owner it was checked with: dropping or renewing the
 * owner's status invalidates every identifier of that customer without a reverse index.
 */
@Injectable()
export class IdentityRepository {
  private readonly owners = new Map<string, Owner>();
  private readonly statuses = new Map<string, Status>();
  private readonly ttlMs: number;
  /** counts hints: a read sent before the latest hint may predate its change and is used once, not cached */
  private hints = 0;
  private readonly created = meter().createCounter('nunchi_ingestion_customers_created_total', {
    description: 'anonymous customers created for an identifier seen for the first time, by id_type',
  });
  private readonly rekeyed = meter().createCounter('nunchi_ingestion_identities_rekeyed_total', {
    description:
      'identities found under a previous identity key and stored again under the current one, by id_type',
  });
  /** the key identities are stored under; the previous ones are read during a rotation (docs/security.md) */
  private readonly key: IdentityKey;
  private readonly previousKeys: IdentityKey[];

  constructor(
    @Inject(CQL_CLIENT) private readonly client: CqlClient,
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly changes: CustomerChanges,
    private readonly keys: CustomerKeyring,
  ) {
    this.ttlMs = config.domain.identityCacheTtlMs;
    this.key = requireIdentityKey(config);
    this.previousKeys = config.domain.previousIdentityKeys;
    changes.onIdentifiersChanged((ids) => this.drop(ids));
  }

  /** What this process knows, still fresh, about a customer id; no I/O. */
  cachedCustomer(customerId: string): Resolution | undefined {
    const erased = this.changes.isErased(customerId);
    if (erased !== undefined)
      return erased ? { kind: 'erased', customerId } : { kind: 'customer', customerId, created: false };
    const status = this.statuses.get(customerId);
    if (!status || !this.fresh(status.checkedAtMs)) return undefined;
    return status.erased ? { kind: 'erased', customerId } : { kind: 'customer', customerId, created: false };
  }

  /** A customer id as sent: erased or not, read from the tombstone unless fresh in the cache. */
  async checkCustomer(customerId: string): Promise<Resolution> {
    const status = await this.status(customerId);
    return status.erased ? { kind: 'erased', customerId } : { kind: 'customer', customerId, created: false };
  }

  /** The live customer owning this identifier if this process resolved it recently; no I/O. */
  cachedIdentifier(type: IdentityType, rawValue: string): string | undefined {
    const owner = this.owners.get(this.keyOf(type, rawValue));
    if (!owner || !this.fresh(owner.checkedAtMs)) return undefined;
    // Erased since it was cached (the erased set is current even when the hint was lost): read again.
    if (this.changes.isErased(owner.customerId) === true) return undefined;
    const status = this.statuses.get(owner.customerId);
    return status === owner.status && this.fresh(status.checkedAtMs) && !status.erased
      ? owner.customerId
      : undefined;
  }

  /**
   * Reads the identifier's owner (always: the caller found nothing fresh in the cache), creating one if allowed
   * (`create` false: never, `unknown` instead).
   */
  async resolve(type: IdentityType, rawValue: string, create = true): Promise<Resolution> {
    const value = storedIdentityValue(type, rawValue, this.key.secret);
    const key = `${type}\u0000${value}`;
    const readAtMs = performance.now();
    const hints = this.hints;
    const found = (await run(this.client, Q.findIdentity, [type, value])).first();
    if (found) return this.owned(key, found['customer_id'] as string, readAtMs, hints, false);
    const rekeyed = await this.rekey(type, rawValue, value);
    if (rekeyed) return this.owned(key, rekeyed, readAtMs, hints, false);
    if (!create || this.config.domain.unknownIdentifiers === 'refuse') return { kind: 'unknown' };

    const candidate = newCustomerId();
    const customerId = await this.claim(type, value, candidate, this.key.id);
    if (customerId === candidate) this.created.add(1, { id_type: type });
    return this.owned(key, customerId, readAtMs, hints, customerId === candidate);
  }

  /**
   * Claims a stored identity for `customerId` unless some customer has it; returns its owner. The reverse-index
   * row goes first, so that an identity stored is always one erasure finds (a claim cut short after it would
   * otherwise leave the card pointing at a customer whose erasure cannot see it); a claim that lost takes its
   * row back.
   */
  private async claim(type: IdentityType, value: string, customerId: string, keyId: string): Promise<string> {
    await run(this.client, Q.indexIdentity, [customerId, type, value]);
    const claim = (
      await run(this.client, Q.claimIdentity, [type, value, customerId, new Date(), keyId])
    ).first();
    const owner = claim['[applied]'] ? customerId : (claim['customer_id'] as string);
    if (owner !== customerId) await run(this.client, Q.unindexIdentity, [customerId, type, value]);
    return owner;
  }

  /**
   * Gives an identifier no customer has to `customerId` (an event that links it to an identifier of that
   * customer): a claim, so that a concurrent first sighting agrees. Returns the owner — `customerId`, or
   * whoever claimed it first.
   */
  async claimFor(type: IdentityType, rawValue: string, customerId: string): Promise<string> {
    return this.claim(type, storedIdentityValue(type, rawValue, this.key.secret), customerId, this.key.id);
  }

  /** The loyalty cards the customer holds, as stored (keyed hashes): normally one, none for most app users. */
  async loyaltyCardsOf(customerId: string): Promise<string[]> {
    return (await run(this.client, Q.loyaltyCardsOf, [customerId, 'loyaltyCard'])).rows.map(
      (r) => r['id_value'] as string,
    );
  }

  /**
   * During a key rotation: the owner of an identity stored under a previous key, now stored under the current
   * one too (a claim, so a concurrent first sighting under the new key agrees), or undefined. Only for
   * identifiers no current-key row has, so a rotation costs reads for new identifiers only.
   */
  private async rekey(type: IdentityType, rawValue: string, value: string): Promise<string | undefined> {
    for (const previous of this.previousKeys) {
      const old = storedIdentityValue(type, rawValue, previous.secret);
      const found = (await run(this.client, Q.findIdentity, [type, old])).first();
      if (!found) continue;
      // The customer keeps its id: ids are not derived from identifiers, so a new key changes none.
      const owner = found['customer_id'] as string;
      // indexed with the customer (claim), so that erasure deletes the new row with the old one
      const claimed = await this.claim(type, value, owner, this.key.id);
      if (claimed === owner) this.rekeyed.add(1, { id_type: type });
      return claimed;
    }
    return undefined;
  }

  /** Drops what is cached about these customers (the customers-changed hint): the next event reads again. */
  forget(customerIds: Iterable<string>): void {
    this.drop(customerIds);
    void this.changes.refresh();
  }

  /**
   * Drops the customers' status entries, and with them every identifier cached with them, and their data keys
   * (an erased customer's: the erasure log and the hint both come here, so ingestion needs no poll of its own
   * for the keyring, ErasedKeyEviction).
   */
  private drop(customerIds: Iterable<string>): void {
    this.hints++;
    const ids = [...customerIds];
    for (const id of ids) this.statuses.delete(id);
    this.keys.evict(ids);
  }

  private async owned(
    key: string,
    customerId: string,
    readAtMs: number,
    hints: number,
    created: boolean,
  ): Promise<Resolution> {
    const status = await this.status(customerId);
    if (status.erased) return { kind: 'erased', customerId };
    if (hints === this.hints) remember(this.owners, key, { customerId, checkedAtMs: readAtMs, status });
    return { kind: 'customer', customerId, created };
  }

  private async status(customerId: string): Promise<Status> {
    const cached = this.statuses.get(customerId);
    const known = this.changes.isErased(customerId);
    if (known !== undefined) {
      // The in-memory set answers (no read); a status object is kept per customer so that identifiers
      // cached with it are dropped when it changes.
      if (cached && cached.erased === known && this.fresh(cached.checkedAtMs)) return cached;
      const status = { erased: known, checkedAtMs: this.changes.asOf };
      remember(this.statuses, customerId, status);
      return status;
    }
    if (cached && this.fresh(cached.checkedAtMs)) return cached;
    const checkedAtMs = performance.now();
    const hints = this.hints;
    const erased = (await run(this.client, Q.tombstone, [customerId])).rowLength > 0;
    const status = { erased, checkedAtMs };
    if (hints === this.hints) remember(this.statuses, customerId, status);
    return status;
  }

  private keyOf(type: IdentityType, rawValue: string): string {
    return `${type}\u0000${storedIdentityValue(type, rawValue, this.key.secret)}`;
  }

  /**
   * An entry is trusted while the change logs are current (CustomerChanges: every change since reaches this
   * process within the TTL and drops what it touches), else for the TTL from when its read was sent.
   */
  private fresh(checkedAtMs: number): boolean {
    return this.changes.current() || performance.now() - checkedAtMs < this.ttlMs;
  }
}

/**
 * The id of a customer created for an identifier seen for the first time: 96 random bits, not derived from the
 * identifier, so an identifier (even with the key) tells nothing about a customer id, a rotation of the key
 * changes no id, and an erased customer's id — never reused, its tombstone refuses its events — cannot come
 * back (a collision with any id ever issued is as likely as guessing a 96-bit key).
 */
export function newCustomerId(): string {
  return `c-${randomBytes(12).toString('hex')}`;
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  if (map.size >= CACHE_MAX) map.delete(map.keys().next().value!);
  map.set(key, value);
}
