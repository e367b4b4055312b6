import type { ASTNode } from '@marcbachmann/cel-js';
import {
  ATTRIBUTE_BOUNDS,
  MAX_KEY_LENGTH,
  MAX_KEYS,
  MAX_PURCHASE_LINES,
  MAX_STRING_LENGTH,
  NAME_BOUNDS,
} from '@nunchi/contracts';
import { RECENT_MAX } from '@nunchi/context-model';
import { CEL_LIMITS, spend } from './cel-budget.js';
import { CEL_TYPES } from './cel-environment.js';
import { compilePattern, InvalidRegexError, matchesDynamic } from './cel-regex.js';

/**
 * The worst-case cost of a type-checked CEL expression, and the run-time guards that go with it.
 *
 * The estimate walks the expression once, carrying for every value an upper bound on its size
 * (characters of a string, elements of a list, entries of a map — a `Shape`). Sizes of the data come
 * from the contracts: an event has at most 500 lines, so `event.categories` at most 500 names of at
 * most 100 characters; `ctx.recent` holds at most 20 events; attributes at most 50. A comprehension
 * costs its range's size times its predicate, so nesting multiplies; string and list functions cost
 * one unit per 10 characters or elements they walk; `matches` costs (input/10) × (pattern/4), the
 * bound of an automaton (cel-go's figures). What cannot be known — the distinct stores and
 * categories of a customer's year — is assumed (ASSUMED_DIMENSIONS); the run-time meter covers a
 * customer beyond it.
 *
 * The same walk returns the guards to install on the compiled expression: a meter on every
 * comprehension step (CEL_LIMITS.maxCost per evaluation) and RE2 in place of cel-js's backtracking
 * `matches`.
 */

/** Upper bound on a value's size: characters, elements or entries (1 for scalars and messages). */
interface Shape {
  readonly n: number;
  /** list element or map value */
  readonly item?: Shape;
  /** map key */
  readonly key?: Shape;
}

/** distinct stores, categories or channels in one customer's context: not bounded by a contract */
export const ASSUMED_DIMENSIONS = 1_000;
/** one unit per this many characters or elements walked */
const TRAVERSAL = 0.1;
/** a regular expression's pattern costs one unit per this many characters (× the input's units) */
const REGEX_PATTERN = 0.25;

const SCALAR: Shape = { n: 1 };
const str = (n: number): Shape => ({ n });
const list = (n: number, item: Shape): Shape => ({ n, item });
const map = (n: number, key: Shape, item: Shape): Shape => ({ n, key, item });
/** anything in event.payload: the body's own limits bound it */
const DYN: Shape = (() => {
  const d: { n: number; item?: Shape; key?: Shape } = { n: Math.max(MAX_STRING_LENGTH, MAX_KEYS) };
  d.item = d;
  d.key = str(MAX_KEY_LENGTH);
  return d;
})();

/** Fields whose size a contract bounds more tightly than the general string/collection limit. */
const FIELD_SHAPES: Record<string, Shape> = {
  'Event.categories': list(MAX_PURCHASE_LINES, str(NAME_BOUNDS.category.maxLength)),
  'Event.skus': list(MAX_PURCHASE_LINES, str(NAME_BOUNDS.sku.maxLength)),
  'Event.payload': DYN,
  'Context.recent': list(RECENT_MAX, SCALAR),
  'Context.store': map(ASSUMED_DIMENSIONS, str(MAX_KEY_LENGTH), SCALAR),
  'Context.category': map(ASSUMED_DIMENSIONS, str(NAME_BOUNDS.category.maxLength), SCALAR),
  'Context.channel': map(ASSUMED_DIMENSIONS, str(MAX_KEY_LENGTH), SCALAR),
  'Customer.attributes': map(
    ATTRIBUTE_BOUNDS.maxEntries,
    str(ATTRIBUTE_BOUNDS.maxKeyLength),
    str(ATTRIBUTE_BOUNDS.maxValueLength),
  ),
};

function typeShape(type: string | undefined): Shape {
  if (type === undefined || type === 'dyn') return DYN;
  if (type === 'string' || type === 'bytes') return str(MAX_STRING_LENGTH);
  const l = /^list<(.+)>$/.exec(type);
  if (l) return list(MAX_KEYS, typeShape(l[1]));
  const m = /^map<([^,]+),\s*(.+)>$/.exec(type);
  if (m) return map(MAX_KEYS, typeShape(m[1]), typeShape(m[2]));
  return SCALAR;
}

function larger(a: Shape | undefined, b: Shape | undefined): Shape | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  if (a === b || a === DYN || b === DYN) return a === DYN ? a : b === DYN ? b : a;
  return { n: Math.max(a.n, b.n), item: larger(a.item, b.item), key: larger(a.key, b.key) };
}

/** What cel-js keeps on a node that this file reads (its public type declares only op and args). */
interface Node {
  readonly op: string;
  readonly args: unknown;
  readonly start?: number;
  readonly end?: number;
  readonly checkedType?: { readonly name: string };
  readonly meta: { readonly alternate?: Node };
  /** a call's implementation, set by the type check (rcall: receives [receiver, ...args]) */
  handle?: (args: unknown[]) => unknown;
}
interface Comprehension {
  readonly args: { iterCtx?: { setIterValue: (v: unknown, ev: unknown) => unknown } };
}

interface Estimate {
  /** worst case of the whole node, comprehension iterations included */
  readonly cost: number;
  /** the node's cost when each comprehension inside counts only once (what the meter does not see) */
  readonly flat: number;
  readonly shape: Shape;
}

/** A guard to put on the checked AST once the expression is accepted. */
type Guard =
  { kind: 'meter'; node: Comprehension; weight: number } | { kind: 're2'; node: Node; pattern?: string };

/** Why an expression is refused: a message and where in the source. */
export interface CostRefusal {
  readonly kind: 'cost' | 'regex';
  readonly offset: number;
  readonly message: string;
}

class Refused extends Error {
  constructor(readonly refusal: CostRefusal) {
    super(refusal.message);
  }
}

const QUANTIFIERS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const WALKING = new Set(['contains', 'startsWith', 'endsWith', 'indexOf', 'lastIndexOf']);
const RESHAPING = new Set(['lowerAscii', 'upperAscii', 'trim', 'substring']);

export interface CostAnalysis {
  /** worst-case units of one evaluation */
  readonly cost: number;
  /** install the run-time meter and RE2 on the checked AST (call once, after accepting) */
  readonly install: () => void;
  /** whether the expression has comprehensions (and so must be metered) */
  readonly metered: boolean;
}

/** Estimate, check against CEL_LIMITS, and hand back the guards; or say why the expression is refused. */
export function analyseCost(ast: ASTNode, source: string): CostAnalysis | CostRefusal {
  const guards: Guard[] = [];
  /** the most expensive comprehension or call, to name it when the whole is over budget */
  let costliest: { at: number; cost: number; why: string } | undefined;
  const note = (node: Node, cost: number, why: () => string) => {
    if (costliest === undefined || cost > costliest.cost)
      costliest = { at: node.start ?? 0, cost, why: why() };
  };
  const text = (node: Node) => source.slice(node.start ?? 0, node.end ?? node.start ?? 0);

  const estimate = (node: Node, vars: ReadonlyMap<string, Shape>, nesting: number): Estimate => {
    const sub = (n: Node, v = vars, d = nesting) => estimate(n, v, d);
    const sum = (parts: Estimate[], extra = 0): { cost: number; flat: number } => ({
      cost: 1 + extra + parts.reduce((s, p) => s + p.cost, 0),
      flat: 1 + extra + parts.reduce((s, p) => s + p.flat, 0),
    });
    const typeName = node.checkedType?.name;
    switch (node.op) {
      case 'value': {
        const v = node.args;
        const shape =
          typeof v === 'string' ? str(v.length) : v instanceof Uint8Array ? str(v.length) : SCALAR;
        return { cost: 1, flat: 1, shape };
      }
      case 'id':
        return { cost: 1, flat: 1, shape: vars.get(node.args as string) ?? SCALAR };
      case '.':
      case '[]': {
        const [target, key] = node.args as [Node, Node | string];
        const t = sub(target);
        const parts = typeof key === 'string' ? [t] : [t, sub(key)];
        const parentType = target.checkedType?.name;
        let shape: Shape;
        if (typeof key === 'string' && parentType !== undefined && Object.hasOwn(CEL_TYPES, parentType)) {
          shape =
            FIELD_SHAPES[`${parentType}.${key}`] ??
            typeShape((CEL_TYPES as Record<string, Record<string, string>>)[parentType][key]);
        } else shape = t.shape.item ?? typeShape(typeName);
        return { ...sum(parts), shape };
      }
      case 'list': {
        const items = (node.args as Node[]).map((n) => sub(n));
        const item = items.reduce<Shape | undefined>((a, b) => larger(a, b.shape), undefined);
        return { ...sum(items), shape: list(items.length, item ?? SCALAR) };
      }
      case 'map': {
        const entries = (node.args as Array<[Node, Node]>).map(([k, v]) => [sub(k), sub(v)] as const);
        const key = entries.reduce<Shape | undefined>((a, [k]) => larger(a, k.shape), undefined);
        const item = entries.reduce<Shape | undefined>((a, [, v]) => larger(a, v.shape), undefined);
        return { ...sum(entries.flat()), shape: map(entries.length, key ?? SCALAR, item ?? SCALAR) };
      }
      case '!_':
      case '-_':
        return { ...sum([sub(node.args as Node)]), shape: SCALAR };
      case '?:': {
        const [c, l, r] = (node.args as Node[]).map((n) => sub(n));
        return { ...sum([c, l, r]), shape: larger(l.shape, r.shape)! };
      }
      case 'call':
      case 'rcall':
        return call(node, vars, nesting);
      default: {
        // binary operators, && and ||
        const [l, r] = (node.args as Node[]).map((n) => sub(n));
        const collection = (e: Estimate, n: Node) => isCollection(n.checkedType?.name) || e.shape === DYN;
        let walk = 0;
        let shape: Shape = SCALAR;
        const [ln, rn] = node.args as Node[];
        if (node.op === '+' && (collection(l, ln) || isString(ln) || collection(r, rn) || isString(rn))) {
          shape = { n: l.shape.n + r.shape.n, item: larger(l.shape.item, r.shape.item) };
          walk = TRAVERSAL * shape.n;
        } else if (node.op === 'in' && !rn.checkedType?.name.startsWith('map<')) walk = TRAVERSAL * r.shape.n;
        else if ((node.op === '==' || node.op === '!=') && (collection(l, ln) || collection(r, rn)))
          walk = TRAVERSAL * Math.min(l.shape.n, r.shape.n);
        return { ...sum([l, r], walk), shape };
      }
    }
  };

  const call = (node: Node, vars: ReadonlyMap<string, Shape>, nesting: number): Estimate => {
    const isMethod = node.op === 'rcall';
    const [name, receiverNode, argNodes] = isMethod
      ? (node.args as [string, Node, Node[]])
      : [(node.args as [string, Node[]])[0], undefined, (node.args as [string, Node[]])[1]];

    if (isMethod && QUANTIFIERS.has(name) && node.meta.alternate?.op === 'comprehension')
      return comprehension(node, name, receiverNode!, argNodes, vars, nesting);
    if (isMethod && name === 'bind' && receiverNode!.op === 'id' && receiverNode!.args === 'cel') {
      const [variable, init, body] = argNodes;
      const i = estimate(init, vars, nesting);
      const b = estimate(body, new Map(vars).set(variable.args as string, i.shape), nesting);
      return { cost: 1 + i.cost + b.cost, flat: 1 + i.flat + b.flat, shape: b.shape };
    }
    if (!isMethod && name === 'has') {
      const a = estimate(argNodes[0], vars, nesting);
      return { cost: 1 + a.cost, flat: 1 + a.flat, shape: SCALAR };
    }

    const receiver = receiverNode && estimate(receiverNode, vars, nesting);
    const args = argNodes.map((a) => estimate(a, vars, nesting));
    const parts = receiver ? [receiver, ...args] : args;
    const base = {
      cost: 1 + parts.reduce((s, p) => s + p.cost, 0),
      flat: 1 + parts.reduce((s, p) => s + p.flat, 0),
    };
    const charged = (extra: number, shape: Shape): Estimate => ({
      cost: base.cost + extra,
      flat: base.flat + extra,
      shape,
    });
    const input = receiver?.shape ?? args[0]?.shape ?? SCALAR;

    if (isMethod && name === 'matches') {
      const patternNode = argNodes[0];
      const literal =
        patternNode.op === 'value' && typeof patternNode.args === 'string' ? patternNode.args : undefined;
      if (literal !== undefined) {
        const compiled = compilePattern(literal);
        if ('problem' in compiled)
          throw new Refused({
            kind: 'regex',
            offset: patternNode.start ?? 0,
            message: `matches() takes an RE2 regular expression: ${compiled.problem}`,
          });
      }
      guards.push({ kind: 're2', node, pattern: literal });
      const extra = Math.ceil(TRAVERSAL * input.n) * Math.ceil(REGEX_PATTERN * args[0].shape.n);
      note(node, extra, () => `matches() on up to ${input.n} characters costs up to ${fmt(extra)}`);
      return charged(extra, SCALAR);
    }
    if (isMethod && WALKING.has(name)) return charged(TRAVERSAL * input.n, SCALAR);
    if (isMethod && RESHAPING.has(name)) return charged(TRAVERSAL * input.n, input);
    if (isMethod && name === 'split') return charged(TRAVERSAL * input.n, list(input.n + 1, input));
    if (isMethod && name === 'join') {
      const length = input.n * (input.item?.n ?? 1) + input.n * (args[0]?.shape.n ?? 0);
      return charged(TRAVERSAL * length, str(length));
    }
    if (name === 'size') return charged(0, SCALAR);
    if (name === 'string') return charged(0, str(Math.max(32, input.n)));
    return charged(0, typeShape(node.checkedType?.name));
  };

  const comprehension = (
    node: Node,
    name: string,
    receiverNode: Node,
    argNodes: Node[],
    vars: ReadonlyMap<string, Shape>,
    nesting: number,
  ): Estimate => {
    if (nesting + 1 > CEL_LIMITS.maxComprehensionNesting)
      throw new Refused({
        kind: 'cost',
        offset: node.start ?? 0,
        message: `${name}() is inside ${nesting} other comprehension${nesting === 1 ? '' : 's'}; at most ${CEL_LIMITS.maxComprehensionNesting} levels of comprehension are allowed (each level multiplies the work per event)`,
      });
    const range = estimate(receiverNode, vars, nesting);
    const overMap = receiverNode.checkedType?.name.startsWith('map<') ?? false;
    const element = (overMap ? range.shape.key : range.shape.item) ?? DYN;
    const inner = new Map(vars).set(argNodes[0].args as string, element);
    const steps = argNodes.slice(1).map((a) => estimate(a, inner, nesting + 1));
    const stepCost = 1 + steps.reduce((s, p) => s + p.cost, 0);
    const stepFlat = 1 + steps.reduce((s, p) => s + p.flat, 0);
    const cost = 1 + range.cost + range.shape.n * stepCost;
    note(
      node,
      cost,
      () =>
        `${name}() runs its predicate up to ${fmt(range.shape.n)} times (${text(receiverNode)} holds up to ${fmt(range.shape.n)} ${overMap ? 'entries' : 'elements'}), at up to ${fmt(stepCost)} each`,
    );
    guards.push({ kind: 'meter', node: node.meta.alternate as unknown as Comprehension, weight: stepFlat });
    const transform = steps[steps.length - 1];
    const shape =
      name === 'map'
        ? list(range.shape.n, transform.shape)
        : name === 'filter'
          ? list(range.shape.n, element)
          : SCALAR;
    return { cost, flat: 1 + range.flat, shape };
  };

  let total: Estimate;
  try {
    total = estimate(ast as unknown as Node, new Map(), 0);
  } catch (e) {
    if (e instanceof Refused) return e.refusal;
    throw e;
  }
  const cost = Math.ceil(total.cost);
  if (cost > CEL_LIMITS.maxCost) {
    const where = costliest ? `; ${costliest.why}` : '';
    return {
      kind: 'cost',
      offset: costliest?.at ?? 0,
      message: `costs up to ${fmt(cost)} units per evaluation, over the budget of ${fmt(CEL_LIMITS.maxCost)}${where} (docs/cel-reference.md#limits)`,
    };
  }
  const metered = guards.some((g) => g.kind === 'meter');
  return { cost, metered, install: () => guards.forEach(installGuard) };
}

export function isCostRefusal(x: CostAnalysis | CostRefusal): x is CostRefusal {
  return (x as CostRefusal).kind !== undefined;
}

function isCollection(type: string | undefined): boolean {
  return type !== undefined && (type.startsWith('list') || type.startsWith('map') || type === 'dyn');
}

function isString(n: Node): boolean {
  return n.checkedType?.name === 'string';
}

function fmt(n: number): string {
  return Math.ceil(n).toLocaleString('en-US');
}

/**
 * The guards reach into cel-js 8's evaluator (a spec pins that they work):
 *  - a comprehension's iteration context is created by the type check and reused by every
 *    evaluation; each step calls its `setIterValue` outside the predicate's error capture, so a
 *    meter there stops a runaway loop at once, nested loops included;
 *  - a method call's `handle` is chosen by the type check: `matches` gets RE2 instead of RegExp.
 */
function installGuard(g: Guard): void {
  if (g.kind === 'meter') {
    const ctx = g.node.args.iterCtx;
    if (!ctx) throw new Error('cel-js internals changed: a checked comprehension has no iteration context');
    const next = ctx.setIterValue;
    const weight = g.weight;
    ctx.setIterValue = function (this: unknown, v: unknown, ev: unknown) {
      spend(weight);
      return next.call(this, v, ev);
    };
    return;
  }
  const pattern = g.pattern;
  if (pattern !== undefined) {
    const compiled = compilePattern(pattern);
    if ('problem' in compiled) throw new InvalidRegexError(compiled.problem);
    const re = compiled.re;
    g.node.handle = (a: unknown[]) => re.test(textOf(a[0]));
  } else {
    g.node.handle = (a: unknown[]) => {
      if (typeof a[1] !== 'string') throw new InvalidRegexError('matches() needs a string pattern');
      return matchesDynamic(textOf(a[0]), a[1]);
    };
  }
}

function textOf(v: unknown): string {
  if (typeof v !== 'string') throw new InvalidRegexError(`matches() applies to a string, not ${typeof v}`);
  return v;
}
