export { createSqliteEngine, type SqliteEngine } from './create-sqlite-engine.js';
export { SqliteBroker, type SqliteBrokerOptions } from './sqlite-broker.js';
export type { Synchronous } from './schema.js';
export { SqliteWebhookQueue, type SqliteWebhookQueueOptions } from './sqlite-webhook-queue.js';
export { SqliteAckStore, type SqliteAckStoreOptions } from './sqlite-ack-store.js';
