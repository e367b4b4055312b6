import type { CustomerKeyring } from '@nunchi/cassandra';
import { Outcome } from '@nunchi/messaging';

/**
 * The name analytics' rows give a customer (its analytics pseudonym, docs/security.md "Analytics' rows"), or
 * the outcome of a message that must not be recorded under one: done for an erased customer (their rows went
 * with them and must not come back), rejected for a customer without a key (one exists from a customer's first
 * event since per-customer keys came, migration 0020: a bug, a key lost, or a message from before 0020 of a
 * customer without an event since — migration 0023's step gives such customers a key, and a DLQ replay then
 * records it). `what` names the message in the reason, e.g. `decision d-1`.
 */
export async function pseudonymFor(
  keys: CustomerKeyring,
  customerId: string,
  what: string,
): Promise<{ pseudonym: string } | { outcome: Outcome }> {
  const named = await keys.pseudonym(customerId);
  if (named.kind === 'pseudonym') return { pseudonym: named.pseudonym };
  if (named.kind === 'erased') return { outcome: Outcome.done() };
  return {
    outcome: Outcome.reject(
      `${what}: customer ${customerId} has no data key, and was not erased: analytics' rows name a customer by a pseudonym under that key; refused`,
    ),
  };
}
