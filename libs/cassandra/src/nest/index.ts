// The Nest side of the Cassandra lib: an entry of its own ('@nunchi/cassandra/nest'), so that the CLI and tools,
// which use the repositories without Nest, do not load it.
export * from './cassandra.module.js';
export * from './campaign-set.holder.js';
export * from './customer-keys.providers.js';
