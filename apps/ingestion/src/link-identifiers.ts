import { Injectable } from '@nestjs/common';
import { survivorOf } from '@nunchi/context-model';
import { ContractError, IDENTITY_TYPES, type IdentityType } from '@nunchi/contracts/core';
import type { CustomerLink, CustomerRefDto } from '@nunchi/contracts';
import { IdentityRepository, type Resolution } from './identity.repository.js';

/** One identifier of an event's customer reference. */
export interface IdentifierRef {
  type: IdentityType | 'id';
  value: string;
}

/** The identifiers a customer reference names, `id` first, then IDENTITY_TYPES' order. */
export function identifiersOf(ref: CustomerRefDto): IdentifierRef[] {
  const out: IdentifierRef[] = ref.id ? [{ type: 'id', value: ref.id }] : [];
  for (const type of IDENTITY_TYPES) if (ref[type] !== undefined) out.push({ type, value: ref[type] });
  return out;
}

/** Where a linking event goes: the customer both identifiers now name, and the merge it starts, if any. */
export interface Linked {
  /** the customer the event is for (the survivor, when two customers merge) */
  customerId: string;
  link?: CustomerLink;
}

/**
 * An event that carries two identifiers links them (docs/identity.md): afterwards both name one customer.
 * - both name the same customer already: an ordinary event;
 * - one names nobody yet: it is claimed for the other's customer (a lightweight transaction, so a concurrent
 *   first sighting agrees — and if that sighting won, the two customers are merged after all);
 * - neither names anybody: the first creates a customer as any new identifier does, the second joins it;
 * - they name two customers: the event starts a merge into the smaller id (survivorOf), which the context
 *   service carries out (MergeCustomersUseCase).
 * Refused, with nothing written: a customer that was erased (CUSTOMER_ERASED), two customers who each hold a
 * loyalty card of their own (CUSTOMERS_CONFLICT: two cardholders are two people, whoever shares the device), and an
 * unknown identifier under NUNCHI_UNKNOWN_IDENTIFIERS=refuse when the other is unknown too.
 */
@Injectable()
export class LinkIdentifiers {
  constructor(private readonly identities: IdentityRepository) {}

  async resolve(refs: readonly IdentifierRef[]): Promise<Linked> {
    const found = await Promise.all(refs.map((r) => this.find(r, false)));
    found.forEach((f, i) => {
      if (f.kind === 'erased')
        throw new ContractError('CUSTOMER_ERASED', [
          {
            path: `customer.${refs[i].type}`,
            message:
              refs[i].type === 'id'
                ? `cannot link: customer ${f.customerId} was erased`
                : `cannot link: the customer this ${refs[i].type} belonged to was erased`,
          },
        ]);
    });
    const known = found.map((f) => (f.kind === 'customer' ? f.customerId : undefined));
    if (known[0] === undefined && known[1] === undefined) {
      const first = await this.find(refs[0], true);
      if (first.kind !== 'customer')
        throw new ContractError('UNKNOWN_CUSTOMER', [
          {
            path: 'customer',
            message: `no customer has either identifier, and unknown identifiers are refused (NUNCHI_UNKNOWN_IDENTIFIERS=refuse)`,
          },
        ]);
      known[0] = first.customerId;
    }
    for (const i of [0, 1]) {
      const other = known[1 - i];
      if (known[i] === undefined && other !== undefined)
        known[i] = await this.identities.claimFor(refs[i].type as IdentityType, refs[i].value, other);
    }
    const [a, b] = known as [string, string];
    if (a === b) return { customerId: a };
    // Two cardholders are two people — unless they hold the same card: a merge of the two moving it from one
    // to the other right now (a concurrent login), which this event only repeats.
    const [cardsA, cardsB] = await Promise.all([
      this.identities.loyaltyCardsOf(a),
      this.identities.loyaltyCardsOf(b),
    ]);
    if (cardsA.length && cardsB.length && !cardsA.some((card) => cardsB.includes(card)))
      throw new ContractError('CUSTOMERS_CONFLICT', [
        {
          path: 'customer',
          message: `cannot link: the identifiers belong to two customers who each hold a loyalty card (${a}, ${b}); two cardholders are not merged`,
        },
      ]);
    const pair = survivorOf(a, b);
    return { customerId: pair.survivorId, link: { ...pair, stage: 'freeze' } };
  }

  /** What the cache knows fresh (an app that sends both identifiers on every event reads nothing once linked), else a read. */
  private async find(ref: IdentifierRef, create: boolean): Promise<Resolution> {
    if (ref.type === 'id')
      return this.identities.cachedCustomer(ref.value) ?? this.identities.checkCustomer(ref.value);
    const cached = this.identities.cachedIdentifier(ref.type, ref.value);
    return cached
      ? { kind: 'customer', customerId: cached, created: false }
      : this.identities.resolve(ref.type, ref.value, create);
  }
}
