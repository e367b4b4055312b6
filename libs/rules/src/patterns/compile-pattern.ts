import type { AcceptedEvent } from '@nunchi/contracts';
import type { ProblemDetail } from '@nunchi/contracts/core';
import { CelEvent, type CelVars } from '../cel-environment.js';
import { compileExpression, isCelProblem, type CompiledExpression } from '../cel-expression.js';
import {
  ABSENCE_EVENT_TYPE,
  MAX_WITHIN_MS,
  kindOf,
  parseDuration,
  type PatternDefinition,
  type PatternKind,
  type PatternStep,
  type ThresholdMeasure,
  type ThresholdWindow,
} from './pattern.js';

/** A step ready to test events: `matches` never throws (a `where` that errs is false). */
export interface CompiledStep {
  readonly types: ReadonlySet<string>;
  readonly channels: ReadonlySet<string> | undefined;
  readonly where: CompiledExpression | undefined;
  /** "product_view on app where 'infant_formula' in event.categories": for reasons */
  readonly text: string;
}

interface Common {
  /**
   * campaign id and a fingerprint of the pattern: the key of the customer's state for it. A new version of
   * the campaign with the same pattern keeps the state; a changed pattern starts afresh.
   */
  readonly key: string;
  readonly campaignId: string;
}

export type CompiledPattern =
  | (Common & {
      readonly kind: 'sequence';
      readonly steps: readonly CompiledStep[];
      readonly withinMs: number;
      readonly unless: CompiledStep | undefined;
    })
  | (Common & {
      readonly kind: 'absence';
      readonly after: CompiledStep;
      readonly expect: CompiledStep;
      readonly withinMs: number;
      /** "purchase" — the reason names it: "no purchase since 2026-10-30" */
      readonly expectText: string;
    })
  | (Common & {
      readonly kind: 'count';
      readonly of: CompiledStep;
      readonly withinMs: number;
      readonly nth: number;
    })
  | (Common & {
      readonly kind: 'threshold';
      readonly measure: ThresholdMeasure;
      readonly window: ThresholdWindow;
      readonly crosses: number;
    });

/** The patterns whose state lives per customer (threshold needs none: see threshold.ts). */
export type StatefulPattern = Exclude<CompiledPattern, { kind: 'threshold' }>;

export function isStateful(p: CompiledPattern): p is StatefulPattern {
  return p.kind !== 'threshold';
}

/**
 * Every problem of a pattern that the JSON Schema cannot see: durations in range, `where` CEL that reads
 * only `event`, and a trigger that hears the events the pattern completes on. [] when valid.
 */
export function patternProblems(def: PatternDefinition, triggerTypes: readonly string[]): ProblemDetail[] {
  return compileOrProblems(def, 'pattern', triggerTypes).problems;
}

/** Compile a valid pattern (parseCampaign has checked it). Throws RangeError naming the first problem otherwise. */
export function compilePattern(
  campaignId: string,
  def: PatternDefinition,
  triggerTypes: readonly string[],
): CompiledPattern {
  const { problems, pattern } = compileOrProblems(def, 'pattern', triggerTypes, campaignId);
  if (!pattern || problems.length > 0)
    throw new RangeError(
      `pattern of ${campaignId}: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
    );
  return pattern;
}

/** Does the event satisfy the step? */
export function stepMatches(step: CompiledStep, event: AcceptedEvent, celEvent?: CelEvent): boolean {
  if (!step.types.has(event.type)) return false;
  if (step.channels && !step.channels.has(event.channel)) return false;
  if (!step.where) return true;
  try {
    // `where` reads only `event` (patternProblems refuses anything else)
    return step.where.evaluate({ event: celEvent ?? new CelEvent(event) } as CelVars) === true;
  } catch {
    return false;
  }
}

function compileOrProblems(
  def: PatternDefinition,
  path: string,
  triggerTypes: readonly string[],
  campaignId = '',
): { problems: ProblemDetail[]; pattern?: CompiledPattern } {
  const problems: ProblemDetail[] = [];
  const kind: PatternKind = kindOf(def);
  const at = `${path}.${kind}`;
  const within = (text: string, where: string): number => {
    const ms = parseDuration(text);
    if (ms === undefined)
      problems.push({ path: where, message: 'must be a duration such as 90m, 2h or 30d' });
    else if (ms > MAX_WITHIN_MS)
      problems.push({ path: where, message: 'must be at most 365d (the context keeps 365 days)' });
    return ms ?? 0;
  };
  const step = (s: PatternStep, where: string): CompiledStep => {
    let compiled: CompiledExpression | undefined;
    if (s.where !== undefined) {
      const c = compileExpression(s.where);
      if (isCelProblem(c))
        problems.push({ path: `${where}.where`, message: `CEL ${c.kind} error: ${c.summary}\n${c.excerpt}` });
      else if (c.paths.some((p) => p.segments[0] !== 'event'))
        problems.push({
          path: `${where}.where`,
          message: `may read only event (a step is tested on an event long before the decision): ${c.paths
            .filter((p) => p.segments[0] !== 'event')
            .map((p) => p.text)
            .join(', ')}`,
        });
      else compiled = c;
    }
    return {
      types: new Set(s.types),
      channels: s.channels ? new Set(s.channels) : undefined,
      where: compiled,
      text: stepText(s),
    };
  };
  const hears = (types: readonly string[], where: string) => {
    const missing = types.filter((t) => !triggerTypes.includes(t));
    if (missing.length > 0)
      problems.push({
        path: 'trigger.types',
        message: `must include ${missing.join(', ')}: the pattern completes on ${where}`,
      });
  };
  const key = `${campaignId}#${fingerprint(def)}`;
  let pattern: CompiledPattern;
  if ('sequence' in def) {
    const d = def.sequence;
    const steps = d.steps.map((s, i) => step(s, `${at}.steps[${i}]`));
    hears(d.steps[d.steps.length - 1].types, `its last step's events`);
    pattern = {
      kind: 'sequence',
      key,
      campaignId,
      steps,
      withinMs: within(d.within, `${at}.within`),
      unless: d.unless ? step(d.unless, `${at}.unless`) : undefined,
    };
  } else if ('absence' in def) {
    const d = def.absence;
    hears([ABSENCE_EVENT_TYPE], 'a timer (the synthetic absence event)');
    pattern = {
      kind: 'absence',
      key,
      campaignId,
      after: step(d.after, `${at}.after`),
      expect: step(d.expect, `${at}.expect`),
      withinMs: within(d.within, `${at}.within`),
      expectText: d.expect.types.join(' or '),
    };
  } else if ('count' in def) {
    const d = def.count;
    hears(d.of.types, 'the events it counts');
    pattern = {
      kind: 'count',
      key,
      campaignId,
      of: step(d.of, `${at}.of`),
      withinMs: within(d.within, `${at}.within`),
      nth: d.nth,
    };
  } else {
    const d = def.threshold;
    pattern = {
      kind: 'threshold',
      key,
      campaignId,
      measure: d.measure,
      window: d.window,
      crosses: d.crosses,
    };
  }
  if (kind !== 'absence' && triggerTypes.includes(ABSENCE_EVENT_TYPE))
    problems.push({
      path: 'trigger.types',
      message: `${ABSENCE_EVENT_TYPE} is fired only by an absence pattern`,
    });
  return { problems, pattern };
}

function stepText(s: PatternStep): string {
  let t = s.types.join('|');
  if (s.channels) t += ` on ${s.channels.join('|')}`;
  if (s.where) t += ` where ${s.where}`;
  return t;
}

/** FNV-1a of the pattern's canonical JSON (keys sorted), 8 hex digits. */
function fingerprint(def: PatternDefinition): string {
  const text = canonical(def);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
