import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, purchase, seoul, windows } from '../testing/fixtures.js';
import { compilePattern } from './compile-pattern.js';
import { thresholdCrossing } from './threshold.js';

const million = compilePattern(
  'vip',
  { threshold: { measure: 'spend', window: 'd365', crosses: 1_000_000 } },
  ['purchase'],
);
if (million.kind !== 'threshold') throw new Error('threshold expected');
const asOf = new Date(seoul('2026-11-24T19:06')).toISOString();

void describe('threshold crossed by this event', () => {
  void it('crosses when the total without this purchase is below and with it at or above', () => {
    const p = purchase([{ category: 'beer', unitPrice: 120_000 }]);
    const ctx = context('c-000042', { asOf, all: windows({ d365: { spend: 1_050_000 } }) });
    assert.deepEqual(thresholdCrossing(million, p, ctx, 'Asia/Seoul'), {
      crossed: true,
      before: 930_000,
      after: 1_050_000,
    });
  });

  void it('does not cross when already above before, or still below after', () => {
    const p = purchase([{ category: 'beer', unitPrice: 10_000 }]);
    const above = context('c-000042', { asOf, all: windows({ d365: { spend: 1_500_000 } }) });
    const below = context('c-000042', { asOf, all: windows({ d365: { spend: 990_000 } }) });
    assert.equal(thresholdCrossing(million, p, above, 'Asia/Seoul').crossed, false);
    assert.equal(thresholdCrossing(million, p, below, 'Asia/Seoul').crossed, false);
  });

  void it('a late purchase outside the window adds nothing to it, so it crosses nothing', () => {
    const old = purchase([{ category: 'beer', unitPrice: 500_000 }], {
      occurredAtMs: seoul('2025-11-01T10:00'),
    });
    const ctx = context('c-000042', { asOf, all: windows({ d365: { spend: 1_200_000 } }) });
    assert.deepEqual(thresholdCrossing(million, old, ctx, 'Asia/Seoul'), {
      crossed: false,
      before: 1_200_000,
      after: 1_200_000,
    });
  });
});
