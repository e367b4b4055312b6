import cassandra from 'cassandra-driver';
import type { Attributes } from '@opentelemetry/api';
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
  private observed = false;
  /** CQL text → statement name; rebuilt when statements were registered since (ALL_STATEMENTS grew) */
  private names = new Map<string, string>();
  private namesOf = 0;
  /**
   * Counts by statement and outcome, kept here and read by the instrument when metrics are collected: a
   * request costs a Map look-up, not the SDK's attribute hashing (a Cassandra request is the hot path's most
   * frequent thing to count).
   */
  private readonly counts = new Map<string, { attributes: Attributes; value: number }>();

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
    // Registered on first use: the telemetry provider is registered by then, and an instrument made before it
    // would stay a no-op.
    if (!this.observed) {
      this.observed = true;
      meter()
        .createObservableCounter('nunchi_cassandra_requests_total', {
          description:
            'requests sent to Cassandra, by statement name and outcome: ok, error, unauthorized (outside the role grants); a batch counts once',
        })
        .addCallback((result) => {
          for (const { attributes, value } of this.counts.values()) result.observe(value, attributes);
        });
    }
    const name =
      typeof query === 'string' ? this.nameOf(query) : `batch:${this.nameOf(query[0]?.query ?? '')}`;
    const key = `${name}|${outcome}`;
    const entry = this.counts.get(key);
    if (entry) entry.value++;
    else this.counts.set(key, { attributes: { statement: name, outcome }, value: 1 });
  }

  private nameOf(cql: string): string {
    // Repositories register their statements when their module loads; pick up any registered since. (Two
    // statements may share one CQL text, so the map's size is not the number registered.)
    if (this.namesOf < ALL_STATEMENTS.length) {
      this.names = new Map(ALL_STATEMENTS.map((s) => [s.cql, s.name]));
      this.namesOf = ALL_STATEMENTS.length;
    }
    return this.names.get(cql) ?? 'other';
  }
}
