import { createHmac, randomBytes } from 'node:crypto';
import type { HeraldServerOptions } from '@herald/server';
import { eventually, SseTestClient, startTestHub, type TestHub } from '@herald/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBroker, RedisPresenceStore } from '../src/index.js';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

// The Mercure door on two nodes sharing Redis: an update posted on one node reaches a template
// subscriber on the other; the subscriptions API of either node lists the subscriptions of both;
// a subscriber whose node drops it resumes on the other node with its Last-Event-ID, without loss.

const KEY = 'mercure-cluster-key-0123456789-abcdef';
const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;
const nodes: TestHub[] = [];

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
function jwt(mercure: Record<string, unknown>): string {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ mercure, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${head}.${createHmac('sha256', KEY).update(head).digest('base64url')}`;
}

async function node(options: HeraldServerOptions = {}): Promise<TestHub> {
  const broker = await RedisBroker.connect({ url: REDIS_URL, prefix });
  const presence = await RedisPresenceStore.connect({ url: REDIS_URL, prefix });
  const hub = await startTestHub({ broker, presence, mercure: { jwtKey: KEY, subscriptions: true }, ...options });
  nodes.push(hub);
  return hub;
}

async function post(url: string, topic: string, data: string): Promise<void> {
  const res = await fetch(`${url}/.well-known/mercure`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${jwt({ publish: ['*'] })}` },
    body: new URLSearchParams([
      ['topic', topic],
      ['data', data],
    ]).toString(),
  });
  expect(res.status).toBe(200);
  await res.text();
}

async function subscribe(url: string, topic: string, headers: Record<string, string> = {}): Promise<SseTestClient> {
  const client = await SseTestClient.connect(`${url}/.well-known/mercure?topic=${encodeURIComponent(topic)}`, {
    authorization: `Bearer ${jwt({ subscribe: ['*'] })}`,
    ...headers,
  });
  expect(client.response.statusCode).toBe(200);
  await client.ready();
  return client;
}

afterAll(async () => {
  for (const hub of nodes.splice(0)) await hub.close();
  await deleteKeys(REDIS_URL, [prefix]);
});

describe('Mercure on two nodes', () => {
  it('delivers across nodes, lists every node’s subscriptions, and resumes on the other node', async () => {
    const [a, b] = [await node(), await node()];
    const template = 'https://example.com/cluster/{id}';
    const sub = await subscribe(a.url, template);
    await post(b.url, 'https://example.com/cluster/1', 'one');
    await sub.events.count(1);

    const listed = await eventually(
      async () => {
        const res = await fetch(`${b.url}/.well-known/mercure/subscriptions`, {
          headers: { authorization: `Bearer ${jwt({ subscribe: ['*'] })}` },
        });
        return (await res.json()) as { subscriptions: { topic: string }[] };
      },
      (body) => body.subscriptions.some((s) => s.topic === template),
      'node b lists the subscription on node a',
    );
    expect(listed.subscriptions.filter((s) => s.topic === template)).toHaveLength(1);

    const last = sub.lastEventId;
    a.server.dropConnections();
    await sub.ended;
    await post(b.url, 'https://example.com/cluster/2', 'two');
    await post(a.url, 'https://example.com/cluster/3', 'three');
    const again = await subscribe(b.url, template, { 'last-event-id': last });
    try {
      await again.events.count(2);
      expect([...sub.events.items, ...again.events.items].map((e) => e.data)).toEqual(['one', 'two', 'three']);
    } finally {
      await again.close();
    }
  });
});
