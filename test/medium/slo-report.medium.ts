// `nunchi slo report` against the real Zipkin: traces with known latencies are posted to /api/v2/spans under
// service names of this run only, an hour in the past (so that nothing else on the shared Zipkin falls in the
// window), and the report must find exactly the compliance, percentiles and slowest traces they imply.
// Prometheus is a small fake here: the test checks the query sent and how the answer is read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { projectPath } from '@nunchi/config';
import { sloReport, ZipkinTraceReader, type SloReport } from '../../apps/cli/src/commands/slo.js';
import { runId } from '../support/harness.js';

const ZIPKIN = process.env['ZIPKIN_URL'] ?? 'http://127.0.0.1:9411';
const run = runId();
const svc = (name: string) => `t${run}-${name}`;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** A trace of one event: each hop's milliseconds, laid end to end from `startMs`. */
interface Journey {
  ingestionMs: number;
  eventsQueueMs: number;
  contextMs: number;
  enrichedQueueMs: number;
  decisionMs: number;
  /** with an offer: decision.publish_offer's milliseconds */
  offerMs?: number;
  outcome?: string;
}

function zipkinSpans(startMs: number, j: Journey) {
  const traceId = hex(16);
  const us = (ms: number) => Math.round(ms * 1000);
  const span = (
    name: string,
    service: string,
    fromMs: number,
    durationMs: number,
    tags: Record<string, string> = {},
  ) => ({
    traceId,
    id: hex(8),
    name,
    timestamp: us(fromMs),
    duration: Math.max(1, us(durationMs)),
    localEndpoint: { serviceName: service },
    tags,
  });
  // ingestion: receive [start, +ingestion], its publish the last millisecond of it
  const receiveEnd = startMs + j.ingestionMs;
  const applyStart = receiveEnd + j.eventsQueueMs;
  const applyEnd = applyStart + j.contextMs;
  const decideStart = applyEnd + j.enrichedQueueMs;
  const spans = [
    span('ingestion.receive', svc('ingestion'), startMs, j.ingestionMs),
    span('ingestion.publish', svc('ingestion'), receiveEnd - 1, 1),
    span('context.apply', svc('context'), applyStart, j.contextMs),
    span(
      'decision.decide',
      svc('decision'),
      decideStart,
      j.decisionMs + (j.offerMs ?? 0) + 3, // the record is written after the offer is out
      j.outcome ? { 'nunchi.decision.outcome': j.outcome } : {},
    ),
  ];
  if (j.offerMs !== undefined)
    spans.push(span('decision.publish_offer', svc('decision'), decideStart + j.decisionMs, j.offerMs));
  return { traceId, spans };
}

describe('nunchi slo report (Zipkin with traces of known latency)', () => {
  const fromMs = Date.now() - 3_600_000;
  const toMs = fromMs + 60_000;
  /** end-to-end: ingestion 5 + queue 2 + context 10 + queue 3 + decision 20 (+ offer 1) */
  const fast: Journey = {
    ingestionMs: 5,
    eventsQueueMs: 2,
    contextMs: 10,
    enrichedQueueMs: 3,
    decisionMs: 20,
    outcome: 'no_offer',
  };
  const ids: Record<string, string> = {};
  let prometheus: Server;
  let prometheusUrl = '';
  const queries: string[] = [];

  before(async () => {
    const traces = [
      // 16 fast events without an offer (end to end 5 + 2 + 10 + 3 + 20 + 3 = 43 ms), 2 fast with an offer (41 ms)
      ...Array.from({ length: 16 }, (_, i) => zipkinSpans(fromMs + 1_000 + i * 100, fast)),
      ...Array.from({ length: 2 }, (_, i) =>
        zipkinSpans(fromMs + 5_000 + i * 100, { ...fast, offerMs: 1, outcome: 'offer' }),
      ),
      // over 100 ms: a slow context (150 ms); over 2 s: a 3-second wait in EVENTS
      zipkinSpans(fromMs + 10_000, { ...fast, contextMs: 150, offerMs: 1, outcome: 'offer' }),
      zipkinSpans(fromMs + 11_000, { ...fast, eventsQueueMs: 3_000, outcome: 'late' }),
      // not a decided event (no campaign triggered: no outcome), and a trace outside the window
      zipkinSpans(fromMs + 12_000, { ...fast, outcome: undefined }),
      zipkinSpans(toMs + 60_000, { ...fast, eventsQueueMs: 9_000 }),
    ];
    ids.slowContext = traces[18].traceId;
    ids.late = traces[19].traceId;
    const response = await fetch(`${ZIPKIN}/api/v2/spans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(traces.flatMap((t) => t.spans)),
    });
    assert.equal(response.status, 202, `Zipkin took the spans: ${response.status}`);
    // Zipkin stores asynchronously: wait until every decided trace of the window is found
    const reader = new ZipkinTraceReader(ZIPKIN, svc('decision'));
    for (let i = 0; (await reader.traces({ fromMs, toMs, limit: 100 })).length < 21; i++) {
      assert.ok(i < 50, 'Zipkin did not index the posted traces within 10 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    prometheus = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      queries.push(url.searchParams.get('query') ?? '');
      res.setHeader('content-type', 'application/json');
      // 99.5 % within 100 ms, 99.95 % within 2 s, 99.99 % available
      const value = [0.995, 0.9995, 0.9999][(queries.length - 1) % 3];
      res.end(
        JSON.stringify({
          status: 'success',
          data: {
            resultType: 'vector',
            result: [{ metric: {}, value: [Number(url.searchParams.get('time')), String(value)] }],
          },
        }),
      );
    });
    await new Promise<void>((r) => prometheus.listen(0, '127.0.0.1', r));
    prometheusUrl = `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`;
  });

  after(() => {
    prometheus?.close();
  });

  it('computes compliance with both latency objectives over the decided events of the window only', async () => {
    const report = await sloReport(new ZipkinTraceReader(ZIPKIN, svc('decision')), {
      fromMs,
      toMs,
      limit: 1000,
      slowest: 3,
    });
    assert.equal(report.traces, 21, 'traces in the window (the one after it is not read)');
    assert.equal(report.decided, 20, 'the untriggered event is not a decision');
    assert.deepEqual(
      report.compliance.map((c) => [c.name, c.good, c.total, c.actual, c.met]),
      [
        ['decided-within-100ms', 18, 20, 90, false],
        ['decided-within-2s', 19, 20, 95, false],
      ],
    );
  });

  it('measures each hop: p50, p95, p99 and max in milliseconds', async () => {
    const report = await sloReport(new ZipkinTraceReader(ZIPKIN, svc('decision')), {
      fromMs,
      toMs,
      limit: 1000,
      slowest: 3,
    });
    const hop = (h: keyof SloReport['hops']) => {
      const p = report.hops[h]!;
      return [p.count, p.p50, p.p95, p.p99, p.max];
    };
    assert.deepEqual(hop('ingestion'), [20, 5, 5, 5, 5]);
    // 2 ms in EVENTS + 3 ms in ENRICHED; the late event waited 3 s in EVENTS
    assert.deepEqual(hop('queueWait'), [20, 5, 5, 3_003, 3_003]);
    assert.deepEqual(hop('context'), [20, 10, 10, 150, 150]);
    // 23 ms (the whole span) without an offer, 20 ms to the offer with one
    assert.deepEqual(hop('decision'), [20, 23, 23, 23, 23]);
    assert.deepEqual(hop('offerPublication'), [3, 1, 1, 1, 1]);
    // 16 × 43 ms without an offer, 2 × 41 with one, 181 (slow context), 3,041 (late)
    assert.deepEqual(hop('endToEnd'), [20, 43, 181, 3_041, 3_041]);
  });

  it('lists the slowest traces first, with their slowest hop and a Zipkin link', async () => {
    const report = await sloReport(new ZipkinTraceReader(ZIPKIN, svc('decision')), {
      fromMs,
      toMs,
      limit: 1000,
      slowest: 2,
    });
    assert.deepEqual(
      report.slowest.map((s) => [s.traceId, s.endToEndMs, s.outcome, s.slowestHop, s.slowestHopMs]),
      [
        [ids.late, 3_041, 'late', 'queueWait', 3_003],
        [ids.slowContext, 181, 'offer', 'context', 150],
      ],
    );
    assert.equal(report.slowest[0].link, `${ZIPKIN}/zipkin/traces/${ids.late}`);
  });

  it('adds the compliance Prometheus counted over the same window when given one', async () => {
    queries.length = 0;
    const report = await sloReport(new ZipkinTraceReader(ZIPKIN, svc('decision')), {
      fromMs,
      toMs,
      limit: 1000,
      slowest: 0,
      prometheusUrl,
    });
    assert.deepEqual(
      report.metrics?.map((m) => [m.name, m.actual, m.met]),
      [
        ['decided-within-100ms', 99.5, true],
        ['decided-within-2s', 99.95, true],
        ['ingestion-availability', 99.99, true],
      ],
    );
    assert.equal(
      queries[0],
      'sum(increase(nunchi_event_to_offer_ms_bucket{le="100"}[60s])) / sum(increase(nunchi_event_to_offer_ms_count[60s]))',
    );
    assert.equal(
      queries[2],
      '1 - (sum(increase(nunchi_ingestion_events_total{outcome="failed"}[60s])) or vector(0)) / sum(increase(nunchi_ingestion_events_total[60s]))',
    );
  });

  it('is the command `nunchi slo report --json`, and says "MISSED" in text', () => {
    const cli = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [
          projectPath('dist/apps/cli/src/main.js'),
          'slo',
          'report',
          '--zipkin',
          ZIPKIN,
          '--service',
          svc('decision'),
          '--from',
          new Date(fromMs).toISOString(),
          '--to',
          new Date(toMs).toISOString(),
          ...args,
        ],
        { encoding: 'utf8' },
      );
    const json = cli('--json');
    assert.equal(json.status, 0, json.stderr);
    const report = JSON.parse(json.stdout) as SloReport;
    assert.equal(report.decided, 20);
    assert.equal(report.slowest[0].traceId, ids.late);
    const text = cli();
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /decided-within-100ms \(≤ 100 ms\)\s+99 %\s+90 % \(18\/20\)\s+MISSED/);
    assert.match(
      text.stdout,
      new RegExp(
        `1\\.\\s+3,041 ms\\s+late\\s+most in queueWait \\(3,003 ms\\)\\s+${ZIPKIN}/zipkin/traces/${ids.late}`,
      ),
    );
  });
});
