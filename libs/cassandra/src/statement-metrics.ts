import cassandra from 'cassandra-driver';
import type { Attributes, Counter } from '@opentelemetry/api';
import { meter } from '@nunchi/telemetry';
import { ALL_STATEMENTS } from './statements.js';

type TrackedQuery = string | Array<{ query: string; params?: unknown }>;

/**
 * Counts every request this process sends to Cassandra by statement name (`nunchi_cassandra_requests_total`
 * on /metrics), through the driver's own request-tracker hook: one count per request the server answers or
 * refuses, pages and retries included. The hot path's cost is mostly Cassandra's, so "statements per event"
 * is the figure the benchmark prints beside CPU; it does not move with machine load as CPU does.
 *
 * A batch counts once, named for its first statement (`batch:<name>`); CQL not declared through
 * `defineStatements` (schema changes, ad-hoc tools) counts as `other`.
 */
export class StatementMetrics implements cassandra.tracker.RequestTracker {
  private counter: Counter<Attributes> | undefined;
  private names = new Map<string, string>();
  private readonly attributes = new Map<string, Attributes>();

  onSuccess(_host: cassandra.Host, query: TrackedQuery): void {
    this.count(query, 'ok');
  }

  onError(
    _host: cassandra.Host,
    query: TrackedQuery,
    _parameters?: unknown,
    _options?: unknown,
    _length?: number,
    error?: Error,
  ): void {
    // A statement outside this role's grants (cql/roles/grants.cql) is told apart: a grant missing for code
    // that uses a new table shows on /metrics, not only in a log line.
    const code = (error as { code?: number } | undefined)?.code;
    this.count(query, code === cassandra.types.responseErrorCodes.unauthorized ? 'unauthorized' : 'error');
  }

  shutdown(): void {}

  static {
    // The driver checks `instanceof RequestTracker`, a class its typings declare only as an interface.
    const base = (cassandra.tracker as unknown as { RequestTracker: { prototype: object } }).RequestTracker;
    Object.setPrototypeOf(StatementMetrics.prototype, base.prototype);
  }

  private count(query: TrackedQuery, outcome: 'ok' | 'error' | 'unauthorized'): void {
    // Created on first use: the telemetry provider is registered by then, and an instrument made before it
    // would stay a no-op.
    this.counter ??= meter().createCounter('nunchi_cassandra_requests_total', {
      description:
        'requests sent to Cassandra, by statement name and outcome: ok, error, unauthorized (outside the role grants); a batch counts once',
    });
    const name =
      typeof query === 'string' ? this.nameOf(query) : `batch:${this.nameOf(query[0]?.query ?? '')}`;
    const key = `${name}|${outcome}`;
    let attributes = this.attributes.get(key);
    if (!attributes) {
      attributes = { statement: name, outcome };
      this.attributes.set(key, attributes);
    }
    this.counter.add(1, attributes);
  }

  private nameOf(cql: string): string {
    // Repositories register their statements when their module loads; pick up any registered since.
    if (this.names.size < ALL_STATEMENTS.length)
      this.names = new Map(ALL_STATEMENTS.map((s) => [s.cql, s.name]));
    return this.names.get(cql) ?? 'other';
  }
}
