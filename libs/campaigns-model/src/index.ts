export * from './lifecycle.js';
export * from './audit.js';
export * from './definition-text.js';
export * from './draft-check.js';
