export * from './refusal.js';
export * from './caller.js';
export * from './jwt-verifier.js';
export * from './caller-resolver.js';
export * from './auth.metrics.js';
export * from './auth.guard.js';
export * from './audit.interceptor.js';
export * from './auth.module.js';
