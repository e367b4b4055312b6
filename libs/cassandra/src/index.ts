export * from './client.js';
export * from './statements.js';
export * from './migrations.js';
export * from './nest/cassandra.module.js';
export * from './repositories/customer.repository.js';
export * from './repositories/context.repository.js';
export * from './repositories/campaign.repository.js';
export * from './repositories/decision.repository.js';
