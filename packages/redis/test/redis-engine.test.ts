import { randomBytes } from 'node:crypto';
import { RedisBroker, RedisPresenceStore } from '@herald/redis';
import { runEngineContract } from '@herald/testkit';
import { afterAll } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefixes: string[] = [];

runEngineContract('redis', async ({ historySize, historyTtl, clock }) => {
  // A fresh key space per test: the contract expects an empty engine.
  const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  const broker = await RedisBroker.connect({ url: REDIS_URL, prefix, historySize, historyTtl, clock });
  const presence = await RedisPresenceStore.connect({ url: REDIS_URL, prefix, clock });
  return { broker, presence };
});

afterAll(async () => {
  await deleteKeys(REDIS_URL, prefixes);
});
