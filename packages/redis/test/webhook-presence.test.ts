import { randomBytes } from 'node:crypto';
import { JwtAuthenticator } from '@herald/server';
import { eventually, RecordingSink, WsTestClient, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startRedisHub } from './fault-helpers.js';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const SECRET = randomBytes(32).toString('base64url');
const API_KEY = 'k'.repeat(32);
const PRESENCE = ['presence_join', 'presence_leave', 'channel_occupied', 'channel_vacated'] as const;
const prefixes: string[] = [];
const hubs: TestHub[] = [];
const clients: WsTestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const hub of hubs.splice(0)) await hub.close();
});
afterAll(() => deleteKeys(REDIS_URL, prefixes));

/** Two nodes on one Redis key space (unique to the test), each with its own recording sink. */
async function twoNodes(presenceDebounce: number): Promise<{ nodes: TestHub[]; sinks: RecordingSink[] }> {
  const prefix = `herald-test-${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  const sinks = [new RecordingSink(), new RecordingSink()];
  const nodes: TestHub[] = [];
  for (const sink of sinks) {
    const hub = await startRedisHub({
      url: REDIS_URL,
      prefix,
      security: { authenticator: new JwtAuthenticator({ secret: SECRET }), apiKeys: [API_KEY] },
      serverOptions: { webhookSink: sink, presenceDebounce },
    });
    hubs.push(hub);
    nodes.push(hub);
  }
  return { nodes, sinks };
}

async function tab(hub: TestHub, user: string): Promise<WsTestClient> {
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setExpirationTime('1h')
    .sign(Buffer.from(SECRET));
  const client = await WsTestClient.connect(hub.wsUrl, { headers: { authorization: `Bearer ${token}` } });
  clients.push(client);
  return client;
}

async function members(hub: TestHub, channel: string): Promise<number> {
  const res = await fetch(`${hub.url}/api/presence?channel=${channel}`, { headers: { 'x-herald-key': API_KEY } });
  return ((await res.json()) as { members: unknown[] }).members.length;
}

/** Every presence/channel event of both nodes, with the node that emitted it. */
const all = (sinks: RecordingSink[]): Record<string, unknown>[] =>
  sinks.flatMap((sink, node) => sink.of(...PRESENCE).map((event) => ({ node, ...event })));

describe('webhook presence events across two nodes sharing Redis', () => {
  it('a user who leaves node A and comes back on node B within the debounce: no leave, no second join', async () => {
    const { nodes, sinks } = await twoNodes(1500);
    const [a, b] = nodes as [TestHub, TestHub];
    const onA = await tab(a, 'alice');
    await onA.request({ type: 'subscribe', channel: 'room' });
    await onA.close();
    await eventually(
      () => members(b, 'room'),
      (n) => n === 0,
      'alice gone',
    );
    const onB = await tab(b, 'alice');
    await onB.request({ type: 'subscribe', channel: 'room' });
    // Observe past A's debounce: close for good on B, whose leave comes after its own debounce.
    await onB.close();
    await sinks[1]!.events.until((es) => es.some((e) => e.type === 'channel_vacated'), 'vacated on B');
    expect(all(sinks)).toEqual([
      { node: 0, type: 'channel_occupied', channel: 'room' },
      { node: 0, type: 'presence_join', channel: 'room', user: 'alice', client: expect.any(String) },
      { node: 1, type: 'presence_leave', channel: 'room', user: 'alice', client: expect.any(String) },
      { node: 1, type: 'channel_vacated', channel: 'room' },
    ]);
  });

  it('many users with tabs on both nodes at once: each join, leave, occupied and vacated exactly once', async () => {
    const { nodes, sinks } = await twoNodes(200);
    const users = Array.from({ length: 12 }, (_, i) => `user${i}`);
    const tabs = await Promise.all(users.flatMap((user) => nodes.map((node) => tab(node, user))));
    await Promise.all(tabs.map((client) => client.request({ type: 'subscribe', channel: 'hall' })));
    expect(await members(nodes[0]!, 'hall')).toBe(24);
    await Promise.all(tabs.map((client) => client.close()));
    await eventually(
      () =>
        all(sinks).filter((e) => e['type'] === 'channel_vacated').length + all(sinks).filter((e) => e['type'] === 'presence_leave').length,
      (n) => n >= 13,
      'every leave and the vacate',
    );
    const events = all(sinks);
    const count = (type: string, user?: string): number =>
      events.filter((e) => e['type'] === type && (user === undefined || e['user'] === user)).length;
    expect(count('channel_occupied')).toBe(1);
    expect(count('channel_vacated')).toBe(1);
    for (const user of users) {
      expect(count('presence_join', user)).toBe(1);
      expect(count('presence_leave', user)).toBe(1);
    }
    expect(events).toHaveLength(26);
  });
});
