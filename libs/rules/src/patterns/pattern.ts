/**
 * Event patterns in the campaign format (`pattern:` of a campaign file): what a campaign can require of the
 * customer's events over time, beyond the one event it decides on. docs/patterns.md gives the semantics
 * beside Esper's and Flink CEP's; docs/campaigns.md shows each in a file.
 */

/** One step of a pattern: which events it takes. */
export interface PatternStep {
  /** event types the step takes; at least one */
  types: string[];
  /** channels it takes; absent = every channel */
  channels?: string[];
  /** CEL over `event` only (no customer, ctx or now): what the step's event must look like; absent = any */
  where?: string;
}

/** "A then B (then C…) within a duration": every step in order, the last one being the event decided on. */
export interface SequencePattern {
  /** 2 to 5 steps, in order */
  steps: PatternStep[];
  /** duration ('90m', '2h', '7d'): from the first step's event to the last step's, event time */
  within: string;
  /** an event this step takes, arriving after a partial match started, cancels every partial match */
  unless?: PatternStep;
}

/** "No `expect` event within a duration after the latest `after` event": fires on a timer. */
export interface AbsencePattern {
  after: PatternStep;
  expect: PatternStep;
  within: string;
}

/** "This event makes the window's total cross `crosses`": before it the total was below, with it at or above. */
export interface ThresholdPattern {
  measure: ThresholdMeasure;
  /** the context window the total is taken over */
  window: ThresholdWindow;
  /** the threshold, in the measure's unit (spend: major currency unit) */
  crosses: number;
}

/** "The n-th event of a kind within a sliding duration": matches on exactly the n-th, not the ones after. */
export interface CountPattern {
  of: PatternStep;
  /** sliding window ending at the event, event time: (t − within, t] */
  within: string;
  nth: number;
}

export const THRESHOLD_MEASURES = ['spend', 'purchases', 'items', 'events'] as const;
export type ThresholdMeasure = (typeof THRESHOLD_MEASURES)[number];
export const THRESHOLD_WINDOWS = ['d7', 'd30', 'd90', 'd365'] as const;
export type ThresholdWindow = (typeof THRESHOLD_WINDOWS)[number];

/** Exactly one kind per campaign. */
export type PatternDefinition =
  | { sequence: SequencePattern }
  | { absence: AbsencePattern }
  | { threshold: ThresholdPattern }
  | { count: CountPattern };

export type PatternKind = 'sequence' | 'absence' | 'threshold' | 'count';

/**
 * The type of the synthetic event an absence timer fires into decision. Not an event type adapters may send
 * (ingestion refuses it): only a campaign's trigger may name it, and only with an absence pattern.
 */
export const ABSENCE_EVENT_TYPE = 'absence';

export const MAX_SEQUENCE_STEPS = 5;
export const MAX_COUNT_NTH = 100;
/** the longest `within` a pattern may have: the context keeps 365 days */
export const MAX_WITHIN_MS = 365 * 86_400_000;

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const DURATION_PATTERN = '^[1-9][0-9]{0,5}(s|m|h|d)$';

/** '90m' → 5,400,000 ms; undefined when it is not a duration (the schema's DURATION_PATTERN). */
export function parseDuration(text: string): number | undefined {
  const m = /^([1-9][0-9]{0,5})(s|m|h|d)$/.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : undefined;
}

export function kindOf(def: PatternDefinition): PatternKind {
  return Object.keys(def)[0] as PatternKind;
}
