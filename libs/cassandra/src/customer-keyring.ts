import type { IdentityKey } from '@nunchi/config';
import { meter } from '@nunchi/telemetry';
import {
  isSealedEvent,
  withLossDetails,
  type DecisionRecord,
  type SealedField,
} from '@nunchi/contracts/core';
import type { AcceptedEvent, EventsMessage, SealedAcceptedEvent } from '@nunchi/contracts';
import {
  analyticsPseudonym,
  generateDataKey,
  openSealed,
  SealedDataError,
  sealForCustomer,
  unwrapDataKey,
  wrapDataKey,
  type DataKey,
} from '@nunchi/sealing';
import type { CustomerKeyRepository, StoredCustomerKey } from './repositories/customer-key.repository.js';

export interface CustomerKeyringOptions {
  /** keys kept in memory at most (least recently used go first); a key is ~150 bytes with its entry */
  maxEntries: number;
  /**
   * milliseconds a key is trusted from memory (@default no limit): the erasure hint evicts it at once; this
   * bounds how long a replica that missed the hint keeps opening what an erasure shredded
   */
  ttlMs?: number;
  /**
   * whether a key read wrapped under a previous identity key is stored again wrapped under the current one
   * (the context service: a rotation completes as customers come back); @default false
   */
  rewrap?: boolean;
  /** the clock (tests) */
  nowMs?: () => number;
}

/** What opening a message of EVENTS found: the event, or why not. */
export type OpenedEvent =
  { kind: 'opened'; value: AcceptedEvent } | { kind: 'erased' | 'missing' | 'unopenable'; why: string };

/** Why a customer has no data key. */
export type Keyless =
  /** the customer was erased: the key is gone with it, what was sealed under it is unreadable for ever */
  | { kind: 'erased'; erasedAt: Date }
  /** no key and no tombstone: never created (a bug), or lost */
  | { kind: 'missing' };

/** What opening a sealed field found. */
export type Opened<T> = { kind: 'opened'; value: T } | Keyless;

/** A customer's analytics pseudonym (libs/sealing pseudonym.ts), or why there is none. */
export type CustomerPseudonym = { kind: 'pseudonym'; pseudonym: string } | Keyless;

/** customers' keys read per request by preload */
const PRELOAD_BATCH = 50;

/**
 * The customers' data keys of one process (crypto-shredding, docs/security.md "Per-customer keys"): created
 * on a customer's first event (context), read to open what was sealed (decision), held in an LRU cache so that
 * a repeat customer costs no Cassandra read, and evicted on the erasure hint.
 *
 * `keks`: the identity keys the process holds, current first — new keys are wrapped under the first, stored
 * ones unwrapped under the one they name.
 */
export class CustomerKeyring {
  private readonly cache = new Map<string, { key: DataKey; untilMs: number }>();
  private readonly kekCache = new Map<string, Buffer>();
  /** key reads in flight, by customer */
  private readonly reading = new Map<string, Promise<DataKey | undefined>>();
  private readonly nowMs: () => number;
  private readonly preloaded = meter().createCounter('nunchi_data_keys_preloaded_total', {
    description: "customers' data keys read into memory ahead of their events (warm-up)",
  });

  constructor(
    private readonly repository: CustomerKeyRepository,
    private readonly keks: readonly IdentityKey[],
    private readonly options: CustomerKeyringOptions,
  ) {
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** The customer's key from memory, if there and fresh (no I/O: the hot path's first try). */
  cached(customerId: string): DataKey | undefined {
    const entry = this.cache.get(customerId);
    if (!entry) return undefined;
    if (entry.untilMs <= this.nowMs()) {
      this.cache.delete(customerId);
      return undefined;
    }
    // least recently used first: a hit moves the entry to the end
    this.cache.delete(customerId);
    this.cache.set(customerId, entry);
    return entry.key;
  }

  /** The customer's key: from memory, else from Cassandra (then remembered); undefined when there is none. */
  async find(customerId: string): Promise<DataKey | undefined> {
    const hit = this.cached(customerId);
    if (hit) return hit;
    // Readers of one customer at once (a cold load reads the key and the sealed history in parallel) share one read.
    let reading = this.reading.get(customerId);
    if (!reading) {
      reading = this.repository
        .get(customerId)
        .then((stored) => (stored ? this.adopt(customerId, stored) : undefined))
        .finally(() => this.reading.delete(customerId));
      this.reading.set(customerId, reading);
    }
    return reading;
  }

  /** A stored key into memory: unwrapped, and wrapped again under the current identity key where this process re-wraps. */
  private async adopt(customerId: string, stored: StoredCustomerKey): Promise<DataKey> {
    const key = unwrapDataKey(customerId, stored, this.keks, this.kekCache);
    const current = this.keks[0];
    if (this.options.rewrap && current && stored.kekId !== current.id)
      await this.repository.rewrap(customerId, wrapDataKey(customerId, key, current));
    return this.remember(customerId, key);
  }

  /**
   * The customer's key, created on first use. Idempotent under concurrency and redelivery: the key is stored
   * with INSERT … IF NOT EXISTS, so of two replicas creating it at once both end with the winner's key.
   */
  async obtain(customerId: string): Promise<DataKey> {
    const found = await this.find(customerId);
    if (found) return found;
    const kek = this.keks[0];
    if (!kek)
      throw new Error(
        'no identity key: per-customer data keys are wrapped under it (NUNCHI_IDENTITY_SECRET)',
      );
    const fresh = generateDataKey();
    const wrapped = wrapDataKey(customerId, fresh, kek);
    const stored = await this.repository.create(customerId, wrapped, new Date(this.nowMs()));
    const key =
      stored.keyId === fresh.id ? fresh : unwrapDataKey(customerId, stored, this.keks, this.kekCache);
    return this.remember(customerId, key);
  }

  /** `value` sealed under the customer's key (created on first use). */
  async seal(customerId: string, value: unknown): Promise<SealedField> {
    const key = this.cached(customerId) ?? (await this.obtain(customerId));
    return sealForCustomer(customerId, key, value);
  }

  /**
   * `value` sealed under the customer's key if the customer has one (never creates one: for the decision
   * service, which reads keys only — the customer's ENRICHED message was sealed under it); else undefined.
   */
  async sealIfKeyed(customerId: string, value: unknown): Promise<SealedField | undefined> {
    const key = await this.find(customerId);
    return key ? sealForCustomer(customerId, key, value) : undefined;
  }

  /**
   * The event as EVENTS carries it: its payload sealed under the customer's key, created on first use (the
   * customer's first event: ingestion, or context passing a merged customer's event on to the survivor).
   */
  async sealEvent(event: AcceptedEvent): Promise<SealedAcceptedEvent> {
    const key = this.cached(event.customerId) ?? (await this.obtain(event.customerId));
    return sealEvent(event, key);
  }

  /**
   * A message of EVENTS with its payload opened (SealedAcceptedEvent); a message in clear (from before, or an
   * absence event) as it is. Else why it cannot be: the customer was erased (the key is gone with them), has no
   * key, or the payload does not open (altered, or moved). Throws MissingKekError (a configuration to fix).
   */
  async openEvent(message: EventsMessage): Promise<OpenedEvent> {
    if (!isSealedEvent(message)) return { kind: 'opened', value: message };
    const { sealedPayload, ...rest } = message;
    let payload: Opened<AcceptedEvent['payload']>;
    try {
      payload = await this.open<AcceptedEvent['payload']>(sealedPayload);
    } catch (error) {
      if (!(error instanceof SealedDataError)) throw error;
      return { kind: 'unopenable', why: `event ${message.id}: its payload does not open: ${error.message}` };
    }
    if (payload.kind === 'opened') return { kind: 'opened', value: { ...rest, payload: payload.value } };
    return payload.kind === 'erased'
      ? {
          kind: 'erased',
          why: `customer ${message.customerId} was erased (${payload.erasedAt.toISOString()}): its data key is gone, the event cannot be opened; event refused`,
        }
      : {
          kind: 'missing',
          why: `customer ${message.customerId} has no data key, and was not erased: the event's payload cannot be opened; event refused`,
        };
  }

  /**
   * A decision record with its sealed inputs opened (`inputs`) and its losses' details put back, or marked
   * `inputsUnavailable: 'erased'` when the customer's key is gone with the customer. Records with nothing
   * sealed are returned as they are.
   */
  async openInputs(record: DecisionRecord): Promise<DecisionRecord> {
    const { sealedInputs, sealedLossDetails, ...rest } = record;
    if (!sealedInputs && !sealedLossDetails) return record;
    const [inputs, details] = await Promise.all([
      sealedInputs && this.open<Record<string, unknown>>(sealedInputs),
      sealedLossDetails && this.open<(string | null)[]>(sealedLossDetails),
    ]);
    if (inputs?.kind === 'erased' || details?.kind === 'erased')
      return { ...rest, inputsUnavailable: 'erased' };
    return {
      ...rest,
      ...(inputs?.kind === 'opened' ? { inputs: inputs.value } : {}),
      ...(details?.kind === 'opened' ? { losses: withLossDetails(rest.losses, details.value) } : {}),
    };
  }

  /**
   * A sealed field's value, opened with its customer's key; `erased` when the key is gone because the customer
   * was erased. Throws SealedDataError when the value does not open with the key (altered, or moved), and
   * MissingKekError when the key is wrapped under an identity key this process lacks (configuration).
   */
  async open<T>(field: SealedField): Promise<Opened<T>> {
    const key = await this.find(field.customerId);
    if (!key) return this.whyKeyless(field.customerId);
    if (key.id !== field.keyId) {
      // A key read before an erasure and a new one since cannot happen (erased ids are never reused); a
      // stale cache entry is the one way to get here: read again once before calling the value unopenable.
      this.cache.delete(field.customerId);
      const again = await this.find(field.customerId);
      if (!again) return this.open(field);
      return { kind: 'opened', value: openSealed<T>(field, again) };
    }
    return { kind: 'opened', value: openSealed<T>(field, key) };
  }

  /**
   * The name analytics' rows give the customer (analyticsPseudonym under its data key; never creates a key:
   * every customer with a decision or a purchase has had one since its first event), or why there is none.
   */
  async pseudonym(customerId: string): Promise<CustomerPseudonym> {
    const key = await this.find(customerId);
    return key
      ? { kind: 'pseudonym', pseudonym: analyticsPseudonym(customerId, key) }
      : this.whyKeyless(customerId);
  }

  /** Why a customer has no key: erased (the key went with the customer), or never given one (a bug, or lost). */
  private async whyKeyless(customerId: string): Promise<Keyless> {
    const erasedAt = await this.repository.erasedAt(customerId);
    return erasedAt ? { kind: 'erased', erasedAt } : { kind: 'missing' };
  }

  /**
   * Reads the keys of customers likely to come soon (a process warming up) into memory, a few dozen a request,
   * until the keyring is 90 % full; customers without a key, or whose key this process cannot unwrap, are
   * skipped (their first use says why). Returns how many keys it added. An erasure meanwhile is caught as any
   * cached key's is: the erasure log evicts it (ErasedKeyEviction, ingestion's CustomerChanges).
   */
  async preload(
    customerIds: readonly string[],
    options: { shouldStop?: () => boolean } = {},
  ): Promise<number> {
    const room = () => this.cache.size < this.options.maxEntries * 0.9;
    let added = 0;
    for (let i = 0; i < customerIds.length && room() && !options.shouldStop?.(); i += PRELOAD_BATCH) {
      const wanted = customerIds.slice(i, i + PRELOAD_BATCH).filter((id) => !this.cache.has(id));
      if (!wanted.length) continue;
      for (const [customerId, stored] of await this.repository.getMany(wanted)) {
        if (this.cache.has(customerId) || !room()) continue;
        try {
          await this.adopt(customerId, stored);
          added++;
        } catch {
          // under an identity key this process lacks (or a failed re-wrap): the customer's first use says so
        }
      }
    }
    if (added) this.preloaded.add(added);
    return added;
  }

  /** Forgets the customers' keys (the erasure hint): the next use reads Cassandra, where an erased key is gone. */
  evict(customerIds: Iterable<string>): void {
    for (const id of customerIds) this.cache.delete(id);
  }

  get size(): number {
    return this.cache.size;
  }

  private remember(customerId: string, key: DataKey): DataKey {
    this.cache.delete(customerId);
    this.cache.set(customerId, { key, untilMs: this.nowMs() + (this.options.ttlMs ?? Infinity) });
    while (this.cache.size > this.options.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    return key;
  }
}

/**
 * Opens decision records' sealed inputs for a reader outside the decision service (the CLI, the console):
 * with the identity keys this process holds, or — holding none — marks them `inputsUnavailable: 'sealed'`.
 */
export function decisionInputsOpener(
  repository: CustomerKeyRepository,
  keks: readonly IdentityKey[],
): (record: DecisionRecord) => Promise<DecisionRecord> {
  if (!keks.length)
    return (record) => {
      if (!record.sealedInputs && !record.sealedLossDetails) return Promise.resolve(record);
      const rest: DecisionRecord = { ...record, inputsUnavailable: 'sealed' };
      delete rest.sealedInputs;
      delete rest.sealedLossDetails;
      return Promise.resolve(rest);
    };
  const keyring = new CustomerKeyring(repository, keks, { maxEntries: 1_000 });
  return (record) => keyring.openInputs(record);
}

/** The event with its payload sealed under its customer's data key (no I/O: the caller holds the key). */
export function sealEvent(event: AcceptedEvent, key: DataKey): SealedAcceptedEvent {
  const { payload, ...rest } = event;
  return { ...rest, sealedPayload: sealForCustomer(event.customerId, key, payload) };
}
