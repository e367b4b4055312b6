import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { didYouMean, normalizeStrings, type ProblemDetail } from '@nunchi/contracts';
import type { CampaignDefinition } from './campaign.js';
import { campaignSchema } from './campaign.schema.js';
import { CampaignInvalidError } from './campaign-invalid.error.js';
import { compileExpression, isCelProblem, type CompiledExpression } from './cel-expression.js';
import { scheduleProblems } from './schedule.js';
import { patternProblems } from './patterns/compile-pattern.js';
import { ABSENCE_EVENT_TYPE, type PatternDefinition } from './patterns/pattern.js';

let validator: ValidateFunction | undefined;

function validatorOf(): ValidateFunction {
  return (validator ??= new Ajv({ allErrors: true, strict: true }).compile(campaignSchema));
}

export interface ParseOptions {
  /**
   * IANA time zone of a campaign without `schedule` (or without `schedule.timezone`): the business time
   * zone (NUNCHI_TIMEZONE). Without it, a campaign must say its time zone itself.
   */
  timeZone?: string;
}

/**
 * Read a campaign from YAML (or JSON) text (a string) or from a plain object, and check it completely:
 * shape (the JSON Schema), then what a schema cannot see (CEL syntax and types, dates, time zone,
 * unique offer ids). Throws CampaignInvalidError listing every problem by path.
 *
 * A campaign without `schedule` runs always, in `options.timeZone`: the result then has
 * `schedule: { timezone }` (a schedule without `timezone` gets it too), so what is stored says its zone.
 */
export function parseCampaign(input: unknown, options: ParseOptions = {}): CampaignDefinition {
  let doc: Document | undefined;
  let lines: LineCounter | undefined;
  let value: unknown = input;
  if (typeof input === 'string') {
    lines = new LineCounter();
    doc = parseDocument(input, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length > 0) {
      throw new CampaignInvalidError(
        doc.errors.map((e) => {
          const pos = lines!.linePos(e.pos[0]);
          return {
            path: '',
            message: `YAML: ${e.message.split('\n')[0]} (line ${pos.line}, column ${pos.col})`,
          };
        }),
      );
    }
    value = doc.toJS();
  }
  const normalized = withDefaultTimeZone(normalize(value), options.timeZone);
  const problems = validateCampaign(normalized, (path) => fileLineOf(doc, lines, path));
  if (problems.length > 0) throw new CampaignInvalidError(problems, idOf(normalized));
  return normalized as CampaignDefinition;
}

/** Every problem of a campaign object, [] when it is valid. */
export function validateCampaign(
  value: unknown,
  fileLine?: (path: (string | number)[]) => number | undefined,
): ProblemDetail[] {
  return checkCampaign(value, fileLine).problems;
}

/**
 * validateCampaign, also handing back the compiled expressions by path ("audience", "offers[1].when")
 * so that compileCampaign does not compile them twice.
 */
export function checkCampaign(
  value: unknown,
  fileLine?: (path: (string | number)[]) => number | undefined,
): { problems: ProblemDetail[]; expressions: Map<string, CompiledExpression> } {
  const expressions = new Map<string, CompiledExpression>();
  const problems = collectProblems(value, expressions, fileLine);
  return { problems, expressions };
}

function collectProblems(
  value: unknown,
  expressions: Map<string, CompiledExpression>,
  fileLine?: (path: (string | number)[]) => number | undefined,
): ProblemDetail[] {
  const validate = validatorOf();
  const problems: ProblemDetail[] = [];
  if (!validate(value)) {
    for (const e of validate.errors ?? []) problems.push(problemOfAjv(e));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return dedupe(problems);
  const c = value as Partial<Record<keyof CampaignDefinition, unknown>>;

  const cel = (expr: unknown, path: (string | number)[]) => {
    if (typeof expr !== 'string') return; // the schema reports it
    if (expr.trim() === '') {
      problems.push({ path: pathText(path), message: 'is empty (leave the field out to mean "always")' });
      return;
    }
    const compiled = compileExpression(expr);
    if (!isCelProblem(compiled)) {
      expressions.set(pathText(path), compiled);
      return;
    }
    const line = fileLine?.(path);
    const where = `line ${compiled.line}, column ${compiled.column}${line !== undefined ? ` (file line ${line})` : ''}`;
    problems.push({
      path: pathText(path),
      message: `CEL ${compiled.kind} error at ${where}: ${compiled.summary}\n${compiled.excerpt}`,
    });
  };
  cel(c.audience, ['audience']);
  cel(c.condition, ['condition']);
  const triggerTypes = (c.trigger as { types?: unknown } | undefined)?.types;
  const shapeValid = problems.length === 0;
  if (shapeValid && c.pattern !== undefined && Array.isArray(triggerTypes))
    problems.push(...patternProblems(c.pattern as PatternDefinition, triggerTypes as string[]));
  else if (shapeValid && Array.isArray(triggerTypes) && triggerTypes.includes(ABSENCE_EVENT_TYPE))
    problems.push({
      path: 'trigger.types',
      message: `${ABSENCE_EVENT_TYPE} is fired only by an absence pattern`,
    });

  if (Array.isArray(c.offers)) {
    const seen = new Set<string>();
    c.offers.forEach((o: unknown, i) => {
      if (o === null || typeof o !== 'object') return;
      const offer = o as Record<string, unknown>;
      if (typeof offer.id === 'string') {
        if (seen.has(offer.id))
          problems.push({ path: `offers[${i}].id`, message: `duplicate offer id "${offer.id}"` });
        seen.add(offer.id);
      }
      cel(offer.when, ['offers', i, 'when']);
    });
  }
  if (c.schedule === undefined) {
    problems.push({
      path: 'schedule',
      message: 'is required when no default time zone (NUNCHI_TIMEZONE) is given',
    });
  } else if (c.schedule !== null && typeof c.schedule === 'object' && !Array.isArray(c.schedule)) {
    if ((c.schedule as { timezone?: unknown }).timezone === undefined)
      problems.push({
        path: 'schedule.timezone',
        message: 'is required when no default time zone (NUNCHI_TIMEZONE) is given',
      });
    else problems.push(...scheduleProblems(c.schedule as CampaignDefinition['schedule'], 'schedule'));
  }
  return dedupe(problems);
}

function problemOfAjv(e: ErrorObject): ProblemDetail {
  const base = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path: pathText([...base, String(params.missingProperty)]), message: 'is required' };
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      return {
        path: pathText([...base, field]),
        message: `is not a known field${didYouMean(field, knownFieldsAt(e.schemaPath))}`,
      };
    }
    case 'enum':
      return {
        path: pathText(base),
        message: `must be one of: ${(params.allowedValues as unknown[]).join(', ')}`,
      };
    case 'pattern': {
      const last = base[base.length - 1];
      const hint =
        last === 'hours'
          ? 'must be HH:MM-HH:MM, several separated by commas (e.g. "10:00-23:00")'
          : last === 'from' || last === 'to'
            ? 'must be a date YYYY-MM-DD'
            : last === 'within'
              ? 'must be a duration such as 90m, 2h or 30d (s, m, h, d)'
              : `must match ${String(params.pattern)}`;
      return { path: pathText(base), message: hint };
    }
    default:
      return { path: pathText(base), message: e.message ?? e.keyword };
  }
}

/** The field names the schema allows where an additionalProperties error was found ("#/properties/trigger/additionalProperties"). */
function knownFieldsAt(schemaPath: string): string[] {
  let node: unknown = campaignSchema;
  for (const segment of schemaPath.split('/').slice(1, -1)) {
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
  }
  const properties = (node as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties ? Object.keys(properties) : [];
}

/** ["offers", 1, "when"] → "offers[1].when" (the contracts' ProblemDetail path style). */
function pathText(path: (string | number)[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s;
}

function dedupe(problems: ProblemDetail[]): ProblemDetail[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.path}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function idOf(v: unknown): string | undefined {
  const id = v !== null && typeof v === 'object' ? (v as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** No schedule: always, in the default time zone; a schedule without timezone: in the default time zone. */
function withDefaultTimeZone(v: unknown, timeZone: string | undefined): unknown {
  if (timeZone === undefined || v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const c = v as Record<string, unknown>;
  if (c.schedule === undefined) return { ...c, schedule: { timezone: timeZone } };
  const s = c.schedule;
  if (
    s !== null &&
    typeof s === 'object' &&
    !Array.isArray(s) &&
    (s as { timezone?: unknown }).timezone === undefined
  )
    return { ...c, schedule: { ...s, timezone: timeZone } };
  return v;
}

/**
 * Every string in Unicode NFC, as ingestion stores event names ('분유' typed with decomposed jamo in an
 * editor equals the till's '분유'); dates given as Date objects (YAML 1.1 timestamps, hand-built objects)
 * become 'YYYY-MM-DD'.
 */
function normalize(input: unknown): unknown {
  const v = normalizeStrings(input);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const c = v as Record<string, unknown>;
  const s = c.schedule;
  if (s === null || typeof s !== 'object' || Array.isArray(s)) return v;
  const sched = { ...(s as Record<string, unknown>) };
  let changed = false;
  for (const k of ['from', 'to']) {
    const d = sched[k];
    if (d instanceof Date && !Number.isNaN(d.getTime())) {
      sched[k] = d.toISOString().slice(0, 10);
      changed = true;
    }
  }
  return changed ? { ...c, schedule: sched } : v;
}

function fileLineOf(
  doc: Document | undefined,
  lines: LineCounter | undefined,
  path: (string | number)[],
): number | undefined {
  if (!doc || !lines) return undefined;
  const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
  return node?.range ? lines.linePos(node.range[0]).line : undefined;
}
