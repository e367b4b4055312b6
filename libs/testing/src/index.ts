export * from './prng.js';
export * from './nats-server.js';
export * from './tcp-fault-proxy.js';
export * from './nats-cluster.js';
export * from './wait-until.js';
