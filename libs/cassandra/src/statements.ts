import type cassandra from 'cassandra-driver';
import type { CqlClient } from './client.js';
import { mapBounded } from './bulk.js';
import { SpanKind, statementSpans, withSpan } from '@nunchi/telemetry';

/** A named CQL statement: queries stay visible in review, and a test prepares every one of them. */
export interface Statement {
  name: string;
  cql: string;
  /** marks the write safe to retry (upserts); the driver retries only idempotent statements */
  idempotent: boolean;
}

export const statement = (name: string, cql: string, idempotent = true): Statement => ({
  name,
  cql: cql.replace(/\s+/g, ' ').trim(),
  idempotent,
});

/** Every repository registers its statements here so tests can prepare them all against the migrated schema. */
export const ALL_STATEMENTS: Statement[] = [];
export function defineStatements<T extends Record<string, Statement>>(statements: T): T {
  ALL_STATEMENTS.push(...Object.values(statements));
  return statements;
}

/** Executes a prepared statement; inside a client span named for it with NUNCHI_TRACE_DETAIL=statements. */
export async function run(
  client: CqlClient,
  stmt: Statement,
  params: unknown[],
  options: { fetchSize?: number; pageState?: string } = {},
) {
  if (!statementSpans())
    return client.execute(stmt.cql, params, { prepare: true, isIdempotent: stmt.idempotent, ...options });
  return withSpan(
    `cassandra ${stmt.name}`,
    { kind: SpanKind.CLIENT, attributes: { 'db.system': 'cassandra', 'db.operation.name': stmt.name } },
    () => client.execute(stmt.cql, params, { prepare: true, isIdempotent: stmt.idempotent, ...options }),
  );
}

/**
 * Executes a prepared SELECT and follows every page: `run` returns only the first `fetchSize` rows, which
 * silently truncates an unusually busy partition (a customer with more events in a day than one page).
 */
export async function runAll(
  client: CqlClient,
  stmt: Statement,
  params: unknown[],
  fetchSize = 5_000,
): Promise<cassandra.types.Row[]> {
  const rows: cassandra.types.Row[] = [];
  let pageState: string | undefined;
  do {
    const result = await run(client, stmt, params, { fetchSize, pageState });
    rows.push(...result.rows);
    pageState = result.pageState ?? undefined;
  } while (pageState);
  return rows;
}

/** `items` in groups of at most `size`, in order: the keys of one `IN ?` request each. */
export function inGroupsOf<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}

/**
 * A SELECT whose first bind is `customer_id IN ?` over many customers: `perRequest` customers a request,
 * `inFlight` requests at once, every page of each; the rows by customer (none: not in the map). `rest`: the
 * binds after the customers.
 */
export async function runAllByCustomer(
  client: CqlClient,
  stmt: Statement,
  customerIds: readonly string[],
  rest: readonly unknown[],
  { perRequest, inFlight }: { perRequest: number; inFlight: number },
): Promise<Map<string, cassandra.types.Row[]>> {
  const out = new Map<string, cassandra.types.Row[]>();
  await mapBounded(inGroupsOf(customerIds, perRequest), inFlight, async (group) => {
    for (const r of await runAll(client, stmt, [group, ...rest], 10_000)) {
      const id = r['customer_id'] as string;
      const rows = out.get(id);
      if (rows) rows.push(r);
      else out.set(id, [r]);
    }
  });
  return out;
}

/** Executes without a span: for bulk paths where one span per row would be noise. */
export function runQuiet(client: CqlClient, stmt: Statement, params: unknown[]) {
  return client.execute(stmt.cql, params, { prepare: true, isIdempotent: stmt.idempotent });
}
