// The contracts without their validators: subjects, partitions, error shapes, event and decision ids, the
// contact policy, sealed fields and the message types. An entry of its own ('@nunchi/contracts/core') so that
// what only names subjects or builds ids (config, the CLI, the repositories) does not load class-validator
// and its dependencies; '@nunchi/contracts' is all of it, the event and context DTOs and their checks too.
export * from './subjects.js';
export * from './partition.js';
export * from './errors.js';
export * from './event-names.js';
export * from './context-parts.js';
export * from './decisions.js';
export * from './messages.js';
export * from './contact-policy.js';
export * from './sealed.js';
export * from './did-you-mean.js';
