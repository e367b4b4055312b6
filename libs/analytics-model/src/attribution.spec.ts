import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  attribute,
  attributionWindowOf,
  conversionWriteTimestamp,
  exposureShardOf,
  exposureWriteTimestamp,
  EXPOSURE_SHARDS,
} from './attribution.js';

const DAY = 86_400_000;
const t0 = Date.parse('2026-12-01T10:00:00Z');

describe('attribution', () => {
  it('counts purchases after the decision and within the window; the triggering purchase never', () => {
    const a = attribute(t0, 7, [
      { occurredAtMs: t0 - 1, amount: 100 }, // the trigger
      { occurredAtMs: t0, amount: 1 }, // same instant: not after
      { occurredAtMs: t0 + DAY, amount: 200 },
      { occurredAtMs: t0 + 7 * DAY, amount: 300 }, // last instant of the window
      { occurredAtMs: t0 + 7 * DAY + 1, amount: 400 },
    ]);
    assert.deepEqual(a, { converted: true, revenue: 500, purchases: 2 });
    assert.deepEqual(attribute(t0, 7, []), { converted: false, revenue: 0, purchases: 0 });
  });

  it("a campaign's window: its attributionWindowDays, else 7, bounded to 1..30", () => {
    assert.equal(attributionWindowOf({ attributionWindowDays: 3 }), 3);
    assert.equal(attributionWindowOf({}), 7);
    assert.equal(attributionWindowOf(undefined), 7);
    assert.equal(attributionWindowOf({ attributionWindowDays: 90 }), 30);
    assert.equal(attributionWindowOf({ attributionWindowDays: 2.5 }), 7);
  });

  it('write timestamps: more purchases win; an earlier exposure wins over any later one', () => {
    assert.ok(conversionWriteTimestamp(2) > conversionWriteTimestamp(1));
    assert.ok(exposureWriteTimestamp(t0, 0) > exposureWriteTimestamp(t0 + 1, 999));
    assert.ok(exposureWriteTimestamp(t0, 2) > exposureWriteTimestamp(t0, 1));
    assert.ok(Number.isSafeInteger(exposureWriteTimestamp(0, 999)));
  });

  it('shards spread customers over every partition', () => {
    const shards = new Set(Array.from({ length: 1_000 }, (_, i) => exposureShardOf(`c-${i}`)));
    assert.equal(shards.size, EXPOSURE_SHARDS);
  });
});
