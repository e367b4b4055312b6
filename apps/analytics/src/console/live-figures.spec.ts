import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveFigures, percentilesOf, subtractBuckets, type LiveSample } from './live-figures.js';
import { histogramBuckets, parseExposition } from './prometheus-text.js';

const sample = (atMs: number, pos: number, web: number, extra: Partial<LiveSample> = {}): LiveSample => ({
  atMs,
  eventsByChannel: { pos, web },
  decisions: { offers: 0, control: 0, late: 0 },
  campaigns: {},
  ...extra,
});

describe('live figures', () => {
  it('rates are counter differences over the last 10 s, by channel', () => {
    const samples = [sample(0, 0, 0), sample(5_000, 50, 5), sample(10_000, 100, 10), sample(15_000, 300, 10)];
    const f = liveFigures(samples)!;
    // from the sample at 5 s (the oldest within 10 s of 15 s) to 15 s: 250 pos and 5 web in 10 s
    assert.equal(f.windowSeconds, 10);
    assert.deepEqual(f.eventsPerSecond, { total: 25.5, byChannel: { pos: 25, web: 0.5 } });
    assert.deepEqual(
      f.series.map((p) => p.eventsPerSecond),
      [0, 11, 11, 40],
    );
    assert.equal(f.dlq, null);
    assert.equal(f.eventToOfferMs, null);
  });

  it('one sample: no rate yet, rather than a made-up one', () => {
    const f = liveFigures([sample(0, 10, 0, { dlqByStage: { ingestion: 2, context: 1 } })])!;
    assert.deepEqual(f.eventsPerSecond, { total: 0, byChannel: { pos: 0, web: 0 } });
    assert.deepEqual(f.dlq, { total: 3, byStage: { ingestion: 2, context: 1 } });
    assert.equal(liveFigures([]), undefined);
  });

  it('percentiles from histogram buckets, as histogram_quantile interpolates them', () => {
    // 100 observations: 50 ≤ 10 ms, 40 in (10, 50], 10 in (50, 100]
    const p = percentilesOf([
      { le: 10, count: 50 },
      { le: 50, count: 90 },
      { le: 100, count: 100 },
      { le: Infinity, count: 100 },
    ])!;
    assert.equal(p.p50, 10);
    assert.equal(p.p99, 95);
    assert.equal(p.count, 100);
    assert.equal(percentilesOf([{ le: Infinity, count: 0 }]), null);
    // beyond the highest finite bound: that bound, the most one can say
    assert.equal(
      percentilesOf([
        { le: 10, count: 1 },
        { le: Infinity, count: 100 },
      ])!.p99,
      10,
    );
  });

  it('percentiles cover only the last minute: the older part of the histogram is subtracted', () => {
    const old = [
      { le: 10, count: 1000 },
      { le: 100, count: 1000 },
      { le: Infinity, count: 1000 },
    ];
    const now = [
      { le: 10, count: 1000 },
      { le: 100, count: 1010 },
      { le: Infinity, count: 1010 },
    ];
    const f = liveFigures([
      sample(0, 0, 0, { eventToOfferBuckets: old }),
      sample(30_000, 0, 0, { eventToOfferBuckets: now }),
    ])!;
    assert.equal(f.eventToOfferMs!.count, 10);
    assert.ok(f.eventToOfferMs!.p50 > 10 && f.eventToOfferMs!.p50 <= 100, String(f.eventToOfferMs!.p50));
    // a restarted decision service (counts went down) starts over
    assert.deepEqual(subtractBuckets([{ le: 10, count: 3 }], [{ le: 10, count: 5 }]), [{ le: 10, count: 3 }]);
  });

  it("reads the decision service's histogram from its /metrics text, summed over the other labels", () => {
    const text = [
      '# HELP nunchi_event_to_offer_ms receipt to decision',
      '# TYPE nunchi_event_to_offer_ms histogram',
      'nunchi_event_to_offer_ms_bucket{outcome="offer",le="10"} 4',
      'nunchi_event_to_offer_ms_bucket{outcome="offer",le="+Inf"} 5',
      'nunchi_event_to_offer_ms_bucket{outcome="none",le="10"} 7',
      'nunchi_event_to_offer_ms_bucket{outcome="none",le="+Inf"} 7',
      'nunchi_event_to_offer_ms_count{outcome="offer"} 5',
      'nunchi_decisions_total{outcome="late",note="a \\"quoted\\" label"} 2 1700000000000',
    ].join('\n');
    const samples = parseExposition(text);
    assert.deepEqual(histogramBuckets(samples, 'nunchi_event_to_offer_ms', { outcome: 'offer' }), [
      { le: 10, count: 4 },
      { le: Infinity, count: 5 },
    ]);
    assert.deepEqual(histogramBuckets(samples, 'nunchi_event_to_offer_ms')?.[0], { le: 10, count: 11 });
    assert.equal(histogramBuckets(samples, 'nunchi_missing'), undefined);
    assert.deepEqual(samples.at(-1), {
      name: 'nunchi_decisions_total',
      labels: { outcome: 'late', note: 'a "quoted" label' },
      value: 2,
    });
  });
});
