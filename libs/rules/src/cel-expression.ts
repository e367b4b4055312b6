import type { ASTNode } from '@marcbachmann/cel-js';
import { didYouMean, KEYED_CONTEXT_PARTS, type KeyedContextPart } from '@nunchi/contracts/core';
import { CEL_LIMITS, startMetering } from './cel-budget.js';
import { analyseCost, isCostRefusal } from './cel-cost.js';
import { CEL_TYPES, CEL_VARIABLES, celEnvironment, type CelVars } from './cel-environment.js';
import { planNative } from './native-predicate.js';

/** A CEL expression parsed and type-checked once; `run` evaluates it many times. */
export interface CompiledExpression {
  readonly source: string;
  /** evaluates with cel-js; throws cel-js EvaluationError on runtime errors */
  readonly run: (vars: CelVars) => unknown;
  /**
   * evaluates, through the native fast path where it applies (native-predicate.ts): same result as
   * `run`, faster; throws like `run`
   */
  readonly evaluate: (vars: CelVars) => unknown;
  /** true when `evaluate` never calls cel-js */
  readonly native: boolean;
  /** worst-case cost units of one evaluation (cel-cost.ts), at most CEL_LIMITS.maxCost */
  readonly cost: number;
  /** the variable paths the expression reads (e.g. "customer.age"), for explanations */
  readonly paths: readonly VarPath[];
  /** facts that must hold for the expression to be true: used to index campaigns (see guards below) */
  readonly guards: readonly Guard[];
  /**
   * the fields of `ctx` the expression reads (`category` for ctx.category.beer.d30.spend), `*` when it uses
   * ctx otherwise (a computed key, ctx as a value): what ENRICHED must carry for it (CampaignSet.contextPartsRead)
   */
  readonly contextFields: ReadonlySet<string>;
  /**
   * the maps of `ctx` by name (store, category, channel) the expression reads only by literal names, with
   * those names: `category` → {beer, wine} for ctx.category.beer.d30.spend > ctx.category['wine'].d7.spend.
   * A map in contextFields but not here is read whole (its size, its keys, a computed name).
   */
  readonly contextKeys: ReadonlyMap<KeyedContextPart, ReadonlySet<string>>;
}

/** A static access chain rooted at a CEL variable: customer.age, ctx.category['beer'].d30.spend. */
export interface VarPath {
  readonly text: string;
  readonly segments: readonly string[];
}

/** Scalar facts the engine can look up per event without running CEL. */
export const GUARD_KEYS = [
  'event.categories',
  'event.storeId',
  'customer.region',
  'customer.creditTier',
  'customer.gender',
] as const;
export type GuardKey = (typeof GUARD_KEYS)[number];

/**
 * "The expression is false unless `key` has one of `values`": found in a top-level && chain as
 * `'beer' in event.categories`, `customer.region == 'Bundang'`, `customer.creditTier in ['A', 'B']`,
 * or an || of such tests on one key. CEL's && is false when any operand is false (even if another
 * errs), so skipping a campaign whose guard fails never changes its outcome — only that it is not
 * "considered".
 */
export interface Guard {
  readonly key: GuardKey;
  readonly values: readonly string[];
}

export interface CelProblem {
  /** "syntax" | "type" | "regex" (not RE2) | "cost" (over the budget of cel-budget.ts) */
  readonly kind: string;
  /** the error alone, e.g. "Unexpected token: PLUS" */
  readonly summary: string;
  /** the expression line with a caret under the position */
  readonly excerpt: string;
  /** human text: kind, line/column, summary and excerpt */
  readonly message: string;
  /** 0-based offset into the expression */
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

interface CelError {
  message?: string;
  summary?: string;
  range?: { start: number; end: number };
  node?: { start?: number; pos?: number };
}

/**
 * Compile and type-check; the result is either the compiled expression or one positioned problem.
 * Campaign expressions must be bool (`anyType` lifts that, for tools that evaluate values).
 */
export function compileExpression(
  source: string,
  options: { anyType?: boolean } = {},
): CompiledExpression | CelProblem {
  let parsed;
  try {
    parsed = celEnvironment.parse(source);
  } catch (e) {
    return problemOf(source, 'syntax', e);
  }
  const checked = parsed.check();
  if (!checked.valid) return problemOf(source, 'type', checked.error);
  if (!options.anyType && checked.type !== 'bool' && checked.type !== 'dyn') {
    return positioned(source, 'type', 0, `must be a bool expression, but it is ${checked.type}`);
  }
  const ast = parsed.ast;
  const decomposed = literalNotNfc(ast);
  if (decomposed)
    return positioned(
      source,
      'syntax',
      decomposed.start ?? 0,
      'string literal is not Unicode NFC (decomposed, e.g. from \\u escapes of jamo): event names are stored NFC, so it could never match; write the characters themselves',
    );
  const analysis = analyseCost(ast, source);
  if (isCostRefusal(analysis)) return positioned(source, analysis.kind, analysis.offset, analysis.message);
  analysis.install();
  const unmetered = parsed as unknown as (vars: CelVars) => unknown;
  // only comprehensions can loop: an expression without one needs no meter
  const run = analysis.metered
    ? (vars: CelVars) => {
        startMetering();
        return unmetered(vars);
      }
    : unmetered;
  const { exact, prefilter } = planNative(ast);
  const evaluate = exact ?? (prefilter ? (v: CelVars) => (prefilter(v) ? run(v) : false) : run);
  return {
    source,
    run,
    evaluate,
    native: exact !== undefined,
    cost: analysis.cost,
    paths: collectPaths(ast),
    guards: collectGuards(ast),
    ...collectContextFields(ast),
  };
}

export function isCelProblem(x: CompiledExpression | CelProblem): x is CelProblem {
  return (x as CelProblem).kind !== undefined;
}

function problemOf(source: string, kind: string, e: unknown): CelProblem {
  const err = (e ?? {}) as CelError;
  const offset = err.range?.start ?? err.node?.start ?? err.node?.pos ?? 0;
  const summary = err.summary ?? (err.message ?? String(e)).split('\n')[0];
  return positioned(source, kind, offset, summary + suggestion(summary, err.node) + limitHint(summary));
}

/** Every declared field, by name, as a path from its variable (customer.age): for "did you mean". */
const QUALIFIED_FIELDS = new Map<string, string>();
for (const [variable, type] of Object.entries(CEL_VARIABLES))
  for (const field of Object.keys(CEL_TYPES[type]))
    if (!QUALIFIED_FIELDS.has(field)) QUALIFIED_FIELDS.set(field, `${variable}.${field}`);

/**
 * " (did you mean customer.age?)" for a misspelt field or variable: `customer.agee` (a field of the
 * accessed type), `agee` (a variable, or a field written without its variable), or "".
 */
function suggestion(summary: string, node: CelError['node']): string {
  const noKey = /^No such key: (\w+)$/.exec(summary);
  if (noKey) {
    const access = node as { op?: string; args?: [{ checkedType?: { name?: string } }, string] } | undefined;
    const typeName = access?.op === '.' ? access.args?.[0]?.checkedType?.name : undefined;
    const fields =
      typeName && Object.hasOwn(CEL_TYPES, typeName)
        ? Object.keys(CEL_TYPES[typeName as keyof typeof CEL_TYPES])
        : [];
    const chain = access?.op === '.' ? chainOf(access.args![0] as unknown as ASTNode) : undefined;
    return didYouMean(noKey[1], fields, (f) => (chain ? `${pathText(chain)}.${f}` : f));
  }
  const unknown = /^Unknown variable: (\w+)$/.exec(summary);
  if (unknown) {
    const candidates = [...Object.keys(CEL_VARIABLES), ...QUALIFIED_FIELDS.keys()];
    return didYouMean(unknown[1], candidates, (c) =>
      Object.hasOwn(CEL_VARIABLES, c) ? c : QUALIFIED_FIELDS.get(c)!,
    );
  }
  return '';
}

/** cel-js says "Exceeded maxDepth (32)": say what that limit is for. */
function limitHint(summary: string): string {
  const limit = /^Exceeded (max\w+)/.exec(summary)?.[1];
  if (limit === undefined || !Object.hasOwn(CEL_LIMITS, limit)) return '';
  return ': the expression is too large or too deeply nested for one campaign rule (docs/cel-reference.md#limits)';
}

function positioned(source: string, kind: string, offset: number, summary: string): CelProblem {
  const at = Math.max(0, Math.min(offset, source.length));
  const before = source.slice(0, at);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const column = at - lineStart + 1;
  const lineEnd = source.indexOf('\n', at);
  const text = source.slice(lineStart, lineEnd === -1 ? source.length : lineEnd);
  const excerpt = `  ${text}\n  ${' '.repeat(column - 1)}^`;
  const message = `CEL ${kind} error at line ${line}, column ${column}: ${summary}\n${excerpt}`;
  return { kind, summary, excerpt, message, offset: at, line, column };
}

// ---------------------------------------------------------------- static analysis

/** The first string literal that NFC would change. Campaign text is normalised; escapes can still spell one. */
function literalNotNfc(node: ASTNode): { start?: number } | undefined {
  if (node.op === 'value')
    return typeof node.args === 'string' && node.args.normalize('NFC') !== node.args ? node : undefined;
  for (const child of children(node)) {
    const found = literalNotNfc(child);
    if (found) return found;
  }
  return undefined;
}

function children(node: ASTNode): ASTNode[] {
  const out: ASTNode[] = [];
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) for (const y of x) visit(y);
    else if (x !== null && typeof x === 'object' && 'op' in x && 'args' in x) out.push(x as ASTNode);
  };
  if (node.op !== 'value' && node.op !== 'id') visit(node.args);
  return out;
}

/** ["ctx", "category", "beer", "d30", "spend"] for a static chain, else undefined. */
function chainOf(node: ASTNode): string[] | undefined {
  switch (node.op) {
    case 'id':
      return Object.hasOwn(CEL_VARIABLES, node.args) ? [node.args] : undefined;
    case '.': {
      const left = chainOf(node.args[0]);
      return left ? [...left, node.args[1]] : undefined;
    }
    case '[]': {
      const key = node.args[1];
      if (key.op !== 'value' || typeof key.args !== 'string') return undefined;
      const left = chainOf(node.args[0]);
      return left ? [...left, key.args] : undefined;
    }
    default:
      return undefined;
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function pathText(segments: readonly string[]): string {
  let s = segments[0];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    s += IDENT.test(seg) ? `.${seg}` : `['${seg.replace(/'/g, "\\'")}']`;
  }
  return s;
}

function collectPaths(ast: ASTNode): VarPath[] {
  const seen = new Map<string, VarPath>();
  const walk = (node: ASTNode): void => {
    const chain = chainOf(node);
    if (chain) {
      const text = pathText(chain);
      if (!seen.has(text)) seen.set(text, { text, segments: chain });
      return;
    }
    for (const c of children(node)) walk(c);
  };
  walk(ast);
  return [...seen.values()];
}

function collectContextFields(ast: ASTNode): Pick<CompiledExpression, 'contextFields' | 'contextKeys'> {
  const fields = new Set<string>();
  const keys = new Map<KeyedContextPart, Set<string>>();
  const wholeMaps = new Set<string>();
  const isCtx = (node: ASTNode) => node.op === 'id' && node.args === 'ctx';
  /** `ctx.<map by name>`: the map's part, else undefined */
  const keyedPart = (node: ASTNode): KeyedContextPart | undefined => {
    const name =
      node.op === '.' && isCtx(node.args[0])
        ? node.args[1]
        : node.op === '[]' && isCtx(node.args[0])
          ? stringLiteral(node.args[1])
          : undefined;
    return name !== undefined && KEYED.has(name) ? (name as KeyedContextPart) : undefined;
  };
  const walk = (node: ASTNode): void => {
    // ctx.category.beer, ctx.category['beer']: one entry, by a literal name
    if (node.op === '.' || node.op === '[]') {
      const part = keyedPart(node.args[0]);
      if (part) {
        const key = node.op === '.' ? node.args[1] : stringLiteral(node.args[1]);
        fields.add(part);
        if (key === undefined) {
          wholeMaps.add(part);
          walk(node.args[1] as ASTNode); // a computed name: '[]' (a '.' name is a literal)
        } else {
          let names = keys.get(part);
          if (!names) keys.set(part, (names = new Set()));
          names.add(key);
        }
        return;
      }
    }
    if (node.op === '.' && isCtx(node.args[0])) {
      fields.add(node.args[1]);
      wholeMaps.add(node.args[1]);
      return;
    }
    if (node.op === '[]' && isCtx(node.args[0])) {
      const key = stringLiteral(node.args[1]);
      fields.add(key ?? '*');
      if (key !== undefined) wholeMaps.add(key);
      if (key === undefined) walk(node.args[1]);
      return;
    }
    if (isCtx(node)) {
      fields.add('*');
      return;
    }
    for (const c of children(node)) walk(c);
  };
  walk(ast);
  for (const part of wholeMaps) keys.delete(part as KeyedContextPart);
  if (fields.has('*')) keys.clear();
  return { contextFields: fields, contextKeys: keys };
}

const KEYED: ReadonlySet<string> = new Set(KEYED_CONTEXT_PARTS);

function conjuncts(node: ASTNode, out: ASTNode[]): ASTNode[] {
  if (node.op === '&&') {
    conjuncts(node.args[0], out);
    conjuncts(node.args[1], out);
  } else out.push(node);
  return out;
}

function stringLiteral(node: ASTNode): string | undefined {
  return node.op === 'value' && typeof node.args === 'string' ? node.args : undefined;
}

function stringList(node: ASTNode): string[] | undefined {
  if (node.op !== 'list') return undefined;
  const out: string[] = [];
  for (const item of node.args) {
    const s = stringLiteral(item);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out;
}

const SCALAR_GUARDS: ReadonlySet<string> = new Set([
  'event.storeId',
  'customer.region',
  'customer.creditTier',
  'customer.gender',
]);

function guardOf(node: ASTNode): Guard | undefined {
  switch (node.op) {
    case 'in': {
      const [left, right] = node.args;
      const rightChain = chainOf(right);
      const lit = stringLiteral(left);
      if (lit !== undefined && rightChain && pathText(rightChain) === 'event.categories') {
        return { key: 'event.categories', values: [lit] };
      }
      const leftChain = chainOf(left);
      const list = stringList(right);
      if (leftChain && list) {
        const key = pathText(leftChain);
        if (SCALAR_GUARDS.has(key)) return { key: key as GuardKey, values: list };
      }
      return undefined;
    }
    case '==': {
      const [a, b] = node.args;
      const chain = chainOf(a) ?? chainOf(b);
      const lit = stringLiteral(b) ?? stringLiteral(a);
      if (!chain || lit === undefined) return undefined;
      const key = pathText(chain);
      return SCALAR_GUARDS.has(key) ? { key: key as GuardKey, values: [lit] } : undefined;
    }
    case '||': {
      const l = guardOf(node.args[0]);
      const r = l && guardOf(node.args[1]);
      if (!l || !r || l.key !== r.key) return undefined;
      return { key: l.key, values: [...new Set([...l.values, ...r.values])] };
    }
    default:
      return undefined;
  }
}

function collectGuards(ast: ASTNode): Guard[] {
  const out: Guard[] = [];
  for (const c of conjuncts(ast, [])) {
    const g = guardOf(c);
    if (g) out.push(g);
  }
  return out;
}
