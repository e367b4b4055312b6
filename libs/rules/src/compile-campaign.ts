import type {
  CampaignBudget,
  CampaignCaps,
  CampaignDefinition,
  CampaignState,
  TriggerEventType,
} from './campaign.js';
import { CampaignInvalidError } from './campaign-invalid.error.js';
import { GUARD_KEYS, type CompiledExpression, type Guard } from './cel-expression.js';
import { checkCampaign } from './parse-campaign.js';
import { compileSchedule, type CompiledSchedule } from './schedule.js';
import { compilePattern, type CompiledPattern } from './patterns/compile-pattern.js';

export interface CompiledOffer {
  readonly id: string;
  readonly title: string;
  readonly value: number;
  readonly cost: number;
  readonly propensity: number;
  /** value × propensity */
  readonly expectedValue: number;
  readonly when: CompiledExpression | undefined;
}

/** A campaign ready to decide: every expression compiled and type-checked once. */
export interface CompiledCampaign {
  readonly id: string;
  readonly version: number;
  readonly name: string;
  readonly state: CampaignState;
  readonly priority: number;
  readonly holdoutPercent: number;
  readonly trigger: {
    readonly types: readonly TriggerEventType[];
    /** undefined = any */
    readonly channels: readonly string[] | undefined;
    /** undefined = any */
    readonly stores: readonly string[] | undefined;
  };
  readonly audience: CompiledExpression | undefined;
  readonly condition: CompiledExpression | undefined;
  /** the campaign's event pattern (docs/patterns.md), if any: it is considered only on events that complete it */
  readonly pattern: CompiledPattern | undefined;
  readonly schedule: CompiledSchedule;
  readonly offers: readonly CompiledOffer[];
  readonly caps: CampaignCaps;
  readonly budget: CampaignBudget;
  /** the guard the campaign set indexes it by (see cel-expression.ts), if any */
  readonly guard: (Guard & { readonly from: 'audience' | 'condition' }) | undefined;
  /** every guard of audience and condition; the set checks the others when the index hits */
  readonly guards: readonly Guard[];
  readonly definition: CampaignDefinition;
}

/**
 * Compile a campaign definition (as parseCampaign returns it). `version` is the store's version;
 * without it, the file's, else 1. Throws CampaignInvalidError listing every problem.
 */
export function compileCampaign(def: CampaignDefinition, version?: number): CompiledCampaign {
  const { problems, expressions } = checkCampaign(def);
  if (problems.length > 0) throw new CampaignInvalidError(problems, def?.id);

  // "true" (or nothing) is no test at all: skip it
  const expr = (source: string | undefined, path: string): CompiledExpression | undefined =>
    source === undefined || source.trim() === 'true' ? undefined : expressions.get(path);
  const audience = expr(def.audience, 'audience');
  const condition = expr(def.condition, 'condition');
  const offers: CompiledOffer[] = def.offers.map((o, i) => {
    const propensity = o.propensity ?? 1;
    return {
      id: o.id,
      title: o.title,
      value: o.value,
      cost: o.cost ?? o.value,
      propensity,
      expectedValue: o.value * propensity,
      when: expr(o.when, `offers[${i}].when`),
    };
  });

  return Object.freeze({
    id: def.id,
    version: version ?? def.version ?? 1,
    name: def.name,
    state: def.state ?? 'active',
    priority: def.priority ?? 0,
    holdoutPercent: def.holdoutPercent ?? 0,
    trigger: Object.freeze({
      types: [...def.trigger.types],
      channels: def.trigger.channels,
      stores: def.trigger.stores,
    }),
    audience,
    condition,
    pattern: def.pattern ? compilePattern(def.id, def.pattern, def.trigger.types) : undefined,
    schedule: compileSchedule(def.schedule),
    offers,
    caps: { ...def.caps },
    budget: { ...def.budget },
    guard: chooseGuard(audience, condition),
    guards: [...(audience?.guards ?? []), ...(condition?.guards ?? [])],
    definition: def,
  });
}

/** The most selective guard: fewest values, then GUARD_KEYS order (event facts before profile facts). */
function chooseGuard(
  audience: CompiledExpression | undefined,
  condition: CompiledExpression | undefined,
): CompiledCampaign['guard'] {
  let best: CompiledCampaign['guard'];
  const consider = (e: CompiledExpression | undefined, from: 'audience' | 'condition') => {
    for (const g of e?.guards ?? []) {
      if (
        !best ||
        g.values.length < best.values.length ||
        (g.values.length === best.values.length && GUARD_KEYS.indexOf(g.key) < GUARD_KEYS.indexOf(best.key))
      ) {
        best = { ...g, from };
      }
    }
  };
  consider(condition, 'condition');
  consider(audience, 'audience');
  return best;
}
