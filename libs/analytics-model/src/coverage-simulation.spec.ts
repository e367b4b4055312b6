import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectOf, type Moments } from './confidence-sequence.js';
import { prng } from '@nunchi/testing';

/**
 * The simulation study of docs/analytics.md: many A/A campaigns (treatment and holdout drawn from the same
 * distribution, so the true lift is 0), each watched after every 100 customers from the moment the
 * minimum-sample warnings clear (both groups ≥ 100 customers and ≥ 10 converting) up to 20,000 customers. A run is covered when the
 * interval contains 0 at EVERY look. Always-valid intervals must cover ≥ 95 % of runs; the ordinary
 * fixed-sample interval, looked at as often, must not (it is why this study exists). Seeded: deterministic.
 */

const RUNS = 300;
const CUSTOMERS = 20_000;
const LOOK_EVERY = 100;
const MIN_PER_GROUP = 100;
const MIN_NONZERO_PER_GROUP = 10;
const HOLDOUT_SHARE = 0.2;

interface Study {
  alwaysValid: number;
  alwaysValidRelative: number;
  fixedSample: number;
}

function study(draw: (random: () => number) => number, seed: number): Study {
  const random = prng(seed);
  let alwaysValid = 0;
  let alwaysValidRelative = 0;
  let fixedSample = 0;
  for (let run = 0; run < RUNS; run++) {
    const nonZero = [0, 0];
    const groups: [Moments, Moments] = [
      { n: 0, sum: 0, sumSquares: 0 },
      { n: 0, sum: 0, sumSquares: 0 },
    ];
    let covered = true;
    let coveredRelative = true;
    let coveredFixed = true;
    for (let i = 1; i <= CUSTOMERS; i++) {
      const k = random() < HOLDOUT_SHARE ? 1 : 0;
      const g = groups[k];
      const x = draw(random);
      if (x !== 0) nonZero[k]++;
      g.n++;
      g.sum += x;
      g.sumSquares += x * x;
      if (i % LOOK_EVERY || Math.min(groups[0].n, groups[1].n) < MIN_PER_GROUP) continue;
      if (Math.min(...nonZero) < MIN_NONZERO_PER_GROUP) continue;
      const e = effectOf(groups[0], groups[1])!;
      if (e.interval.lower > 0 || e.interval.upper < 0) covered = false;
      if (e.relativeInterval && (e.relativeInterval.lower > 0 || e.relativeInterval.upper < 0))
        coveredRelative = false;
      // the ordinary 95 % interval: absolute ± 1.96 · SE
      const halfwidth = ((e.interval.upper - e.interval.lower) / 2) * fixedToSequentialRatio(groups);
      if (Math.abs(e.absolute) > halfwidth) coveredFixed = false;
    }
    alwaysValid += covered ? 1 : 0;
    alwaysValidRelative += coveredRelative ? 1 : 0;
    fixedSample += coveredFixed ? 1 : 0;
  }
  return {
    alwaysValid: alwaysValid / RUNS,
    alwaysValidRelative: alwaysValidRelative / RUNS,
    fixedSample: fixedSample / RUNS,
  };
}

/** 1.96 · SE over the sequence's halfwidth: the sequence's halfwidth is SE · sqrt(N) · sqrt(discriminant) */
function fixedToSequentialRatio(groups: [Moments, Moments]): number {
  const n = groups[0].n + groups[1].n;
  const rho = Math.sqrt((-2 * Math.log(0.05) + Math.log(-2 * Math.log(0.05) + 1)) / 5_000);
  const nr2 = n * rho * rho;
  const discriminant = ((2 * (nr2 + 1)) / (n * n * rho * rho)) * Math.log(Math.sqrt(nr2 + 1) / 0.05);
  return 1.959964 / (Math.sqrt(n) * Math.sqrt(discriminant));
}

describe('simulation study: A/A campaigns watched continuously', () => {
  it('conversion (3 %): always-valid intervals cover ≥ 95 % of runs; fixed-sample intervals do not', () => {
    const s = study((random) => (random() < 0.03 ? 1 : 0), 13);
    assert.ok(s.alwaysValid >= 0.95, JSON.stringify(s));
    assert.ok(s.alwaysValidRelative >= 0.95, JSON.stringify(s));
    assert.ok(s.fixedSample < 0.9, JSON.stringify(s));
  });

  it('conversion (10 %): always-valid intervals cover ≥ 95 % of runs; fixed-sample intervals do not', () => {
    const s = study((random) => (random() < 0.1 ? 1 : 0), 11);
    assert.ok(s.alwaysValid >= 0.95, JSON.stringify(s));
    assert.ok(s.alwaysValidRelative >= 0.95, JSON.stringify(s));
    assert.ok(s.fixedSample < 0.9, JSON.stringify(s));
  });

  it('revenue per customer (30 % buy, exponential baskets of mean 40,000 KRW): ≥ 95 %', () => {
    const s = study((random) => (random() < 0.3 ? -40_000 * Math.log(1 - random()) : 0), 12);
    assert.ok(s.alwaysValid >= 0.95, JSON.stringify(s));
    assert.ok(s.alwaysValidRelative >= 0.95, JSON.stringify(s));
    assert.ok(s.fixedSample < 0.9, JSON.stringify(s));
  });
});
