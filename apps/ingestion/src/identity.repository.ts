import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  CQL_CLIENT,
  defineStatements,
  run,
  statement,
  storedIdentityValue,
  type CqlClient,
} from '@nunchi/cassandra';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import type { IdentityType } from '@nunchi/contracts';

const Q = defineStatements({
  findIdentity: statement(
    'identities.find',
    'SELECT customer_id FROM identities WHERE id_type = ? AND id_value = ?',
  ),
  claimIdentity: statement(
    'identities.claim',
    'INSERT INTO identities (id_type, id_value, customer_id, created_at) VALUES (?, ?, ?, ?) IF NOT EXISTS',
    false,
  ),
  indexIdentity: statement(
    'customer_identities.insert',
    'INSERT INTO customer_identities (customer_id, id_type, id_value) VALUES (?, ?, ?)',
  ),
});

/**
 * Resolves identifiers to customer ids through `identities`. An unknown identifier creates one customer:
 * the new id is derived from the stored identity value, and the claim is a lightweight transaction, so two
 * concurrent first sightings agree on one customer. Resolved mappings are cached (they never change).
 */
@Injectable()
export class IdentityRepository {
  private readonly cache = new Map<string, string>();
  private static readonly CACHE_MAX = 200_000;

  constructor(
    @Inject(CQL_CLIENT) private readonly client: CqlClient,
    @Inject(CONFIG) private readonly config: NunchiConfig,
  ) {}

  /** The customer id if this identifier was resolved before by this process; no I/O. */
  cached(type: IdentityType, rawValue: string): string | undefined {
    return this.cache.get(
      `${type}\u0000${storedIdentityValue(type, rawValue, this.config.domain.identitySecret)}`,
    );
  }

  async resolve(type: IdentityType, rawValue: string): Promise<{ customerId: string; created: boolean }> {
    const value = storedIdentityValue(type, rawValue, this.config.domain.identitySecret);
    const key = `${type}\u0000${value}`;
    const cached = this.cache.get(key);
    if (cached) return { customerId: cached, created: false };

    const found = (await run(this.client, Q.findIdentity, [type, value])).first();
    if (found) return { customerId: this.remember(key, found['customer_id'] as string), created: false };

    const candidate = `c-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
    const claim = (await run(this.client, Q.claimIdentity, [type, value, candidate, new Date()])).first();
    const applied = claim['[applied]'] as boolean;
    const customerId = applied ? candidate : (claim['customer_id'] as string);
    if (applied) await run(this.client, Q.indexIdentity, [customerId, type, value]);
    return { customerId: this.remember(key, customerId), created: applied };
  }

  private remember(key: string, customerId: string): string {
    if (this.cache.size >= IdentityRepository.CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, customerId);
    return customerId;
  }
}
