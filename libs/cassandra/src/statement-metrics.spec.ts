import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type cassandra from 'cassandra-driver';
import { StatementMetrics } from './statement-metrics.js';
import { defineStatements, statement } from './statements.js';

/** Collects on demand: what /metrics would show. */
class OnDemandReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

describe('StatementMetrics (nunchi_cassandra_requests_total)', () => {
  const reader = new OnDemandReader();
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  const host = {} as cassandra.Host;
  const unauthorized = Object.assign(new Error('no grant'), { code: 0x2100 });

  async function counted(): Promise<Record<string, number>> {
    const { resourceMetrics } = await reader.collect();
    const out: Record<string, number> = {};
    for (const scope of resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics)
        if (metric.descriptor.name === 'nunchi_cassandra_requests_total')
          for (const point of metric.dataPoints)
            out[`${String(point.attributes['statement'])}|${String(point.attributes['outcome'])}`] =
              point.value as number;
    return out;
  }

  it('counts each request by statement name and outcome, a batch once under its first statement', async () => {
    const q = defineStatements({
      get: statement('spec_table.get', 'SELECT v FROM spec_table WHERE k = ?'),
      put: statement('spec_table.put', 'INSERT INTO spec_table (k, v) VALUES (?, ?)'),
      // the same CQL text under a second name: the registry holds more statements than distinct texts
      again: statement('spec_table.get_again', 'SELECT v FROM spec_table WHERE k = ?'),
    });
    const tracker = new StatementMetrics();
    for (let i = 0; i < 3; i++) tracker.onSuccess(host, q.put.cql);
    tracker.onSuccess(host, [{ query: q.put.cql }, { query: q.get.cql }]);
    tracker.onError(host, q.put.cql, undefined, undefined, 0, new Error('timeout'));
    tracker.onError(host, q.put.cql, undefined, undefined, 0, unauthorized);
    tracker.onSuccess(host, 'SELECT now() FROM system.local');
    // registered after the first count: picked up on the next request
    const late = defineStatements({
      late: statement('spec_table.late', 'DELETE FROM spec_table WHERE k = ?'),
    });
    tracker.onSuccess(host, late.late.cql);

    const figures = await counted();
    assert.equal(figures['spec_table.put|ok'], 3);
    assert.equal(figures['batch:spec_table.put|ok'], 1);
    assert.equal(figures['spec_table.put|error'], 1);
    assert.equal(figures['spec_table.put|unauthorized'], 1);
    assert.equal(figures['other|ok'], 1, 'CQL no repository declared');
    assert.equal(figures['spec_table.late|ok'], 1);
    assert.ok(
      figures['spec_table.get|ok'] === undefined && figures['spec_table.get_again|ok'] === undefined,
      'nothing counted that was not sent',
    );
    tracker.onSuccess(host, q.put.cql);
    assert.equal((await counted())['spec_table.put|ok'], 4, 'a counter: the next collection adds to it');
  });
});
