import { historyRepository, CustomerRepository, ErasureRepository } from '@nunchi/cassandra';
import { identityKeys } from '@nunchi/config';
import { ContractError, isSubjectToken, Subjects } from '@nunchi/contracts/core';
import type { ErasureReceipt } from '@nunchi/contracts';
import type { Resources } from '../resources.js';

/**
 * Erases one customer (the same as DELETE /v1/customers/:id on the context service): the tombstone, a hint so
 * running context and ingestion replicas drop what they cached about the customer, then every table. Returns
 * the receipt no sooner than NUNCHI_IDENTITY_CACHE_TTL_MS after the tombstone: from then on every ingestion
 * replica refuses the customer's events (CUSTOMER_ERASED), hint or not.
 */
export async function eraseCustomer(
  resources: Resources,
  customerId: string,
  options: { force?: boolean } = {},
): Promise<ErasureReceipt> {
  if (!isSubjectToken(customerId))
    throw new ContractError('VALIDATION_FAILED', [
      { path: 'customerId', message: 'must be 1-64 of [A-Za-z0-9_-]' },
    ]);
  // An erasure leaves a permanent tombstone that refuses the id's later events: a typo must not leave one.
  if (!options.force && !(await isKnown(resources, customerId))) throw new UnknownCustomerError(customerId);
  const messaging = await resources.messaging().catch(() => undefined);
  // A customer merged with others (docs/identity.md) is erased with all of them.
  return new ErasureRepository(await resources.cassandra()).eraseMerged(customerId, {
    timeZone: resources.config.domain.timeZone,
    partitions: resources.config.nats.partitions,
    settleMs: resources.config.domain.identityCacheTtlMs,
    keks: identityKeys(resources.config),
    onTombstone: (id) => void messaging?.client.emit(Subjects.customersChanged, { ids: [id] }),
  });
}

/** The receipt as lines for a terminal. */
export function formatReceipt(receipt: ErasureReceipt): string[] {
  const total = Object.values(receipt.removed).reduce((a, b) => a + b, 0);
  return [
    `${receipt.customerId}: erased${receipt.alreadyErased ? ' again (first erased ' + receipt.erasedAt + ')' : ' at ' + receipt.erasedAt}; ${total} rows removed`,
    ...Object.entries(receipt.removed).map(([table, n]) => `  ${table.padEnd(28)} ${n}`),
    ...(receipt.stores?.length
      ? [
          'stores:',
          ...receipt.stores.map((s) => `  ${s.erased ? 'erased    ' : 'NOT erased'} ${s.store}: ${s.detail}`),
        ]
      : []),
    ...(receipt.merged ?? []).flatMap((merged) => [
      `  merged into it:`,
      ...formatReceipt(merged).map((l) => `  ${l}`),
    ]),
  ];
}

/** Refused: the id has no profile, no events and no earlier erasure (`--force` erases it anyway). */
export class UnknownCustomerError extends Error {
  override readonly name = 'UnknownCustomerError';
  constructor(customerId: string) {
    super(
      `no customer ${customerId}: no profile, no events, never erased. Nothing was erased. ` +
        'An erasure leaves a permanent tombstone that refuses every later event of this id; ' +
        'if that is what you want (e.g. an id known only elsewhere), repeat with --force.',
    );
  }
}

/** Whether the id has a profile, events, or an earlier erasure (repeating one is always allowed). */
async function isKnown(resources: Resources, customerId: string): Promise<boolean> {
  const cql = await resources.cassandra();
  const customers = new CustomerRepository(cql);
  const history = historyRepository(cql, resources.config.domain);
  const [profile, months, erased] = await Promise.all([
    customers.exists(customerId),
    history.months(customerId),
    customers.isErased(customerId),
  ]);
  return profile || months.length > 0 || erased;
}
