export * from './telemetry.js';
export * from './latency.js';
export * from './nest/readiness.js';
export * from './nest/http-error.filter.js';
export * from './nest/access.decorators.js';
// runService, bootOrExit and HealthModule: '@nunchi/telemetry/service' (src/nest/service.ts)
