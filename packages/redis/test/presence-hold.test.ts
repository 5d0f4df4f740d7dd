import { randomBytes } from 'node:crypto';
import { RedisPresenceStore } from '@herald/redis';
import { runPresenceHoldContract } from '@herald/testkit';
import { afterAll } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefixes: string[] = [];
afterAll(() => deleteKeys(REDIS_URL, prefixes));

runPresenceHoldContract('redis', async (options) => {
  const prefix = `herald-test-${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  return [
    await RedisPresenceStore.connect({ url: REDIS_URL, prefix, ...options }),
    await RedisPresenceStore.connect({ url: REDIS_URL, prefix, ...options }),
  ];
});
