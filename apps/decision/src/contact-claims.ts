import { Injectable } from '@nestjs/common';
import { DecisionRepository, type StoredContacts } from '@nunchi/cassandra';
import { hasClaim, withClaim, withoutClaim, type ContactClaim } from '@nunchi/rules';
import { LedgerCache } from './ledger-cache.js';

/** ledgers cached when no cache is given (tests, benches): NUNCHI_LEDGER_CACHE_* configure the service's */
const DEFAULT_CACHE = { entries: 100_000, bytes: 64 * 1024 * 1024 };

export type ContactClaimResult =
  /** the claim is in the ledger (ours, or from an earlier attempt whose outcome was unknown) */
  | { ok: true; ledger: StoredContacts }
  /** someone changed the ledger since it was read: decide again on the fresh one */
  | { ok: false; ledger: StoredContacts };

/**
 * Caps and the contact policy, exact under concurrency: a claim replaces the customer's ledger row only
 * if nobody changed it since it was read (a lightweight transaction on its seq). Two replicas deciding
 * the same customer at once cannot both take the last slot; the loser decides again on what the winner
 * wrote. Decisions without an offer never come here.
 *
 * Ledgers are cached (LedgerCache: the customers of the partitions this replica owns, dropped when a
 * partition is released): a claim is made against the cached seq without reading first. A stale entry (another
 * replica claimed meanwhile, e.g. during a lease handover) fails the condition like a lost race: the ledger is
 * read again, cached, and the decision made again on it. Exactness comes from the condition, not from
 * ownership, so no fencing token is needed: a replica that lost its lease can only write a ledger nobody
 * changed since its last read, which is a valid claim (it is counted, and no cap is passed); the next owner's
 * claim then fails its condition once and re-reads.
 */
@Injectable()
export class ContactClaims {
  readonly cache: LedgerCache;

  constructor(
    private readonly decisions: DecisionRepository,
    cache?: LedgerCache,
  ) {
    this.cache = cache ?? new LedgerCache(DEFAULT_CACHE.entries, DEFAULT_CACHE.bytes);
  }

  /** The customer's ledger: cached, else read (and cached). */
  async read(customerId: string): Promise<StoredContacts> {
    const cached = this.cache.get(customerId);
    if (cached) return cached;
    return this.fresh(customerId);
  }

  /** The ledger as Cassandra has it now (after a conflict), cached. */
  async fresh(customerId: string): Promise<StoredContacts> {
    const ledger = await this.decisions.contacts(customerId);
    this.cache.set(customerId, ledger);
    return ledger;
  }

  /** Forgets cached ledgers (the customers of a partition this replica no longer owns). */
  forget(belongs: (customerId: string) => boolean): number {
    return this.cache.deleteWhere(belongs);
  }

  async claim(
    customerId: string,
    ledger: StoredContacts,
    claim: ContactClaim,
    today: string,
  ): Promise<ContactClaimResult> {
    const next = withClaim(ledger, claim, today);
    const write = await this.decisions.saveContacts(customerId, next, ledger.seq);
    if (write === 'applied') {
      this.cache.set(customerId, next);
      return { ok: true, ledger: next };
    }
    const fresh = await this.fresh(customerId);
    // An unknown outcome (timeout) that did land is ours.
    return { ok: hasClaim(fresh, claim.decisionId, claim.campaignId), ledger: fresh };
  }

  /**
   * Gives the slot back (an offer claimed but then not made); returns the ledger as it now is. Best
   * effort: a slot kept only under-contacts.
   */
  async release(
    customerId: string,
    ledger: StoredContacts,
    decisionId: string,
    campaignId: string,
    today: string,
  ): Promise<StoredContacts> {
    let current = ledger;
    for (let attempt = 0; attempt < 5 && hasClaim(current, decisionId, campaignId); attempt++) {
      const next = withoutClaim(current, decisionId, campaignId, today);
      if ((await this.decisions.saveContacts(customerId, next, current.seq)) === 'applied') {
        this.cache.set(customerId, next);
        return next;
      }
      current = await this.fresh(customerId);
    }
    return current;
  }
}
