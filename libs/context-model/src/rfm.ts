/**
 * RFM scores with fixed, documented thresholds (docs/context-model.md): fixed rather than quantiles of the
 * customer base, so a score means the same thing live and in simulation, and does not drift as the base grows.
 */

/** Four cut-offs per score, for scores 5, 4, 3 and 2; anything beyond the last scores 1. */
export interface RfmThresholds {
  /** days since the last purchase, ascending: ≤ [0] → 5, ≤ [1] → 4, ≤ [2] → 3, ≤ [3] → 2, else 1 */
  recencyDays: readonly [number, number, number, number];
  /** purchases in the last 365 days, descending: ≥ [0] → 5, ≥ [1] → 4, ≥ [2] → 3, ≥ [3] → 2, else 1 */
  frequency: readonly [number, number, number, number];
  /** spend in the last 365 days, major currency unit (KRW), descending: ≥ [0] → 5, … else 1 */
  monetary: readonly [number, number, number, number];
}

/**
 * Defaults for a Korean hypermarket: a weekly shop (52 trips, ~100,000 KRW each ≈ 5,000,000 KRW a year)
 * scores 5 on every axis; twice a month 4; monthly 3; quarterly 2.
 */
export const DEFAULT_RFM_THRESHOLDS: RfmThresholds = Object.freeze({
  recencyDays: Object.freeze([7, 30, 90, 180] as const),
  frequency: Object.freeze([52, 24, 12, 4] as const),
  monetary: Object.freeze([5_000_000, 2_000_000, 800_000, 200_000] as const),
});

export interface RfmScores {
  /** recency 1 (long ago) … 5 (recent); 0 when no purchase in 365 days */
  r: number;
  /** frequency 1 … 5; 0 when no purchase in 365 days */
  f: number;
  /** monetary 1 … 5; 0 when no purchase in 365 days */
  m: number;
}

function atMost(value: number, cuts: readonly number[]): number {
  for (let i = 0; i < cuts.length; i++) if (value <= cuts[i]) return 5 - i;
  return 1;
}

function atLeast(value: number, cuts: readonly number[]): number {
  for (let i = 0; i < cuts.length; i++) if (value >= cuts[i]) return 5 - i;
  return 1;
}

/**
 * @param daysSinceLastPurchase whole local days, -1 when none in 365 days
 * @param purchases365 purchases in the 365-day window
 * @param spend365 spend in the 365-day window, major currency unit
 */
export function rfmScores(
  daysSinceLastPurchase: number,
  purchases365: number,
  spend365: number,
  thresholds: RfmThresholds = DEFAULT_RFM_THRESHOLDS,
): RfmScores {
  if (daysSinceLastPurchase < 0 || purchases365 <= 0) return { r: 0, f: 0, m: 0 };
  return {
    r: atMost(daysSinceLastPurchase, thresholds.recencyDays),
    f: atLeast(purchases365, thresholds.frequency),
    m: atLeast(spend365, thresholds.monetary),
  };
}
