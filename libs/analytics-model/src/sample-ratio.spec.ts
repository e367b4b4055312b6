import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chiSquareSurvival1, sampleRatioCheck } from './sample-ratio.js';

const close = (actual: number, expected: number, tolerance: number) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected} ± ${tolerance}`);

describe('sample-ratio mismatch (χ², one degree of freedom)', () => {
  it('known critical values of χ²₁', () => {
    close(chiSquareSurvival1(3.841458820694124), 0.05, 1e-7);
    close(chiSquareSurvival1(6.634896601021213), 0.01, 1e-8);
    close(chiSquareSurvival1(10.827566170662733), 0.001, 1e-9);
    assert.equal(chiSquareSurvival1(0), 1);
  });

  it('a 10 % holdout kept: no mismatch', () => {
    const c = sampleRatioCheck(9_020, 980, 0.1);
    // χ² = 20²/1000 + 20²/9000
    close(c.chiSquare, 0.4 + 400 / 9_000, 1e-12);
    assert.equal(c.mismatch, false);
    close(c.observedHoldoutShare!, 0.098, 1e-12);
  });

  it('a 10 % holdout that came out 12 %: mismatch', () => {
    const c = sampleRatioCheck(8_800, 1_200, 0.1);
    assert.ok(c.pValue < 1e-6, String(c.pValue));
    assert.equal(c.mismatch, true);
  });

  it('without a holdout asked for, held-out customers are a mismatch; none is fine', () => {
    assert.equal(sampleRatioCheck(10, 1, 0).mismatch, true);
    assert.equal(sampleRatioCheck(10, 0, 0).mismatch, false);
    assert.equal(sampleRatioCheck(0, 0, 0.1).pValue, 1);
  });
});
