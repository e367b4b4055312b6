export * from './roles.js';
export * from './api-key.js';
export * from './rate-limit.js';
export * from './key-request.js';
