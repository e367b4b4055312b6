import type { StoredContacts } from '@nunchi/cassandra';

/**
 * The contact ledgers of the customers this replica decides, least recently used out first. Pure.
 *
 * A cached ledger is a guess: every claim is a lightweight transaction `IF seq = <cached seq>`, so a
 * ledger another replica changed meanwhile (a lease handover overlaps) fails the condition, is read again
 * and decided on again — exactly as after a cold read. A stale entry can only miss claims (the claim then
 * fails and re-reads) or miss a release by another replica (a candidate may then lose with `cap` though
 * the slot was given back: errs towards not contacting, never past a cap).
 *
 * Bounded by entries and by an estimate of their bytes (a ledger holds at most 8 local days of claims).
 */
export class LedgerCache {
  private readonly entries = new Map<string, { ledger: StoredContacts; bytes: number }>();
  private bytes = 0;

  constructor(
    /** entries kept at most */
    readonly maxEntries: number,
    /** estimated bytes kept at most */
    readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get estimatedBytes(): number {
    return this.bytes;
  }

  /** Whether the customer's ledger is cached, without counting it as a use. */
  has(customerId: string): boolean {
    return this.entries.has(customerId);
  }

  get(customerId: string): StoredContacts | undefined {
    const entry = this.entries.get(customerId);
    if (!entry) return undefined;
    // Map order is insertion order: moving the entry to the end makes the first one the least recently used.
    this.entries.delete(customerId);
    this.entries.set(customerId, entry);
    return entry.ledger;
  }

  set(customerId: string, ledger: StoredContacts): void {
    if (this.maxEntries <= 0) return;
    this.delete(customerId);
    const bytes = sizeOf(customerId, ledger);
    this.entries.set(customerId, { ledger, bytes });
    this.bytes += bytes;
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }

  delete(customerId: string): void {
    const entry = this.entries.get(customerId);
    if (!entry) return;
    this.entries.delete(customerId);
    this.bytes -= entry.bytes;
  }

  /** Drops every entry `belongs` selects (the customers of a partition this replica no longer owns). */
  deleteWhere(belongs: (customerId: string) => boolean): number {
    let dropped = 0;
    for (const customerId of [...this.entries.keys()]) {
      if (!belongs(customerId)) continue;
      this.delete(customerId);
      dropped++;
    }
    return dropped;
  }
}

/** bytes: a rough estimate (UTF-16 strings plus per-object overhead), for a memory bound, not accounting */
function sizeOf(customerId: string, ledger: StoredContacts): number {
  let bytes = 120 + 2 * customerId.length;
  for (const key in ledger.claims) bytes += 64 + 2 * (key.length + ledger.claims[key].length);
  for (const key in ledger.lifetime) bytes += 48 + 2 * key.length;
  return bytes;
}
