import type { AcceptedEvent, ContextSnapshot } from '@nunchi/contracts';
import { WINDOW_DAYS, localDayIndex } from '@nunchi/context-model';
import type { CompiledPattern } from './compile-pattern.js';

type Threshold = Extract<CompiledPattern, { kind: 'threshold' }>;

export interface ThresholdCrossing {
  crossed: boolean;
  /** the window's total without this event, in the measure's unit */
  before: number;
  /** with it (the context the decision sees) */
  after: number;
}

/**
 * Did this event make the window's total cross the threshold? Needs no state of its own: the context the
 * decision sees already includes the event, so the total before it is that total minus what the event
 * added (nothing when the event's local day lies outside the window). Hence exact under redelivery and the
 * same live, in the dry run and in simulation, which all fold the context the same way.
 */
export function thresholdCrossing(
  p: Threshold,
  event: AcceptedEvent,
  ctx: ContextSnapshot,
  timeZone: string,
): ThresholdCrossing {
  const after = ctx.all[p.window][p.measure];
  const today = localDayIndex(Date.parse(ctx.asOf), timeZone);
  const day = localDayIndex(event.occurredAtMs, timeZone);
  const inWindow = day <= today && day > today - WINDOW_DAYS[p.window];
  const before = inWindow ? after - contribution(p.measure, event) : after;
  return { crossed: before < p.crosses && after >= p.crosses, before, after };
}

/** What one event adds to a window total of `all` (docs/context-model.md, "Daily rollups"). */
function contribution(measure: Threshold['measure'], event: AcceptedEvent): number {
  if (measure === 'events') return 1;
  if (event.type !== 'purchase') return 0;
  if (measure === 'purchases') return 1;
  const p = event.payload;
  if (measure === 'spend') return typeof p.amount === 'number' ? p.amount : 0;
  let items = 0;
  for (const line of Array.isArray(p.items) ? (p.items as Array<{ quantity?: unknown }>) : [])
    if (typeof line.quantity === 'number') items += line.quantity;
  return items;
}
