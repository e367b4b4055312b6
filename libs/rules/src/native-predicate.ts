import type { ASTNode } from '@marcbachmann/cel-js';
import { CEL_TYPES, CEL_VARIABLES, type CelVars } from './cel-environment.js';

/**
 * A fast path for the simple tests most campaign rules are made of.
 *
 * Every expression is compiled and type-checked by cel-js. In addition, each top-level conjunct of
 * the form `<typed field> <op> <literal>` — `customer.age >= 30`, `customer.region == 'Bundang'`,
 * `customer.creditTier in ['A', 'B']`, `'beer' in event.categories`, `customer.marketingConsent`,
 * `ctx.category.beer.d30.spend > 0`, `now.hour >= 18`, and !, &&, || of such tests — is also compiled
 * to a plain JS function over the same activation (see build()). Those tests cannot fail at run time (every field
 * is present, maps are total), so:
 *
 *  - when every conjunct has a predicate, the predicates ARE the expression and cel-js is not run;
 *  - otherwise the predicates are a prefilter: when one is false the expression is false (CEL's &&
 *    is false as soon as one operand is false, errors elsewhere notwithstanding), and cel-js runs
 *    only when they all hold.
 *
 * Equivalence with cel-js is checked by a differential spec (native-predicate.spec.ts).
 */
export type NativePredicate = (vars: CelVars) => boolean;

export interface NativePlan {
  /** equivalent to the whole expression */
  exact: NativePredicate | undefined;
  /** necessary condition (some conjuncts only) */
  prefilter: NativePredicate | undefined;
}

export function planNative(ast: ASTNode): NativePlan {
  const parts: ASTNode[] = [];
  flatten(ast, parts);
  const constants: unknown[] = [];
  const sources: string[] = [];
  for (const p of parts) {
    const mark = constants.length;
    const src = predicate(p, constants);
    if (src !== undefined) sources.push(src);
    else constants.length = mark; // keep K dense: equal shapes give equal sources
  }
  if (sources.length === 0) return { exact: undefined, prefilter: undefined };
  const fn = build(sources.join(' && '), constants);
  return sources.length === parts.length
    ? { exact: fn, prefilter: undefined }
    : { exact: undefined, prefilter: fn };
}

/**
 * One small JS function per expression shape. Generated source gives every field read its own inline
 * cache (one receiver class each), where shared closures made every read megamorphic; this halved the
 * cost of the rules. The source is assembled only from the type-checked AST: field names checked
 * against CEL_TYPES (identifiers), everything else — literals, map keys, lists — passed in as constants.
 */
function build(body: string, constants: unknown[]): NativePredicate {
  let factory = factories.get(body);
  if (factory === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see above: the source holds no campaign text
    factory = new Function(
      'K',
      `'use strict'; return function nativePredicate(v) { return ${body}; };`,
    ) as Factory;
    factories.set(body, factory);
  }
  return factory(constants);
}

type Factory = (k: unknown[]) => NativePredicate;

/**
 * Literals and map keys live in K, so the source is only the expression's shape
 * (`v.customer.age >= K[0] && v.customer.region === K[1]`): campaigns of the same shape share one
 * compiled function (compiling one costs tens of microseconds; 10,000 campaigns have a few hundred shapes).
 */
const factories = new Map<string, Factory>();

/** Registers a constant and returns its JS source (K[i]). */
function constant(k: unknown[], value: unknown): string {
  k.push(value);
  return `K[${k.length - 1}]`;
}

function flatten(node: ASTNode, out: ASTNode[]): void {
  if (node.op === '&&') {
    flatten(node.args[0], out);
    flatten(node.args[1], out);
  } else out.push(node);
}

interface TypedPath {
  type: string;
  /** JS source reading the value from the activation `v` */
  src: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The static type of a field chain (from CEL_TYPES) and JS source reading it; undefined when not simple. */
function typedPath(node: ASTNode, k: unknown[]): TypedPath | undefined {
  const segs: string[] = [];
  let n = node;
  for (;;) {
    if (n.op === 'id') {
      segs.unshift(n.args);
      break;
    }
    if (n.op === '.') {
      segs.unshift(n.args[1]);
      n = n.args[0];
    } else if (n.op === '[]' && n.args[1].op === 'value' && typeof n.args[1].args === 'string') {
      segs.unshift(n.args[1].args);
      n = n.args[0];
    } else return undefined;
  }
  const root = segs[0] as keyof typeof CEL_VARIABLES;
  if (!Object.hasOwn(CEL_VARIABLES, root)) return undefined;
  let type: string = CEL_VARIABLES[root];
  let src = `v.${root}`;
  for (let i = 1; i < segs.length; i++) {
    const key = segs[i];
    if (type.startsWith('map<string, ')) {
      type = type.slice('map<string, '.length, -1);
      if (type === 'dyn') return undefined;
      src += `.get(${constant(k, key)})`; // total maps: never undefined (cel-environment.ts)
    } else if (Object.hasOwn(CEL_TYPES, type)) {
      const fields = CEL_TYPES[type as keyof typeof CEL_TYPES] as Record<string, string>;
      if (!Object.hasOwn(fields, key) || !IDENTIFIER.test(key)) return undefined;
      type = fields[key];
      src += `.${key}`;
    } else return undefined;
  }
  return { type, src };
}

type Literal = number | string | boolean;

function literal(node: ASTNode): Literal | undefined {
  if (node.op === 'value') {
    const v = node.args;
    if (typeof v === 'bigint') return Number(v);
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
    return undefined;
  }
  if (node.op === '-_' && node.args.op === 'value') {
    const v = node.args.args;
    if (typeof v === 'bigint' || typeof v === 'number') return -Number(v);
  }
  return undefined;
}

const FLIP: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' };

/** JS source of a test that cannot throw and equals the CEL node, or undefined. */
function predicate(node: ASTNode, k: unknown[]): string | undefined {
  switch (node.op) {
    case '&&':
    case '||': {
      const a = predicate(node.args[0], k);
      const b = a === undefined ? undefined : predicate(node.args[1], k);
      if (a === undefined || b === undefined) return undefined;
      return `(${a} ${node.op} ${b})`;
    }
    case '!_': {
      const a = predicate(node.args, k);
      return a === undefined ? undefined : `!${a}`;
    }
    case 'value':
      return typeof node.args === 'boolean' ? String(node.args) : undefined;
    case 'id':
    case '.':
    case '[]': {
      const p = typedPath(node, k);
      return p?.type === 'bool' ? `(${p.src} === true)` : undefined;
    }
    case '==':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=':
      return comparison(node.op, node.args[0], node.args[1], k);
    case 'in':
      return membership(node.args[0], node.args[1], k);
    default:
      return undefined;
  }
}

const JS_OP: Record<string, string> = {
  '==': '===',
  '!=': '!==',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};

function comparison(op: string, left: ASTNode, right: ASTNode, k: unknown[]): string | undefined {
  let lit = literal(right);
  let pathNode = left;
  if (lit === undefined) {
    lit = literal(left);
    pathNode = right;
    op = FLIP[op];
  }
  if (lit === undefined || (typeof lit === 'number' && !Number.isFinite(lit))) return undefined;
  const mark = k.length;
  const path = typedPath(pathNode, k);
  if (!path) {
    k.length = mark;
    return undefined;
  }
  const numeric = path.type === 'double' && typeof lit === 'number';
  const equality =
    (op === '==' || op === '!=') &&
    ((path.type === 'string' && typeof lit === 'string') ||
      (path.type === 'bool' && typeof lit === 'boolean'));
  if (!numeric && !equality) {
    k.length = mark;
    return undefined;
  }
  return `(${path.src} ${JS_OP[op]} ${constant(k, lit)})`;
}

function membership(left: ASTNode, right: ASTNode, k: unknown[]): string | undefined {
  // 'beer' in event.categories
  const item = literal(left);
  if (typeof item === 'string') {
    const list = typedPath(right, k);
    return list?.type === 'list<string>' ? `${list.src}.includes(${constant(k, item)})` : undefined;
  }
  // customer.creditTier in ['A', 'B'],  now.weekday in [0, 6]
  if (right.op !== 'list') return undefined;
  const values: Literal[] = [];
  for (const el of right.args) {
    const l = literal(el);
    if (l === undefined) return undefined;
    values.push(l);
  }
  const path = typedPath(left, k);
  const want = path?.type === 'string' ? 'string' : path?.type === 'double' ? 'number' : undefined;
  if (!path || !want || values.some((x) => typeof x !== want)) return undefined;
  return values.length <= 8
    ? `${constant(k, values)}.includes(${path.src})`
    : `${constant(k, new Set(values))}.has(${path.src})`;
}
