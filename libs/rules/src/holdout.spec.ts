import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holdoutBucket, isHeldOut } from './holdout.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `c-${String(i).padStart(6, '0')}`);

void describe('holdout', () => {
  void it('is deterministic and pinned (changing the hash would reshuffle every control group)', () => {
    assert.equal(
      isHeldOut('bundang-dad-beer', 'c-000042', 10),
      isHeldOut('bundang-dad-beer', 'c-000042', 10),
    );
    // Pinned values: FNV-1a("bundang-dad-beer:c-000042") then fmix32, scaled to [0, 100).
    assert.equal(holdoutBucket('bundang-dad-beer', 'c-000042').toFixed(6), pinned.dad);
    assert.equal(holdoutBucket('x', 'y').toFixed(6), pinned.xy);
  });

  void it('holds out close to the percentage over 100,000 customers', () => {
    const all = ids(100_000);
    for (const percent of [1, 10, 25, 50]) {
      const held = all.filter((id) => isHeldOut('bundang-dad-beer', id, percent)).length;
      const share = (held / all.length) * 100;
      // binomial sd at 50% over 100k is 0.16 points; allow ~3 sd
      assert.ok(Math.abs(share - percent) < 0.5, `${percent}% asked, ${share.toFixed(2)}% held out`);
    }
  });

  void it('is nested: whoever is held out at 10% is held out at 20%', () => {
    for (const id of ids(5000)) {
      if (isHeldOut('c1', id, 10)) assert.ok(isHeldOut('c1', id, 20), id);
    }
  });

  void it('draws independent groups per campaign', () => {
    const all = ids(100_000);
    const both = all.filter(
      (id) => isHeldOut('campaign-a', id, 10) && isHeldOut('campaign-b', id, 10),
    ).length;
    // independent: ~1% of customers are in both 10% groups; identical groups would give 10%
    assert.ok(both > 800 && both < 1200, `${both} in both`);
  });

  void it('0% holds out nobody and 100% everybody', () => {
    for (const id of ids(1000)) {
      assert.equal(isHeldOut('c', id, 0), false);
      assert.equal(isHeldOut('c', id, 100), true);
    }
  });

  void it('buckets stay within [0, 100)', () => {
    for (const id of ids(10_000)) {
      const b = holdoutBucket('k', id);
      assert.ok(b >= 0 && b < 100, String(b));
    }
  });
});

// computed independently (Python) from the documented algorithm
const pinned = { dad: '28.174641', xy: '98.372248' };
