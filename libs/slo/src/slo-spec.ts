import { parse } from 'yaml';

/** How good events are told from bad ones. */
export type Indicator =
  | {
      kind: 'latency';
      /** a histogram of milliseconds (Prometheus: <metric>_bucket{le}, <metric>_count) */
      metric: string;
      /** milliseconds; an event is good when it took at most this long. Must be a bucket bound of the histogram. */
      thresholdMs: number;
    }
  | {
      kind: 'ratio';
      /** a counter of every event (Prometheus: <metric>, ending in _total) */
      metric: string;
      /** label matchers selecting the bad events among them */
      bad: Record<string, string>;
    };

export interface Slo {
  /** kebab-case, used as the `slo` label of every rule and alert */
  name: string;
  /** percent of good events, e.g. 99.9 */
  objective: number;
  description: string;
  indicator: Indicator;
}

/** An alert that is not about an error budget, copied into the rule file as written. */
export interface PlainAlert {
  name: string;
  severity: 'page' | 'ticket';
  /** a Prometheus duration, e.g. 10m */
  for: string;
  expr: string;
  summary: string;
}

export interface SloSpec {
  /** the compliance period the error budget is counted over, a Prometheus duration (e.g. 28d) */
  period: string;
  slos: Slo[];
  alerts: PlainAlert[];
}

/** slo/slo.yaml does not describe objectives this project can generate rules for; every problem is listed. */
export class SloSpecInvalidError extends Error {
  override readonly name = 'SloSpecInvalidError';
  constructor(readonly problems: string[]) {
    super(`slo/slo.yaml is invalid:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const DURATION = /^\d+[smhdw]$/;
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const ALERT_NAME = /^[A-Z][A-Za-z0-9]*$/;

type Obj = Record<string, unknown>;
/** a scalar as text; anything else as '' (reported as missing or malformed by the caller) */
const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads slo/slo.yaml. `histogramBuckets` are the bucket bounds (milliseconds) the services export, so that a
 * latency threshold that no bucket bound matches — and Prometheus could therefore not count exactly — is refused.
 */
export function parseSloSpec(source: string, histogramBuckets: readonly number[]): SloSpec {
  const problems: string[] = [];
  const raw: unknown = parse(source);
  if (!isObj(raw)) throw new SloSpecInvalidError(['(root): expected a mapping']);
  if (raw['kind'] !== 'ServiceLevelObjectives') problems.push('kind: must be ServiceLevelObjectives');
  const period = text(raw['period']);
  if (!DURATION.test(period)) problems.push(`period: "${period}" is not a duration such as 28d`);

  const slos: Slo[] = [];
  const rawSlos = Array.isArray(raw['slos']) ? (raw['slos'] as unknown[]) : [];
  if (rawSlos.length === 0) problems.push('slos: at least one objective');
  rawSlos.forEach((s, i) => {
    const at = `slos[${i}]`;
    if (!isObj(s)) return problems.push(`${at}: expected a mapping`);
    const name = text(s['name']);
    if (!NAME.test(name)) problems.push(`${at}.name: "${name}" must be kebab-case`);
    if (slos.some((o) => o.name === name)) problems.push(`${at}.name: "${name}" appears twice`);
    const objective = s['objective'];
    if (typeof objective !== 'number' || !(objective > 0 && objective < 100))
      problems.push(`${at}.objective: a percentage strictly between 0 and 100`);
    const description = typeof s['description'] === 'string' ? s['description'].trim() : '';
    if (!description) problems.push(`${at}.description: say what a good event is`);
    const indicator = readIndicator(s['indicator'], `${at}.indicator`, histogramBuckets, problems);
    if (indicator) slos.push({ name, objective: objective as number, description, indicator });
  });

  const alerts: PlainAlert[] = [];
  const rawAlerts = Array.isArray(raw['alerts']) ? (raw['alerts'] as unknown[]) : [];
  rawAlerts.forEach((a, i) => {
    const at = `alerts[${i}]`;
    if (!isObj(a)) return problems.push(`${at}: expected a mapping`);
    const alert = {
      name: text(a['name']),
      severity: a['severity'] as PlainAlert['severity'],
      for: text(a['for']),
      expr: text(a['expr']),
      summary: text(a['summary']),
    };
    if (!ALERT_NAME.test(alert.name)) problems.push(`${at}.name: "${alert.name}" must be PascalCase`);
    if (alert.severity !== 'page' && alert.severity !== 'ticket')
      problems.push(`${at}.severity: page or ticket`);
    if (!DURATION.test(alert.for)) problems.push(`${at}.for: "${alert.for}" is not a duration`);
    if (!alert.expr) problems.push(`${at}.expr: missing`);
    if (!alert.summary) problems.push(`${at}.summary: missing`);
    alerts.push(alert);
  });
  if (problems.length) throw new SloSpecInvalidError(problems);
  return { period, slos, alerts };
}

function readIndicator(
  raw: unknown,
  at: string,
  buckets: readonly number[],
  problems: string[],
): Indicator | undefined {
  if (!isObj(raw) || Object.keys(raw).length !== 1) {
    problems.push(`${at}: exactly one of latency or ratio`);
    return undefined;
  }
  const latency = raw['latency'];
  const ratio = raw['ratio'];
  if (isObj(latency)) {
    const metric = text(latency['metric']);
    const thresholdMs = latency['thresholdMs'];
    if (!METRIC.test(metric)) problems.push(`${at}.latency.metric: "${metric}" is not a metric name`);
    if (typeof thresholdMs !== 'number' || !buckets.includes(thresholdMs))
      problems.push(
        `${at}.latency.thresholdMs: must be one of the histogram's bucket bounds (${buckets.join(', ')}), so that Prometheus counts it exactly`,
      );
    return { kind: 'latency', metric, thresholdMs: thresholdMs as number };
  }
  if (isObj(ratio)) {
    const metric = text(ratio['metric']);
    if (!METRIC.test(metric) || !metric.endsWith('_total'))
      problems.push(`${at}.ratio.metric: "${metric}" must be a counter name ending in _total`);
    const bad = ratio['bad'];
    if (!isObj(bad) || Object.keys(bad).length === 0) {
      problems.push(`${at}.ratio.bad: label matchers selecting the bad events`);
      return undefined;
    }
    return {
      kind: 'ratio',
      metric,
      bad: Object.fromEntries(Object.entries(bad).map(([k, v]) => [k, text(v)])),
    };
  }
  problems.push(`${at}: exactly one of latency or ratio`);
  return undefined;
}

/** The error budget: the fraction of events allowed to be bad (objective 99.9 → 0.001). */
export const errorBudget = (slo: Slo): number => Number((1 - slo.objective / 100).toPrecision(12));
