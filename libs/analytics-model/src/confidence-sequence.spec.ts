import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectOf, sequenceHalfwidth, sequenceRho, variance } from './confidence-sequence.js';

const close = (actual: number, expected: number, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected} ± ${tolerance}`);
const bernoulli = (n: number, successes: number) => ({ n, sum: successes, sumSquares: successes });

describe('asymptotic confidence sequences (Waudby-Smith et al.; GrowthBook parameterisation)', () => {
  it('ρ for α = 0.05 tuned at 5,000', () => {
    // sqrt((−2 ln 0.05 + ln(−2 ln 0.05 + 1)) / 5000), computed independently
    close(sequenceRho(0.05, 5_000), 0.03984006677137368, 1e-15);
  });

  it('is wider than the fixed-sample 95 % interval at every n (the price of peeking), ~1.55× at the tuned n', () => {
    for (const n of [10, 100, 1_000, 5_000, 50_000, 1_000_000]) {
      const fixed = 1.959964 * Math.sqrt(1 / n);
      assert.ok(sequenceHalfwidth(1 / n, n) > fixed, `n = ${n}`);
    }
    close(sequenceHalfwidth(1 / 5_000, 5_000) / (1.959964 * Math.sqrt(1 / 5_000)), 1.5486, 1e-3);
  });

  it('conversion 12.0 % vs 10.0 % over 1,000 + 1,000 customers: known absolute and relative (log-scale) intervals', () => {
    const e = effectOf(bernoulli(1_000, 120), bernoulli(1_000, 100))!;
    close(e.absolute, 0.02, 1e-12);
    close(e.interval.lower, -0.02371011960281924, 1e-12);
    close(e.interval.upper, 0.06371011960281922, 1e-12);
    close(e.relative!, 0.2, 1e-12);
    close(e.relativeInterval!.lower, -0.19515309728435737, 1e-12);
    close(e.relativeInterval!.upper, 0.7891601435518734, 1e-12);
    assert.equal(e.interval.level, 0.95);
  });

  it('no lift without both groups; no relative lift while the holdout has no conversion', () => {
    assert.equal(effectOf(bernoulli(10, 1), bernoulli(0, 0)), null);
    const e = effectOf(bernoulli(100, 5), bernoulli(100, 0))!;
    assert.equal(e.relative, null);
    assert.equal(e.relativeInterval, null);
    close(e.absolute, 0.05);
  });

  it('sample variance with n − 1', () => {
    close(variance({ n: 4, sum: 10, sumSquares: 30 }), 5 / 3, 1e-12); // 1, 2, 3, 4
    assert.equal(variance({ n: 1, sum: 3, sumSquares: 9 }), 0);
  });
});
