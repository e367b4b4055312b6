import { ErasureRepository } from '@nunchi/cassandra';
import { encodeJson } from '@nunchi/messaging';
import { ContractError, isSubjectToken, Subjects, type ErasureReceipt } from '@nunchi/contracts';
import type { Resources } from '../resources.js';

/**
 * Erases one customer (the same as DELETE /v1/customers/:id on the context service): every table, then a hint
 * so running context replicas drop the customer from their hot tier. Returns the receipt.
 */
export async function eraseCustomer(resources: Resources, customerId: string): Promise<ErasureReceipt> {
  if (!isSubjectToken(customerId))
    throw new ContractError('VALIDATION_FAILED', [
      { path: 'customerId', message: 'must be 1-64 of [A-Za-z0-9_-]' },
    ]);
  const receipt = await new ErasureRepository(await resources.cassandra()).erase(customerId, {
    timeZone: resources.config.domain.timeZone,
  });
  const nc = await resources.nc().catch(() => undefined);
  nc?.publish(Subjects.customersChanged, encodeJson({ ids: [customerId] }));
  return receipt;
}

/** The receipt as lines for a terminal. */
export function formatReceipt(receipt: ErasureReceipt): string[] {
  const total = Object.values(receipt.removed).reduce((a, b) => a + b, 0);
  return [
    `${receipt.customerId}: erased${receipt.alreadyErased ? ' again (first erased ' + receipt.erasedAt + ')' : ' at ' + receipt.erasedAt}; ${total} rows removed`,
    ...Object.entries(receipt.removed).map(([table, n]) => `  ${table.padEnd(24)} ${n}`),
  ];
}
