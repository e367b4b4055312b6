export * from './config.js';
export * from './env-reader.js';
export * from './paths.js';
// ConfigModule (Nest): '@nunchi/config/nest'.
