import { randomBytes } from 'node:crypto';
import { runBatchPublishContract } from '@herald/testkit';
import { afterAll } from 'vitest';
import { startRedisHub } from './fault-helpers.js';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;
afterAll(() => deleteKeys(REDIS_URL, [prefix]));

runBatchPublishContract('redis', (options) => startRedisHub({ url: REDIS_URL, prefix, serverOptions: options }));
