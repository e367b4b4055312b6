import { Injectable } from '@nestjs/common';
import { DecisionRepository, type StoredContacts } from '@nunchi/cassandra';
import { hasClaim, withClaim, withoutClaim, type ContactClaim } from './contact-ledger.js';

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
 */
@Injectable()
export class ContactClaims {
  constructor(private readonly decisions: DecisionRepository) {}

  read(customerId: string): Promise<StoredContacts> {
    return this.decisions.contacts(customerId);
  }

  async claim(
    customerId: string,
    ledger: StoredContacts,
    claim: ContactClaim,
    today: string,
  ): Promise<ContactClaimResult> {
    const next = withClaim(ledger, claim, today);
    const write = await this.decisions.saveContacts(customerId, next, ledger.seq);
    if (write === 'applied') return { ok: true, ledger: next };
    const fresh = await this.decisions.contacts(customerId);
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
      if ((await this.decisions.saveContacts(customerId, next, current.seq)) === 'applied') return next;
      current = await this.decisions.contacts(customerId);
    }
    return current;
  }
}
