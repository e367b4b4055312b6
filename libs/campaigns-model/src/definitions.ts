// Campaign definitions as text (YAML, diffs) and the checks of a draft: an entry of its own
// ('@nunchi/campaigns-model/definitions'), since it loads the YAML parser and the rules engine, which what only
// names actors or steps a lifecycle (the CLI's audit trail) does not need.
export * from './definition-text.js';
export * from './draft-check.js';
