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
    // The contract gives its own times: the Redis server's clock is tested in webhooks-clock.test.ts.
    return RedisWebhookQueue.connect({ url: REDIS_URL, prefix, leaseClock: 'caller' });
  },
  true,
);
