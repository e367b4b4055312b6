export * from './pattern.js';
export {
  compilePattern,
  isStateful,
  patternProblems,
  stepMatches,
  type CompiledPattern,
  type CompiledStep,
  type StatefulPattern,
} from './compile-pattern.js';
export * from './pattern-state.js';
export { thresholdCrossing, type ThresholdCrossing } from './threshold.js';
