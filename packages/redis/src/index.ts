export { checkRedisUrl, redactUrl } from './redis-url.js';
export { SentinelAuthError } from './sentinel-primary.js';
export { RedisBroker, type RedisBrokerOptions } from './redis-broker.js';
export { RedisPresenceStore, type RedisPresenceOptions } from './redis-presence-store.js';
export { RedisRateLimitStore, type RedisRateLimitOptions } from './redis-rate-limit-store.js';
export { RedisTicketStore, type RedisTicketOptions } from './redis-ticket-store.js';
export { RedisWebhookQueue, type RedisWebhookQueueOptions } from './redis-webhook-queue.js';
export { RedisAckStore, type RedisAckOptions } from './redis-ack-store.js';
