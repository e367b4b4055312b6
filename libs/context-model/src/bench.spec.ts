import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchRollupDay, benchSnapshot } from './bench.js';

void test('benchSnapshot measures ~800 rows with the given clock', () => {
  let fake = 0;
  const r = benchSnapshot(() => (fake += 5), { iterations: 10, warmup: 1 });
  assert.equal(r.size, 800);
  assert.equal(r.totalMs, 5);
  assert.equal(r.meanUs, 500);
  assert.ok(r.checksum > 0);
});

void test('benchSnapshot stays within budget for ~800 rows', () => {
  // Target is well under 100 µs (≈25 µs measured). The bound is 200 µs on the best of five batches so a busy
  // CI machine does not fail it, while a regression to per-row Date/Intl work (+200 µs to +1 ms) does.
  const means = Array.from(
    { length: 5 },
    () => benchSnapshot(() => performance.now(), { iterations: 1000, warmup: 500 }).meanUs,
  );
  const best = Math.min(...means);
  assert.ok(best < 200, `best mean ${best.toFixed(1)} µs`);
});

void test('benchRollupDay runs', () => {
  const r = benchRollupDay(() => performance.now(), 20, { iterations: 100, warmup: 10 });
  assert.equal(r.size, 20);
  assert.ok(Number.isFinite(r.meanUs));
});
