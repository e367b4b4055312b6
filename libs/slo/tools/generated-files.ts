import { readFileSync } from 'node:fs';
import { projectPath } from '@nunchi/config';
import { LATENCY_BUCKETS_MS } from '@nunchi/telemetry';
import { stringify } from 'yaml';
import { grafanaDashboard, parseSloSpec, prometheusRules, type SloSpec } from '../src/index.js';

export const SLO_SPEC_PATH = 'slo/slo.yaml';
export const RULES_PATH = 'slo/generated/prometheus-rules.yaml';
export const DASHBOARD_PATH = 'slo/generated/grafana-dashboard.json';

/** slo/slo.yaml, validated against the latency buckets the services export. */
export function readSloSpec(): SloSpec {
  return parseSloSpec(readFileSync(projectPath(SLO_SPEC_PATH), 'utf8'), LATENCY_BUCKETS_MS);
}

const HEADER = '# Generated from slo/slo.yaml by `npm run slo:generate`: do not edit by hand.\n';

/** Every file generated from slo/slo.yaml: repository path → content. */
export function generatedFiles(spec: SloSpec = readSloSpec()): Map<string, string> {
  return new Map([
    [RULES_PATH, HEADER + stringify(prometheusRules(spec), { lineWidth: 0, aliasDuplicateObjects: false })],
    [DASHBOARD_PATH, `${JSON.stringify(grafanaDashboard(spec), null, 2)}\n`],
  ]);
}
