import { randomBytes } from 'node:crypto';
import { RedisBroker, RedisPresenceStore } from '@herald/redis';
import { excludedSockets, JwtAuthenticator } from '@herald/server';
import { eventually, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import Pusher from 'pusher';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const SECRET = 'pusher-api-cluster-test-secret-0123456789';
const APP = { id: 'app1', key: 'app1-key', secret: 'app1-secret-0123456789' };

async function node(prefix: string): Promise<TestHub> {
  return startTestHub({
    broker: await RedisBroker.connect({ url: REDIS_URL, prefix }),
    presence: await RedisPresenceStore.connect({ url: REDIS_URL, prefix }),
    security: { authenticator: new JwtAuthenticator({ secret: SECRET }) },
    pusher: { apps: [APP] },
  });
}

async function connectAs(hub: TestHub, user: string): Promise<WsTestClient> {
  const token = await new SignJWT({ sub: user, exp: Math.floor(Date.now() / 1000) + 3600 })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET));
  return WsTestClient.connect(hub.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
}

function sdkFor(hub: TestHub): Pusher {
  return new Pusher({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(hub.port), useTLS: false });
}

describe('Pusher HTTP API on a Redis cluster', () => {
  const prefix = `herald-test-pusher-${randomBytes(4).toString('hex')}:`;
  const hubs: TestHub[] = [];
  const clients: WsTestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const hub of hubs.splice(0)) await hub.close();
    await deleteKeys(REDIS_URL, [prefix]);
  });

  it('lists the channels occupied on any node, with user counts and users, from any node', async () => {
    const [a, b] = [await node(prefix), await node(prefix)];
    hubs.push(a, b);
    const alice = await connectAs(a, 'alice');
    const bob = await connectAs(b, 'bob');
    clients.push(alice, bob);
    await alice.request({ type: 'subscribe', channel: 'app1:presence-room' });
    await alice.request({ type: 'subscribe', channel: 'app1:news' });
    await bob.request({ type: 'subscribe', channel: 'app1:presence-room' });
    await bob.request({ type: 'subscribe', channel: 'app1:sport' });
    await bob.request({ type: 'subscribe', channel: 'other' });
    for (const hub of [a, b]) {
      const list = await (await sdkFor(hub).get({ path: '/channels' })).json();
      expect(list).toEqual({ channels: { news: {}, 'presence-room': {}, sport: {} } });
      const presence = await (
        await sdkFor(hub).get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })
      ).json();
      expect(presence).toEqual({ channels: { 'presence-room': { user_count: 2 } } });
      const users = (await (await sdkFor(hub).get({ path: '/channels/presence-room/users' })).json()) as { users: { id: string }[] };
      expect(users.users.map((u) => u.id).sort()).toEqual(['alice', 'bob']);
    }
    // A prefix naming no namespace reads every namespace's index.
    expect((await b.server.hub.occupiedChannels(''))!.sort()).toEqual(['app1:news', 'app1:presence-room', 'app1:sport', 'other']);
    expect(await a.server.hub.occupiedChannels('oth')).toEqual(['other']);
    // A channel whose last subscriber left is no longer listed (its index entry stays until it expires, unlisted).
    await bob.request({ type: 'unsubscribe', channel: 'app1:sport' });
    expect(await (await sdkFor(a).get({ path: '/channels' })).json()).toEqual({ channels: { news: {}, 'presence-room': {} } });
    expect(await (await sdkFor(a).get({ path: '/channels/sport', params: { info: 'subscription_count' } })).json()).toEqual({
      occupied: false,
      subscription_count: 0,
    });
  });

  it('a trigger with socket_id tells every node to skip that socket for that event (the exclusion reaches the other node)', async () => {
    const [a, b] = [await node(prefix), await node(prefix)];
    hubs.push(a, b);
    const watcher = await connectAs(b, 'carol');
    clients.push(watcher);
    await watcher.request({ type: 'subscribe', channel: 'app1:chat' });
    await sdkFor(a).trigger('chat', 'said', { text: 'hi' }, { socket_id: '123.456' });
    // Herald's own clients get the message as any other: the exclusion is for the Pusher WebSocket door.
    const [message] = await watcher.waitForMessages(1, 'app1:chat');
    expect(message.data).toEqual({ event: 'said', data: { text: 'hi' } });
    const table = excludedSockets(b.server.hub, () => Date.now());
    await eventually(() => table.size === 1, 'the exclusion on node b');
    expect(table.skips('123.456', 'app1:chat', 'said', '{"text":"hi"}')).toBe(true);
  });
});
