import { identityKeys, type DomainConfig } from '@nunchi/config';
import { CustomerKeyring } from './customer-keyring.js';
import type { CqlClient } from './client.js';
import { ContextRepository } from './repositories/context.repository.js';
import { CustomerKeyRepository } from './repositories/customer-key.repository.js';
import { CustomerRepository } from './repositories/customer.repository.js';
import { EventPackRepository } from './repositories/event-pack.repository.js';

/** What a process outside the services needs to read and write customers' sealed profiles and history. */
export interface CustomerStores {
  keys: CustomerKeyring;
  customers: CustomerRepository;
  history: ContextRepository;
  /** packed weeks of the history, for simulation (`nunchi history pack` writes them) */
  packs: EventPackRepository;
}

/**
 * Customers' profiles and history for a process outside the services (the CLI, simulation, benchmarks,
 * tests), over one keyring of its own over the identity keys the process holds (`keyCacheEntries` customers'
 * keys in memory): both are sealed under each customer's data key (docs/security.md, "Cassandra's rows").
 */
export function customerStores(
  cql: CqlClient,
  domain: Pick<DomainConfig, 'eventTtlDays' | 'identityKey' | 'previousIdentityKeys' | 'timeZone'>,
  keyCacheEntries = 10_000,
): CustomerStores {
  const keys = new CustomerKeyring(new CustomerKeyRepository(cql), identityKeys({ domain }), {
    maxEntries: keyCacheEntries,
  });
  const history = new ContextRepository(cql, domain.eventTtlDays * 86_400, keys);
  return {
    keys,
    customers: new CustomerRepository(cql, keys),
    history,
    packs: new EventPackRepository(cql, keys, history, domain.timeZone),
  };
}

/** customerStores' history alone. */
export function historyRepository(
  cql: CqlClient,
  domain: Pick<DomainConfig, 'eventTtlDays' | 'identityKey' | 'previousIdentityKeys' | 'timeZone'>,
  keyCacheEntries = 10_000,
): ContextRepository {
  return customerStores(cql, domain, keyCacheEntries).history;
}
