export * from './core.js';
export * from './events.js';
export * from './context.js';
export * from './validate.js';
export * from './describe.js';
export * from './dto-check.js';
export * from './text.js';
