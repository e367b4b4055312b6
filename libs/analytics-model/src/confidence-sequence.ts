/**
 * Always-valid intervals: the asymptotic confidence sequences of Waudby-Smith, Arbour, Sinha, Kennedy and
 * Ramdas, "Time-uniform central limit theory and asymptotic confidence sequences" (Annals of Statistics,
 * 2024; arXiv:2103.06476), in the parameterisation GrowthBook uses (gbstats, frequentist/tests.py). With
 * probability ≥ 1 − α (asymptotically) the interval covers the true effect at EVERY sample size at once,
 * so a marketer may look after each event and stop whenever they like without inflating false positives.
 *
 *   ρ          = sqrt( (−2 ln α + ln(−2 ln α + 1)) / N* )         N*: the sample size the sequence is
 *                                                                     tightest at (tuning parameter)
 *   halfwidth  = sqrt(s²) · sqrt( 2 (N ρ² + 1) / (N² ρ²) · ln( sqrt(N ρ² + 1) / α ) )
 *
 * where N is the total sample size (both groups) and s² = N · Var(estimate).
 */

/** @default: 95 % sequences */
export const DEFAULT_ALPHA = 0.05;
/** the total sample size the sequence is tightest at; GrowthBook's default */
export const DEFAULT_TUNING_SAMPLE_SIZE = 5_000;

export function sequenceRho(alpha: number, tuningSampleSize: number): number {
  return Math.sqrt((-2 * Math.log(alpha) + Math.log(-2 * Math.log(alpha) + 1)) / tuningSampleSize);
}

/**
 * Half the width of the sequence at total sample size n for an estimate whose variance is `variance`
 * (so s² = n · variance). 0 for n = 0 is never asked: callers need both groups non-empty.
 */
export function sequenceHalfwidth(
  variance: number,
  n: number,
  alpha = DEFAULT_ALPHA,
  tuningSampleSize = DEFAULT_TUNING_SAMPLE_SIZE,
): number {
  const rho = sequenceRho(alpha, tuningSampleSize);
  const nr2 = n * rho * rho;
  const discriminant = ((2 * (nr2 + 1)) / (n * n * rho * rho)) * Math.log(Math.sqrt(nr2 + 1) / alpha);
  return Math.sqrt(n * variance) * Math.sqrt(discriminant);
}

/** Sufficient statistics of one group: customers and the sums of a per-customer metric and its square. */
export interface Moments {
  n: number;
  sum: number;
  sumSquares: number;
}

export const mean = (m: Moments): number => (m.n > 0 ? m.sum / m.n : 0);
/** sample variance (n − 1); 0 below two observations */
export function variance(m: Moments): number {
  if (m.n < 2) return 0;
  return Math.max(0, (m.sumSquares - (m.sum * m.sum) / m.n) / (m.n - 1));
}

export interface Interval {
  lower: number;
  upper: number;
  /** 1 − α */
  level: number;
}

export interface Effect {
  /** treatment − holdout, in the metric's unit */
  absolute: number;
  /** always-valid interval of the absolute effect */
  interval: Interval;
  /** treatment / holdout − 1; null when the holdout mean is 0 (undefined ratio) */
  relative: number | null;
  /** always-valid interval of the relative effect (log scale, see effectOf); null with `relative` or when treatment is 0 */
  relativeInterval: Interval | null;
}

/**
 * Treatment vs holdout: the difference of means with its confidence sequence, and the relative lift
 * μt/μc − 1 with a sequence on the log scale, ln μ̂t − ln μ̂c ± halfwidth(Var(μ̂t)/μt² + Var(μ̂c)/μc²),
 * mapped back (so the interval is asymmetric, as a ratio's is). GrowthBook applies the delta method to the
 * ratio itself; on the log scale the simulation study (coverage-simulation.spec.ts) covers ≥ 95 % already
 * at 10 conversions per group, where the ratio scale covered 90-95 %. Null until both groups have a customer.
 */
export function effectOf(
  treatment: Moments,
  holdout: Moments,
  alpha = DEFAULT_ALPHA,
  tuningSampleSize = DEFAULT_TUNING_SAMPLE_SIZE,
): Effect | null {
  if (treatment.n < 1 || holdout.n < 1) return null;
  const n = treatment.n + holdout.n;
  const mt = mean(treatment);
  const mc = mean(holdout);
  const varT = variance(treatment) / treatment.n;
  const varC = variance(holdout) / holdout.n;
  const level = 1 - alpha;
  const absolute = mt - mc;
  const h = sequenceHalfwidth(varT + varC, n, alpha, tuningSampleSize);
  const interval = { lower: absolute - h, upper: absolute + h, level };
  if (mc <= 0) return { absolute, interval, relative: null, relativeInterval: null };
  const relative = mt / mc - 1;
  if (mt <= 0) return { absolute, interval, relative, relativeInterval: null };
  const logRatio = Math.log(mt / mc);
  const hr = sequenceHalfwidth(varT / (mt * mt) + varC / (mc * mc), n, alpha, tuningSampleSize);
  return {
    absolute,
    interval,
    relative,
    relativeInterval: { lower: Math.exp(logRatio - hr) - 1, upper: Math.exp(logRatio + hr) - 1, level },
  };
}
