import { randomBytes } from 'node:crypto';
import { RedisBroker, RedisPresenceStore } from '@herald/redis';
import type { HeraldServerOptions } from '@herald/server';
import { startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { createClient } from '@redis/client';
import { afterAll, afterEach, expect, it } from 'vitest';
import { createBackendClient } from '../src/index.js';
import { API_KEY, runBackendContract, secured } from './backend-contract.js';

const REDIS_URL = process.env['HERALD_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;

/** A node on the local Redis under this file's key prefix. */
async function redisHub(options: HeraldServerOptions): Promise<TestHub> {
  const broker = await RedisBroker.connect({ url: REDIS_URL, prefix });
  try {
    const presence = await RedisPresenceStore.connect({ url: REDIS_URL, prefix });
    return await startTestHub({ broker, presence, ...options });
  } catch (error) {
    await broker.close();
    throw error;
  }
}

afterAll(async () => {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
  } finally {
    client.destroy();
  }
});

runBackendContract('redis engine', redisHub);

const nodes: TestHub[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.close();
});

it('two nodes sharing Redis: publish through node A, history, presence and disconnect through node B', async () => {
  nodes.push(await secured(redisHub), await secured(redisHub));
  const [a, b] = [
    createBackendClient({ url: nodes[0]!.url, apiKey: API_KEY }),
    createBackendClient({ url: nodes[1]!.url, apiKey: API_KEY }),
  ];
  const channel = `two-nodes:${randomBytes(4).toString('hex')}`;
  const watcher = await WsTestClient.connect(nodes[0]!.wsUrl, { headers: { 'X-Herald-Key': API_KEY } });
  expect((await watcher.request({ type: 'subscribe', channel })).error).toBeUndefined();
  const results = await a.publishMany(Array.from({ length: 5 }, (_, i) => ({ channel, data: i })));
  expect(results.map((r) => 'offset' in r && r.offset)).toEqual([1, 2, 3, 4, 5]);
  const pages = [];
  for await (const page of b.historyPages<number>(channel, { limit: 2 })) pages.push(page.messages.map((m) => m.data));
  expect(pages).toEqual([[0, 1], [2, 3], [4]]);
  const members = (await b.presence(channel)).members;
  expect(members).toEqual([{ client: expect.any(String), user: null }]);
  // Node B tells node A to end the session it holds.
  expect(await b.disconnect({ client: members[0]!.client })).toEqual({ disconnected: 0, nodes: 'all' });
  expect((await watcher.closed).code).toBe(4502);
});
