/**
 * Sample-ratio mismatch: is the holdout share of customers what the campaign's holdoutPercent asks for?
 * A mismatch means assignment or counting is broken (customers lost on one side), and then no lift figure
 * can be trusted. Pearson's chi-square with one degree of freedom over the two groups.
 */

/** p-values below this flag a mismatch: strict, because the check runs continuously (as GrowthBook's 0.001) */
export const SRM_P_THRESHOLD = 0.001;

export interface SampleRatioCheck {
  /** 0..1, from the campaign's holdoutPercent */
  expectedHoldoutShare: number;
  /** 0..1; null without customers */
  observedHoldoutShare: number | null;
  chiSquare: number;
  /** P(χ²₁ ≥ chiSquare); 1 when the check cannot run */
  pValue: number;
  mismatch: boolean;
}

export function sampleRatioCheck(
  treated: number,
  heldOut: number,
  expectedHoldoutShare: number,
): SampleRatioCheck {
  const total = treated + heldOut;
  if (total === 0 || expectedHoldoutShare <= 0 || expectedHoldoutShare >= 1)
    return {
      expectedHoldoutShare,
      observedHoldoutShare: total ? heldOut / total : null,
      chiSquare: 0,
      pValue: 1,
      // With no holdout asked for, any held-out customer is a mismatch.
      mismatch: expectedHoldoutShare <= 0 && heldOut > 0,
    };
  const expectedHoldout = total * expectedHoldoutShare;
  const expectedTreated = total - expectedHoldout;
  const chiSquare =
    (heldOut - expectedHoldout) ** 2 / expectedHoldout + (treated - expectedTreated) ** 2 / expectedTreated;
  const pValue = chiSquareSurvival1(chiSquare);
  return {
    expectedHoldoutShare,
    observedHoldoutShare: heldOut / total,
    chiSquare,
    pValue,
    mismatch: pValue < SRM_P_THRESHOLD,
  };
}

/** P(χ² ≥ x) with one degree of freedom: erfc(sqrt(x / 2)). */
export function chiSquareSurvival1(x: number): number {
  if (x <= 0) return 1;
  return erfc(Math.sqrt(x / 2));
}

/**
 * Complementary error function, Numerical Recipes' Chebyshev fit (erfcc): relative error below 1.2e-7
 * everywhere, ample for a p-value compared with 0.001.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
