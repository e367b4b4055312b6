export * from './config.js';
export * from './env-reader.js';
export * from './paths.js';
export * from './nest/config.module.js';
