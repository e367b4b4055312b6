import { addDays, localDay } from '@nunchi/context-model';
import { partitionOf } from '@nunchi/contracts/core';
import type { CqlClient } from '../client.js';
import { defineStatements, runAll, statement } from '../statements.js';

const Q = defineStatements({
  activeOn: statement(
    'active_customers.of_day',
    'SELECT customer_id FROM active_customers WHERE partition = ? AND day = ?',
  ),
});

/**
 * Who was active on which local day, per EVENTS partition (cql/0021_active_customers.cql): the context fold
 * writes a row with each customer's first event of a day (ContextRepository.writeFolded's `activeIn`), the
 * erasure deletes them. Read when a process warms up: context's hot tier for a partition it gains, the other
 * services' data keys at start.
 */
export class ActiveCustomersRepository {
  constructor(private readonly client: CqlClient) {}

  /**
   * The customers of one partition active on each of the last `days` local days up to today, newest day first,
   * each once. One small partition read per day. With `partitions` (NUNCHI_PARTITIONS), only those that belong
   * to the partition now: the rows were written under the count of their time, which may have changed since.
   */
  async recent(
    partition: number,
    days: number,
    timeZone: string,
    options: { nowMs?: number; partitions?: number } = {},
  ): Promise<string[]> {
    const today = localDay(options.nowMs ?? Date.now(), timeZone);
    const seen = new Set<string>();
    for (let i = 0; i < days; i++)
      for (const row of await runAll(this.client, Q.activeOn, [partition, addDays(today, -i)]))
        seen.add(row['customer_id'] as string);
    const ids = [...seen];
    const { partitions } = options;
    return partitions === undefined ? ids : ids.filter((id) => partitionOf(id, partitions) === partition);
  }
}
