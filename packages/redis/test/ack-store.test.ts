import { randomBytes } from 'node:crypto';
import { RedisAckStore } from '@herald/redis';
import { runAckStoreContract } from '@herald/testkit';
import { afterAll } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefixes: string[] = [];
const prefixOf = new WeakMap<object, string>();

runAckStoreContract(
  'redis',
  async (limits) => {
    const prefix = `herald-test-${randomBytes(6).toString('hex')}:`;
    prefixes.push(prefix);
    const store = await RedisAckStore.connect({ url: REDIS_URL, prefix, ...limits });
    prefixOf.set(store, prefix);
    return store;
  },
  (store, limits) => RedisAckStore.connect({ url: REDIS_URL, prefix: prefixOf.get(store)!, ...limits }),
);

afterAll(async () => {
  await deleteKeys(REDIS_URL, prefixes);
});
