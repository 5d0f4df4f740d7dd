import { randomBytes } from 'node:crypto';
import { RedisBroker, RedisPresenceStore } from '@herald/redis';
import { JwtAuthenticator } from '@herald/server';
import { Collector, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import Pusher from 'pusher';
import pusherJs from 'pusher-js';
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

/** pusher-js's Node build exports the class itself (its types declare a `default`). */
const PusherJs = pusherJs as unknown as typeof pusherJs.default;
type PusherJsClient = InstanceType<typeof PusherJs>;
const pusherClients: PusherJsClient[] = [];

/** A connected pusher-js client of `hub`. */
async function pusherClient(hub: TestHub): Promise<PusherJsClient> {
  const client = new PusherJs(APP.key, {
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: hub.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
  });
  pusherClients.push(client);
  await new Promise<void>((resolve) => client.connection.bind('connected', () => resolve()));
  return client;
}

/** Subscribes `client` to `name`, collecting its events into `into` once subscribed. */
async function subscribedTo(client: PusherJsClient, name: string, into: Collector<[string, unknown]>): Promise<void> {
  const channel = client.subscribe(name);
  await new Promise<void>((resolve) => channel.bind('pusher:subscription_succeeded', () => resolve()));
  channel.bind_global((event: string, data: unknown) => into.push([event, data]));
}

describe('Pusher HTTP API on a Redis cluster', () => {
  const prefix = `herald-test-pusher-${randomBytes(4).toString('hex')}:`;
  const hubs: TestHub[] = [];
  const clients: WsTestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const client of pusherClients.splice(0)) client.disconnect();
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

  it('a trigger with socket_id on node a is not delivered to that pusher-js connection on node b, and is to the others', async () => {
    const [a, b] = [await node(prefix), await node(prefix)];
    hubs.push(a, b);
    const watcher = await connectAs(b, 'carol');
    clients.push(watcher);
    await watcher.request({ type: 'subscribe', channel: 'app1:chat' });
    const excluded = await pusherClient(b);
    const other = await pusherClient(b);
    const gotExcluded = new Collector<[string, unknown]>();
    const gotOther = new Collector<[string, unknown]>();
    await subscribedTo(excluded, 'chat', gotExcluded);
    await subscribedTo(other, 'chat', gotOther);
    await sdkFor(a).trigger('chat', 'said', { text: 'hi' }, { socket_id: excluded.connection.socket_id });
    await sdkFor(a).trigger('chat', 'said', { text: 'again' });
    expect(await gotOther.count(2)).toEqual([
      ['said', { text: 'hi' }],
      ['said', { text: 'again' }],
    ]);
    // The excluded connection's first event is the second one: the first was skipped, not late.
    expect(await gotExcluded.count(1)).toEqual([['said', { text: 'again' }]]);
    // Herald's own clients get the message as any other, with the socket_id the door reads.
    const [message] = await watcher.waitForMessages(1, 'app1:chat');
    expect(message.data).toEqual({ socket_id: excluded.connection.socket_id, event: 'said', data: { text: 'hi' } });
  });
});
