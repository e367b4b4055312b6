export * from './lifecycle.js';
export * from './audit.js';
// Definitions as text (YAML, diffs) and the checks of a draft, which load the rules engine:
// '@nunchi/campaigns-model/definitions' (src/definitions.ts).
