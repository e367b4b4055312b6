// `@nunchi/telemetry/service`: what runs a service's HTTP side — the Nest application on Fastify with its
// OpenAPI document, and the health endpoints. Apart from `@nunchi/telemetry` because it loads @nestjs/core,
// the Fastify platform and @nestjs/swagger (with es-toolkit: 585 modules): the CLI, tools and benches, which
// only trace and measure, do not load them (~0.15 s of a `nunchi` command's ~1.1 s).
export * from './bootstrap.js';
export * from './health.module.js';
