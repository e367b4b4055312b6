export * from './connection.js';
export * from './codec.js';
export * from './trace-headers.js';
export * from './streams.js';
export * from './outcome.js';
export * from './publisher.js';
export * from './consumer-runner.js';
export * from './nest/messaging.module.js';
