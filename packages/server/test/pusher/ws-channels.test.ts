import { Collector, publishHttp, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientOptions, PusherClients, type PusherJs, startAuthApp, startPusherHub, subscribed, type AuthApp } from './pusher-fixtures.js';

interface Members {
  count: number;
  me: { id: string; info: unknown };
  each(f: (m: { id: string; info: unknown }) => void): void;
}

const memberIds = (members: Members): string[] => {
  const ids: string[] = [];
  members.each((m) => ids.push(m.id));
  return ids.sort();
};

describe('Pusher door: private, presence and cache channels, sign-in', () => {
  let hub: TestHub;
  let auth: AuthApp;
  let badAuth: AuthApp;
  const clients = new PusherClients();
  const raw: WsTestClient[] = [];
  beforeEach(async () => {
    hub = await startPusherHub();
    auth = await startAuthApp();
    badAuth = await startAuthApp('not-the-secret');
  });
  afterEach(async () => {
    clients.closeAll();
    await Promise.all(raw.splice(0).map((c) => c.close()));
    await hub.close();
    await auth.close();
    await badAuth.close();
  });

  it('subscribes a private channel with the auth endpoint signature and delivers to it', async () => {
    const client = await clients.connect(clientOptions(hub, auth));
    await subscribed(client, 'private-orders');
    const got = new Collector<unknown>();
    client.channel('private-orders').bind('created', (data: unknown) => got.push(data));
    await publishHttp(hub.url, 'app1:private-orders', { event: 'created', data: { id: 1 } });
    expect(await got.count(1)).toEqual([{ id: 1 }]);
  });

  it('answers a bad signature with pusher:subscription_error (AuthError, 401) and delivers nothing', async () => {
    const client = await clients.connect(clientOptions(hub, badAuth));
    const error = await subscribed(client, 'private-orders').catch((e: unknown) => (e as Error).message);
    expect(error).toMatch(/subscription_error/);
    expect(JSON.parse(String(error).replace('subscription_error ', ''))).toEqual({
      type: 'AuthError',
      error: expect.stringContaining('Invalid signature'),
      status: 401,
    });
    expect(hub.server.stats().pusher).toBe(1);
    // A presence channel without channel_data, an invalid name: refused the same way.
    const rawClient = await WsTestClient.connect(`ws://127.0.0.1:${hub.port}/app/app1-key?protocol=7`);
    raw.push(rawClient);
    rawClient.sendRaw(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'presence-x', auth: 'app1-key:00' } }));
    rawClient.sendRaw(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'bad name!' } }));
    const frames = await rawClient.frames.until((fs) => fs.filter((f) => f.event === 'pusher:subscription_error').length === 2, 'errors');
    expect(frames.filter((f) => f.event === 'pusher:subscription_error').map((f) => [f.channel, f.data.status])).toEqual([
      ['presence-x', 400],
      ['bad name!', 400],
    ]);
  });

  it('presence: members once per user across Pusher and Herald clients, member_added and member_removed', async () => {
    const alice = await clients.connect(clientOptions(hub, auth, 'alice'));
    const joined = (await subscribed(alice, 'presence-room')) as Members;
    expect(joined.count).toBe(1);
    expect(joined.me).toEqual({ id: 'alice', info: { name: 'User alice' } });
    const added = new Collector<{ id: string; info: unknown }>();
    const removed = new Collector<{ id: string }>();
    const room = alice.channel('presence-room');
    room.bind('pusher:member_added', (m: { id: string; info: unknown }) => added.push(m));
    room.bind('pusher:member_removed', (m: { id: string }) => removed.push(m));

    // Bob joins on two connections: one member_added only.
    const bob1 = await clients.connect(clientOptions(hub, auth, 'bob'));
    const bobView = (await subscribed(bob1, 'presence-room')) as Members;
    expect(memberIds(bobView)).toEqual(['alice', 'bob']);
    const bob2 = await clients.connect(clientOptions(hub, auth, 'bob'));
    expect(((await subscribed(bob2, 'presence-room')) as Members).count).toBe(2);
    // A Herald WebSocket client on the mapped channel is a member too (its user: its client id when anonymous).
    const herald = await WsTestClient.connect(hub.wsUrl);
    raw.push(herald);
    await herald.request({ type: 'subscribe', channel: 'app1:presence-room' });
    await added.count(2);
    expect(added.items[0]).toEqual({ id: 'bob', info: { name: 'User bob' } });
    const heraldMember = added.items[1]!.id;
    // Herald's presence sees the Pusher members with their user ids and infos.
    const presence = await herald.request({ type: 'presence', channel: 'app1:presence-room' });
    expect(presence.members.map((m: { user: string | null }) => m.user).sort()).toEqual(['alice', 'bob', 'bob', null]);

    // Bob's first connection leaves: no member_removed; his last: member_removed.
    bob1.unsubscribe('presence-room');
    await herald.close();
    await removed.count(1);
    expect(removed.items[0]!.id).toBe(heraldMember);
    bob2.disconnect();
    await removed.count(2);
    expect(removed.items.map((m) => m.id)).toEqual([heraldMember, 'bob']);
    expect((room as unknown as { members: Members }).members.count).toBe(1);
  });

  it('cache channels: pusher:cache_miss when empty, else the last event on subscribe', async () => {
    const first = await clients.connect(clientOptions(hub));
    const misses = new Collector<unknown>();
    first.subscribe('cache-prices').bind('pusher:cache_miss', () => misses.push(1));
    await misses.count(1);
    await publishHttp(hub.url, 'app1:cache-prices', { event: 'price', data: { v: 1 } });
    await publishHttp(hub.url, 'app1:cache-prices', { event: 'price', data: { v: 2 } });
    const second = await clients.connect(clientOptions(hub));
    const got = new Collector<unknown>();
    const channel = second.subscribe('cache-prices');
    channel.bind('price', (data: unknown) => got.push(data));
    channel.bind('pusher:cache_miss', () => got.push('miss'));
    expect(await got.count(1)).toEqual([{ v: 2 }]);
    // Then live events as on any channel.
    await publishHttp(hub.url, 'app1:cache-prices', { event: 'price', data: { v: 3 } });
    expect(await got.count(2)).toEqual([{ v: 2 }, { v: 3 }]);
  });

  it('signs a user in (pusher:signin) with the auth endpoint; the connection carries that user', async () => {
    const client: PusherJs = await clients.connect(clientOptions(hub, auth, 'carol'));
    const done = new Collector<unknown>();
    client.connection.bind('message', (m: { event: string; data: unknown }) => m.event === 'pusher:signin_success' && done.push(m.data));
    client.signin();
    const [data] = await done.count(1);
    expect(JSON.parse((data as { user_data: string }).user_data)).toEqual({ id: 'carol', name: 'User carol' });
    // The connection's user is the signed-in one: a disconnect of that user ends it with 4009, which pusher-js does not reconnect from.
    const states = new Collector<string>();
    client.connection.bind('state_change', ({ current }: { current: string }) => states.push(current));
    expect(hub.server.disconnect({ user: 'carol' })).toBe(1);
    await states.until((s) => s.includes('disconnected'), 'disconnected');
    expect(states.items).not.toContain('connecting');
  });
});
