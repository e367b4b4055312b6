export * from './telemetry.js';
export * from './latency.js';
// The SDK (startTelemetry): '@nunchi/telemetry/sdk' (src/sdk.ts). Readiness, ApiError, HttpErrorFilter and the
// access decorators: '@nunchi/telemetry/nest'. runService, bootOrExit and HealthModule: '@nunchi/telemetry/service'.
