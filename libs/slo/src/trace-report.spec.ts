import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Slo } from './slo-spec.js';
import { hopsOf, percentiles, traceReport, type TraceSpan } from './trace-report.js';

const span = (
  name: string,
  startMs: number,
  durationMs: number,
  tags: Record<string, string> = {},
): TraceSpan => ({
  traceId: 't1',
  id: name,
  name,
  serviceName: 's',
  startUs: startMs * 1000,
  durationUs: durationMs * 1000,
  tags,
});

/** receive 0–5 (publish 4–5), apply 7–17, decide 20–45, offer 40–41 */
const withOffer = [
  span('ingestion.receive', 0, 5),
  span('ingestion.publish', 4, 1),
  span('context.apply', 7, 10),
  span('decision.decide', 20, 25, { 'nunchi.decision.outcome': 'offer' }),
  span('decision.publish_offer', 40, 1),
];

const SLO: Slo = {
  name: 'fast',
  objective: 99,
  description: 'd',
  indicator: { kind: 'latency', metric: 'm', thresholdMs: 41 },
};

describe('hopsOf', () => {
  it('lays out one trace: ingestion, queue wait, context, decision up to the offer, the offer, end to end', () => {
    assert.deepEqual(hopsOf(withOffer), {
      outcome: 'offer',
      hops: { ingestion: 5, queueWait: 2 + 3, context: 10, decision: 20, offerPublication: 1, endToEnd: 41 },
    });
  });

  it('counts only the context time before the decision starts (its write may go on in parallel)', () => {
    const overlapping = withOffer.map((s) => (s.name === 'context.apply' ? span('context.apply', 7, 30) : s));
    const hops = hopsOf(overlapping)!.hops;
    assert.equal(hops.context, 13);
    assert.equal(hops.queueWait, 2);
  });

  it('is undefined for an event no campaign decided on, or a trace without its receipt', () => {
    assert.equal(
      hopsOf(withOffer.map((s) => (s.name === 'decision.decide' ? { ...s, tags: {} } : s))),
      undefined,
    );
    assert.equal(hopsOf(withOffer.filter((s) => s.name !== 'ingestion.receive')), undefined);
  });
});

describe('traceReport', () => {
  it('compares end-to-end latency with each latency objective; the threshold itself is good', () => {
    const slow = withOffer.map((s) => ({
      ...s,
      traceId: 't2',
      ...(s.name === 'decision.publish_offer' ? { startUs: 41_000 } : {}),
    }));
    const report = traceReport([withOffer, slow], {
      fromMs: 0,
      toMs: 1,
      slos: [SLO],
      slowest: 1,
      link: (id) => `z/${id}`,
    });
    assert.deepEqual(report.compliance, [
      { name: 'fast', thresholdMs: 41, objective: 99, good: 1, total: 2, actual: 50, met: false },
    ]);
    assert.deepEqual(report.slowest, [
      {
        traceId: 't2',
        endToEndMs: 42,
        outcome: 'offer',
        slowestHop: 'decision',
        slowestHopMs: 21,
        link: 'z/t2',
      },
    ]);
  });

  it('nearest-rank percentiles', () => {
    assert.deepEqual(percentiles([5, 1, 4, 2, 3]), { count: 5, p50: 3, p95: 5, p99: 5, max: 5 });
    assert.equal(percentiles([]), null);
  });
});
