/**
 * What one CEL expression may cost. Campaign code runs on every event of every decision replica: one
 * expression that takes a second stalls every offer behind it. So cost is bounded twice:
 *
 *  - at compile time (cel-cost.ts), from the expression's shape and the contracts' bounds on the data
 *    (an event has at most 500 categories, ctx.recent at most 20 entries, …): an expression whose
 *    worst case exceeds `maxCost` is refused — by validate, test, simulate and apply alike;
 *  - at run time, by a meter that counts comprehension steps in the same units and stops an
 *    evaluation past `maxCost` with CelBudgetExceededError (the campaign loses with reason `error`),
 *    for data beyond the bounds the compile-time estimate assumed.
 *
 * A cost unit is about one node evaluation in cel-js (tens of nanoseconds); walking 10 characters
 * of a string or 10 elements of a list is one unit too (cel-go's traversal factor). docs/cel-reference.md
 * ("Limits") lists these figures for campaign authors.
 */
export const CEL_LIMITS = Object.freeze({
  /** AST nodes in one expression */
  maxAstNodes: 1_000,
  /** parser nesting (parentheses, member chains, operators) */
  maxDepth: 32,
  /** a comprehension (all, exists, exists_one, filter, map) inside another's predicate, at most this deep */
  maxComprehensionNesting: 2,
  /** elements of one list literal */
  maxListElements: 500,
  /** entries of one map literal */
  maxMapEntries: 200,
  /** worst-case cost units of one evaluation (≈ 5 ms of CPU) */
  maxCost: 100_000,
});

/** An evaluation spent more than CEL_LIMITS.maxCost: it is stopped rather than allowed to run on. */
export class CelBudgetExceededError extends Error {
  override readonly name = 'CelBudgetExceededError';
  constructor(readonly limit: number) {
    super(`CEL evaluation stopped: it exceeded its budget of ${limit} cost units`);
  }
}

/**
 * The run-time meter. Evaluation is synchronous and one expression never evaluates another, so one
 * counter for the process is exact: `startMetering` resets it before each evaluation and
 * comprehension steps `spend` from it.
 */
let spent = 0;

export function startMetering(): void {
  spent = 0;
}

/** Charge `units`; throws once the evaluation is over budget. */
export function spend(units: number): void {
  spent += units;
  if (spent > CEL_LIMITS.maxCost) throw new CelBudgetExceededError(CEL_LIMITS.maxCost);
}
