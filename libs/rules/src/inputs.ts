import type { CelVars } from './cel-environment.js';
import type { CompiledExpression, VarPath } from './cel-expression.js';

/**
 * What an expression saw, for explanations. Only called for candidates and for the losses being
 * reported, never on the path that decides.
 */

const MAX_DETAIL = 300;

/** Read a static path on the activation, as CEL would (total maps included). */
export function resolvePath(vars: CelVars, segments: readonly string[]): unknown {
  let cur: unknown = vars[segments[0] as keyof CelVars];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    if (cur instanceof Map) cur = (cur as Map<string, unknown>).get(seg);
    else if (cur !== null && typeof cur === 'object') cur = (cur as Record<string, unknown>)[seg];
    else return undefined;
  }
  return cur;
}

/** A value as a JSON-safe plain value: NaN (unknown number) → null, Map → object, class → object. */
export function plainValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (v === null || typeof v !== 'object') return v === undefined ? null : v;
  if (depth > 3) return '…';
  if (Array.isArray(v)) return v.map((x) => plainValue(x, depth + 1));
  const out: Record<string, unknown> = {};
  if (v instanceof Map) for (const [k, x] of v as Map<string, unknown>) out[k] = plainValue(x, depth + 1);
  else for (const k of Object.keys(v)) out[k] = plainValue((v as Record<string, unknown>)[k], depth + 1);
  return out;
}

/** A value as short text: 'Bundang', 52, unknown, ['beer', 'infant_formula']. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number') return Number.isNaN(v) ? 'unknown' : String(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === undefined || v === null) return 'null';
  if (Array.isArray(v)) {
    const shown = v.slice(0, 6).map(formatValue).join(', ');
    return `[${shown}${v.length > 6 ? `, …${v.length - 6} more` : ''}]`;
  }
  if (v instanceof Map) return `{${v.size} keys}`;
  return '{…}';
}

/**
 * "customer.age=52, customer.region='Bundang'". `memo` (one per evaluation and zone) keeps formatted
 * paths: many losing campaigns read the same customer fields.
 */
export function describeInputs(expr: CompiledExpression, vars: CelVars, memo?: Map<string, string>): string {
  let s = '';
  for (const p of expr.paths) {
    let part = memo?.get(p.text);
    if (part === undefined) {
      part = `${p.text}=${formattedPath(vars, p.segments)}`;
      memo?.set(p.text, part);
    }
    s = s === '' ? part : `${s}, ${part}`;
    if (s.length > MAX_DETAIL) return `${s.slice(0, MAX_DETAIL)}…`;
  }
  return s;
}

/** A path's value as text; a part of the context left out of the snapshot (ContextSnapshot.omitted) says so. */
function formattedPath(vars: CelVars, segments: readonly string[]): string {
  try {
    return formatValue(resolvePath(vars, segments));
  } catch {
    return 'not carried';
  }
}

/** Adds path → plain value to `out`; `memo` (one per evaluation and zone) shares values between candidates. */
export function addInputs(
  out: Record<string, unknown>,
  paths: readonly VarPath[],
  vars: CelVars,
  memo: Map<string, unknown>,
): void {
  for (const p of paths) {
    if (p.text in out) continue;
    let v = memo.get(p.text);
    if (v === undefined) memo.set(p.text, (v = plainValue(resolvePath(vars, p.segments))));
    out[p.text] = v;
  }
}

/** The short message of a cel-js error (its `summary`), without the source excerpt. */
export function errorSummary(e: unknown): string {
  const err = e as { summary?: unknown; message?: unknown };
  if (typeof err?.summary === 'string') return err.summary;
  return (typeof err?.message === 'string' ? err.message : String(e)).split('\n')[0];
}
