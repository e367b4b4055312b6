import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RFM_THRESHOLDS, rfmScores, type RfmThresholds } from './rfm.js';

void test('no purchase in 365 days scores 0 on every axis', () => {
  assert.deepEqual(rfmScores(-1, 0, 0), { r: 0, f: 0, m: 0 });
});

void test('recency: ≤7 → 5, ≤30 → 4, ≤90 → 3, ≤180 → 2, else 1', () => {
  const r = (days: number) => rfmScores(days, 1, 1).r;
  assert.deepEqual([0, 7, 8, 30, 31, 90, 91, 180, 181, 364].map(r), [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
});

void test('frequency: purchases in 365 days ≥52 → 5, ≥24 → 4, ≥12 → 3, ≥4 → 2, else 1', () => {
  const f = (n: number) => rfmScores(0, n, 1).f;
  assert.deepEqual([1, 3, 4, 11, 12, 23, 24, 51, 52, 300].map(f), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
});

void test('monetary: KRW in 365 days ≥5,000,000 → 5, ≥2,000,000 → 4, ≥800,000 → 3, ≥200,000 → 2, else 1', () => {
  const m = (krw: number) => rfmScores(0, 1, krw).m;
  assert.deepEqual(
    [0, 199_999, 200_000, 799_999, 800_000, 1_999_999, 2_000_000, 4_999_999, 5_000_000].map(m),
    [1, 1, 2, 2, 3, 3, 4, 4, 5],
  );
});

void test('thresholds are a parameter', () => {
  const t: RfmThresholds = {
    recencyDays: [1, 2, 3, 4],
    frequency: [4, 3, 2, 1],
    monetary: [400, 300, 200, 100],
  };
  assert.deepEqual(rfmScores(2, 3, 250, t), { r: 4, f: 4, m: 3 });
  assert.ok(Object.isFrozen(DEFAULT_RFM_THRESHOLDS) && Object.isFrozen(DEFAULT_RFM_THRESHOLDS.monetary));
});
