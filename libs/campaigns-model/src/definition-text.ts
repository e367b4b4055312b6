import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';

/** Field order of a campaign as docs/campaigns.md lists them: the YAML reads like a hand-written file. */
const FIELD_ORDER = [
  'id',
  'name',
  'description',
  'trigger',
  'audience',
  'condition',
  'schedule',
  'offers',
  'caps',
  'budget',
  'holdoutPercent',
  'attributionWindowDays',
  'priority',
  'state',
];
const ORDERS: Record<string, string[]> = {
  trigger: ['types', 'channels', 'stores'],
  schedule: ['from', 'to', 'weekdays', 'hours', 'timezone'],
  offer: ['id', 'title', 'value', 'cost', 'propensity', 'when'],
  caps: ['perCustomerPerDay', 'perCustomerLifetime', 'perChannelPerDay'],
  budget: ['maxOffers', 'maxCost'],
};

/**
 * A stored campaign definition (JSON) as YAML with its fields in a fixed order, so that two versions
 * differ in text exactly where they differ in meaning: the key order a file happened to use, and the
 * version number the store assigns, do not show. Long CEL expressions stay on one line.
 */
export function definitionYaml(definition: unknown): string {
  return stringify(canonical(definition), { lineWidth: 0 });
}

function canonical(definition: unknown): unknown {
  if (!isObject(definition)) return definition;
  // The store numbers versions: the number is not part of what a version says.
  const rest = { ...definition };
  delete rest['version'];
  const out = ordered(rest, FIELD_ORDER);
  for (const key of ['trigger', 'schedule', 'caps', 'budget'])
    if (isObject(out[key])) out[key] = ordered(out[key], ORDERS[key]);
  if (Array.isArray(out['offers']))
    out['offers'] = out['offers'].map((o: unknown) => (isObject(o) ? ordered(o, ORDERS['offer']) : o));
  return out;
}

/** The keys in `order` first, then any others in code-unit order (an unknown field still shows). */
function ordered(value: Record<string, unknown>, order: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of order) if (value[key] !== undefined) out[key] = value[key];
  for (const key of Object.keys(value).sort())
    if (!(key in out) && value[key] !== undefined) out[key] = value[key];
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export interface DiffSide {
  /** e.g. "bundang-dad-beer v2" */
  label: string;
  /** e.g. "active, applied 2026-11-24T10:00:00.000Z by kim" */
  header?: string;
  yaml: string;
}

/**
 * A unified diff of two YAML texts (the `diff` package's createTwoFilesPatch), with `context` unchanged
 * lines around each change. Equal texts give the two header lines and no hunk.
 */
export function unifiedDiff(from: DiffSide, to: DiffSide, context = 3): string {
  return createTwoFilesPatch(from.label, to.label, from.yaml, to.yaml, from.header, to.header, { context })
    .split('\n')
    .filter((line) => !/^=+$/.test(line))
    .join('\n');
}
