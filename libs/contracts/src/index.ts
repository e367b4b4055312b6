export * from './subjects.js';
export * from './partition.js';
export * from './errors.js';
export * from './events.js';
export * from './context.js';
export * from './decisions.js';
export * from './validate.js';
