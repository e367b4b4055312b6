import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { burnAlertName, errorRatioExpr, prometheusRules } from './prometheus-rules.js';
import { errorBudget, parseSloSpec, SloSpecInvalidError } from './slo-spec.js';

const BUCKETS = [50, 100, 2000];
const SPEC = `
kind: ServiceLevelObjectives
period: 28d
slos:
  - name: fast
    objective: 99
    description: quick
    indicator: { latency: { metric: lat_ms, thresholdMs: 100 } }
  - name: up
    objective: 99.9
    description: up
    indicator: { ratio: { metric: answers_total, bad: { outcome: failed } } }
`;

describe('parseSloSpec', () => {
  it('reads objectives, indicators and the period', () => {
    const spec = parseSloSpec(SPEC, BUCKETS);
    assert.equal(spec.period, '28d');
    assert.deepEqual(
      spec.slos.map((s) => [s.name, s.objective, s.indicator.kind]),
      [
        ['fast', 99, 'latency'],
        ['up', 99.9, 'ratio'],
      ],
    );
    assert.equal(errorBudget(spec.slos[1]), 0.001);
  });

  it('lists every problem: a threshold no bucket counts exactly, a bad objective, a counter without _total', () => {
    const bad = SPEC.replace('thresholdMs: 100', 'thresholdMs: 120')
      .replace('objective: 99.9', 'objective: 100')
      .replace('answers_total', 'answers');
    assert.throws(
      () => parseSloSpec(bad, BUCKETS),
      (e: unknown) =>
        e instanceof SloSpecInvalidError &&
        e.problems.length === 3 &&
        /bucket bounds \(50, 100, 2000\)/.test(e.problems[0]) &&
        /strictly between 0 and 100/.test(e.problems[1]) &&
        /ending in _total/.test(e.problems[2]),
    );
  });
});

describe('prometheusRules', () => {
  const spec = parseSloSpec(SPEC, BUCKETS);

  it('reads the latency threshold bucket against the count, and bad events against all', () => {
    assert.equal(
      errorRatioExpr(spec.slos[0], '5m'),
      '1 - (sum(rate(lat_ms_bucket{le="100"}[5m])) / sum(rate(lat_ms_count[5m])))',
    );
    assert.equal(
      errorRatioExpr(spec.slos[1], '1h'),
      '(sum(rate(answers_total{outcome="failed"}[1h])) or vector(0)) / sum(rate(answers_total[1h]))',
    );
  });

  it('pages at 14.4× over 1 h and 5 m, tickets at 1× over 3 d and 6 h, per SLO', () => {
    const alerts = prometheusRules(spec).groups.flatMap((g) =>
      g.rules.flatMap((r) => ('alert' in r ? [r] : [])),
    );
    assert.deepEqual(
      alerts.map((a) => [a.alert, a.labels.severity]),
      [
        ['FastFastBurn', 'page'],
        ['FastSlowBurn', 'ticket'],
        ['UpFastBurn', 'page'],
        ['UpSlowBurn', 'ticket'],
      ],
    );
    assert.match(
      alerts[0].expr,
      /nunchi:slo_errors:ratio_rate1h\{slo="fast"\} > 14\.4 \* 0\.01 and nunchi:slo_errors:ratio_rate5m\{slo="fast"\} > 14\.4 \* 0\.01/,
    );
    assert.match(
      alerts[3].expr,
      /ratio_rate3d\{slo="up"\} > 1 \* 0\.001 and .*ratio_rate6h\{slo="up"\} > 1 \* 0\.001/,
    );
    assert.equal(burnAlertName(spec.slos[1], 'Slow'), 'UpSlowBurn');
  });
});
