export * from './prng.js';
export * from './nats-server.js';
