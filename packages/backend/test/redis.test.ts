import { randomBytes } from 'node:crypto';
import { RedisAckStore, RedisBroker, RedisPresenceStore } from '@herald/redis';
import type { HeraldServerOptions } from '@herald/server';
import { startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { createClient } from '@redis/client';
import { afterAll, afterEach, expect, it } from 'vitest';
import { createBackendClient } from '../src/index.js';
import { API_KEY, runBackendContract, SECRET, secured } from './backend-contract.js';

const REDIS_URL = process.env['HERALD_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;

/** A node on the local Redis under this file's key prefix. */
async function redisHub(options: HeraldServerOptions): Promise<TestHub> {
  const broker = await RedisBroker.connect({ url: REDIS_URL, prefix });
  try {
    const presence = await RedisPresenceStore.connect({ url: REDIS_URL, prefix });
    const ackStore = await RedisAckStore.connect({ url: REDIS_URL, prefix });
    return await startTestHub({ broker, presence, ackStore, ...options });
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

it('two nodes sharing Redis: a client acks on node A (WebSocket) and node B (HTTP); the backend reads both through either node', async () => {
  nodes.push(await secured(redisHub), await secured(redisHub));
  const [a, b] = [
    createBackendClient({ url: nodes[0]!.url, apiKey: API_KEY, token: { key: { secret: SECRET } } }),
    createBackendClient({ url: nodes[1]!.url, apiKey: API_KEY }),
  ];
  const channel = `chat:acks-${randomBytes(4).toString('hex')}`;
  const results = await a.publishMany(Array.from({ length: 5 }, (_, i) => ({ channel, data: i })));
  const epoch = (results[0] as { epoch: string }).epoch;
  const aliceToken = await a.createToken({ sub: 'alice', grants: { channels: ['chat:*'] } });
  const alice = await WsTestClient.connect(nodes[0]!.wsUrl, { headers: { authorization: `Bearer ${aliceToken}` } });
  try {
    expect(await alice.request({ type: 'ack', channel, epoch, offset: 4 })).toMatchObject({ channel, epoch, offset: 4 });
  } finally {
    await alice.close();
  }
  const bobToken = await a.createToken({ sub: 'bob', grants: { channels: ['chat:*'] } });
  const res = await fetch(`${nodes[1]!.url}/api/ack`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bobToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, epoch, offset: 2 }),
  });
  expect(res.status).toBe(200);
  await res.body?.cancel();
  for (const backend of [a, b]) {
    const { acks } = await backend.acks(channel);
    expect(new Map(acks.map((entry) => [entry.user, entry.offset]))).toEqual(
      new Map([
        ['alice', 4],
        ['bob', 2],
      ]),
    );
    expect(await backend.acks(channel, { user: 'bob' })).toEqual({
      channel,
      acks: [{ user: 'bob', epoch, offset: 2, time: expect.any(Number) }],
    });
    expect((await backend.acks(channel, { limit: 1 })).acks).toHaveLength(1);
  }
  // Node B compares with what node A stored: an ack behind it does not move it back.
  const again = await fetch(`${nodes[1]!.url}/api/ack`, {
    method: 'POST',
    headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, epoch, offset: 1 }),
  });
  expect(await again.json()).toEqual({ channel, epoch, offset: 4 });
});
