import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('gives the documented defaults', () => {
    const c = loadConfig('decision', {});
    assert.equal(c.httpPort, 3003);
    assert.equal(c.nats.url, 'nats://127.0.0.1:4222');
    assert.equal(c.nats.partitions, 16);
    assert.deepEqual(c.cassandra.contactPoints, ['127.0.0.1:9042']);
    assert.equal(c.domain.timeZone, 'Asia/Seoul');
    assert.equal(c.domain.slaMs, 2000);
    assert.equal(c.telemetry.serviceName, 'nunchi-decision');
  });

  it('lists every bad key at once', () => {
    try {
      loadConfig('context', { NUNCHI_PARTITIONS: '0', NATS_URL: 'http://x', NUNCHI_TIMEZONE: 'Mars/Base', OTEL_TRACES_EXPORTER: 'jaeger' });
      assert.fail('expected ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems.map((p) => p.split('=')[0].split(' ')[0]).sort(), ['NATS_URL', 'NUNCHI_PARTITIONS', 'NUNCHI_TIMEZONE', 'OTEL_TRACES_EXPORTER']);
    }
  });

  it('traces events by default; statement spans only with NUNCHI_TRACE_DETAIL=statements', () => {
    assert.equal(loadConfig('decision', {}).telemetry.detail, 'events');
    assert.equal(loadConfig('decision', { NUNCHI_TRACE_DETAIL: 'statements' }).telemetry.detail, 'statements');
    assert.throws(() => loadConfig('decision', { NUNCHI_TRACE_DETAIL: 'all' }), /NUNCHI_TRACE_DETAIL/);
  });

  it("points the console at this machine's services on their configured ports, and at Zipkin", () => {
    const c = loadConfig('analytics', { NUNCHI_CONTEXT_PORT: '3202' }).console;
    assert.deepEqual(c, {
      traceUrl: 'http://127.0.0.1:9411/zipkin/traces/{traceId}',
      contextUrl: 'http://127.0.0.1:3202',
      decisionUrl: 'http://127.0.0.1:3003',
    });
    assert.equal(loadConfig('analytics', { NUNCHI_DECISION_URL: 'http://decision:3003' }).console.decisionUrl, 'http://decision:3003');
    assert.throws(() => loadConfig('analytics', { NUNCHI_TRACE_URL: 'zipkin' }), /NUNCHI_TRACE_URL/);
  });

  it('requires an identity secret in production', () => {
    assert.throws(() => loadConfig('ingestion', { NODE_ENV: 'production' }), /NUNCHI_IDENTITY_SECRET/);
    assert.equal(loadConfig('ingestion', { NODE_ENV: 'production', NUNCHI_IDENTITY_SECRET: 'x'.repeat(32) }).domain.identitySecret.length, 32);
  });

  it('reads what ingestion does with unknown identifiers, and how long it trusts its identity cache', () => {
    const defaults = loadConfig('ingestion', {}).domain;
    assert.deepEqual([defaults.unknownIdentifiers, defaults.identityCacheTtlMs], ['create', 5000]);
    const set = loadConfig('ingestion', { NUNCHI_UNKNOWN_IDENTIFIERS: 'refuse', NUNCHI_IDENTITY_CACHE_TTL_MS: '1500' }).domain;
    assert.deepEqual([set.unknownIdentifiers, set.identityCacheTtlMs], ['refuse', 1500]);
    assert.throws(() => loadConfig('ingestion', { NUNCHI_UNKNOWN_IDENTIFIERS: 'ignore' }), /NUNCHI_UNKNOWN_IDENTIFIERS/);
    assert.throws(() => loadConfig('ingestion', { NUNCHI_IDENTITY_CACHE_TTL_MS: '0' }), /NUNCHI_IDENTITY_CACHE_TTL_MS/);
  });
});
