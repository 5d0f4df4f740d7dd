import { RedisWebhookQueue } from '@herald/redis';
import { runWebhookQueueContract } from '@herald/testkit';
import { afterAll } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefixes = new Set<string>();
afterAll(() => deleteKeys(REDIS_URL, [...prefixes]));

// A key prefix per store: two queues on one store are two nodes sharing it.
runWebhookQueueContract(
  'redis',
  (store) => {
    const prefix = `herald-test-${store}:`;
    prefixes.add(prefix);
    return RedisWebhookQueue.connect({ url: REDIS_URL, prefix });
  },
  true,
);
