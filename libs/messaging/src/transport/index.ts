export * from './bindings.js';
export * from './contexts.js';
export * from './nats-client.js';
export * from './nats-transport.js';
export * from './partition-assignments.js';
export * from './pipeline.js';
export * from './messaging-session.js';
export * from './stream-reader.js';
