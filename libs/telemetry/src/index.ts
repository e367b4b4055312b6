export * from './telemetry.js';
export * from './latency.js';
export * from './nest/readiness.js';
export * from './nest/health.module.js';
export * from './nest/bootstrap.js';
export * from './nest/http-error.filter.js';
export * from './nest/access.decorators.js';
