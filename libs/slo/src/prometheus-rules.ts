import { errorBudget, type Slo, type SloSpec } from './slo-spec.js';

/** A Prometheus rule file (the format `promtool check rules` reads). */
export interface RuleFile {
  groups: Array<{ name: string; interval?: string; rules: Rule[] }>;
}
export type Rule =
  | { record: string; expr: string; labels?: Record<string, string> }
  | {
      alert: string;
      expr: string;
      for?: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    };

/** The windows error ratios are recorded over: every one the burn-rate alerts below need. */
export const ERROR_RATIO_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
type Window = (typeof ERROR_RATIO_WINDOWS)[number];

/**
 * Multi-window, multi-burn-rate alerts as in Google's SRE workbook ("Alerting on SLOs", recommendation 6):
 * each fires when the error ratio exceeds burnRate × budget over both a long window (the budget really is
 * burning) and a short one (it still is, so the alert resets soon after a fix). Burn rate 14.4 over 1 h
 * spends 2 % of a 30-day budget; 6 over 6 h, 5 %; 3 over 1 d and 1 over 3 d, 10 %.
 */
export const BURN_RATE_ALERTS = [
  {
    speed: 'Fast',
    severity: 'page',
    for: '2m',
    windows: [
      { long: '1h', short: '5m', burnRate: 14.4 },
      { long: '6h', short: '30m', burnRate: 6 },
    ],
  },
  {
    speed: 'Slow',
    severity: 'ticket',
    for: '15m',
    windows: [
      { long: '1d', short: '2h', burnRate: 3 },
      { long: '3d', short: '6h', burnRate: 1 },
    ],
  },
] as const satisfies ReadonlyArray<{
  speed: string;
  severity: string;
  for: string;
  windows: ReadonlyArray<{ long: Window; short: Window; burnRate: number }>;
}>;

/** Recording-rule names (level:metric:operations, the Prometheus naming convention). */
export const RULE_NAMES = {
  errorRatio: (window: string) => `nunchi:slo_errors:ratio_rate${window}`,
  objective: 'nunchi:slo_objective:ratio',
  budget: 'nunchi:slo_error_budget:ratio',
  periodErrorRatio: 'nunchi:slo_errors:ratio_period',
  budgetRemaining: 'nunchi:slo_error_budget_remaining:ratio',
} as const;

/** `DecidedWithin100msFastBurn` for slo decided-within-100ms. */
export const burnAlertName = (slo: Slo, speed: 'Fast' | 'Slow'): string =>
  `${slo.name
    .split('-')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('')}${speed}Burn`;

const matchers = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(',');

/** PromQL: the fraction of bad events over the window, summed over every instance. */
export function errorRatioExpr(slo: Slo, window: string): string {
  const i = slo.indicator;
  if (i.kind === 'latency') {
    return (
      `1 - (sum(rate(${i.metric}_bucket{le="${i.thresholdMs}"}[${window}]))` +
      ` / sum(rate(${i.metric}_count[${window}])))`
    );
  }
  // `or vector(0)`: before the first failure there is no series to select, and the ratio is 0, not absent.
  return (
    `(sum(rate(${i.metric}{${matchers(i.bad)}}[${window}])) or vector(0))` +
    ` / sum(rate(${i.metric}[${window}]))`
  );
}

/** The rule file for every SLO of the spec: error ratios per window, objective and budget, alerts. */
export function prometheusRules(spec: SloSpec): RuleFile {
  const groups: RuleFile['groups'] = [];
  for (const slo of spec.slos) {
    const labels = { slo: slo.name };
    const budget = errorBudget(slo);
    const recording: Rule[] = ERROR_RATIO_WINDOWS.map((w) => ({
      record: RULE_NAMES.errorRatio(w),
      expr: errorRatioExpr(slo, w),
      labels,
    }));
    recording.push(
      { record: RULE_NAMES.objective, expr: `vector(${slo.objective / 100})`, labels },
      { record: RULE_NAMES.budget, expr: `vector(${budget})`, labels },
      // The period's error ratio as the mean of the 5-minute ratios: cheap (no raw counters over weeks);
      // it weighs quiet and busy hours alike, which the report from traces (nunchi slo report) does not.
      {
        record: RULE_NAMES.periodErrorRatio,
        expr: `avg_over_time(${RULE_NAMES.errorRatio('5m')}{slo="${slo.name}"}[${spec.period}])`,
        labels,
      },
      {
        record: RULE_NAMES.budgetRemaining,
        expr: `1 - ${RULE_NAMES.periodErrorRatio}{slo="${slo.name}"} / ${budget}`,
        labels,
      },
    );
    groups.push({ name: `slo-${slo.name}-recording`, rules: recording });

    const alerts: Rule[] = BURN_RATE_ALERTS.map((a) => ({
      alert: burnAlertName(slo, a.speed),
      expr: a.windows
        .map(
          (w) =>
            `(${RULE_NAMES.errorRatio(w.long)}{slo="${slo.name}"} > ${w.burnRate} * ${budget}` +
            ` and ${RULE_NAMES.errorRatio(w.short)}{slo="${slo.name}"} > ${w.burnRate} * ${budget})`,
        )
        .join(' or '),
      for: a.for,
      labels: { severity: a.severity, slo: slo.name },
      annotations: {
        summary:
          `${slo.name}: the error budget burns ${a.windows.map((w) => `${w.burnRate}× over ${w.long}`).join(' or ')}` +
          ` (objective ${slo.objective} %)`,
        description: slo.description,
        runbook: `docs/runbook.md#${burnAlertName(slo, a.speed).toLowerCase()}`,
      },
    }));
    groups.push({ name: `slo-${slo.name}-alerts`, rules: alerts });
  }
  if (spec.alerts.length) {
    groups.push({
      name: 'nunchi-alerts',
      rules: spec.alerts.map((a) => ({
        alert: a.name,
        expr: a.expr,
        for: a.for,
        labels: { severity: a.severity },
        annotations: { summary: a.summary, runbook: `docs/runbook.md#${a.name.toLowerCase()}` },
      })),
    });
  }
  return { groups };
}
