// Nest pieces of telemetry for the services' HTTP side: readiness, the error filter and the access decorators.
// An entry of its own ('@nunchi/telemetry/nest') so that '@nunchi/telemetry' loads no Nest.
export * from './readiness.js';
export * from './http-error.filter.js';
export * from './access.decorators.js';
