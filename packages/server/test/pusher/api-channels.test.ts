import { JwtAuthenticator } from '@herald/server';
import { WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { connectAs, SECRET } from '../webhooks/helpers.js';
import { postJson, refusal, sdkFor, startPusherHub } from './api-helpers.js';

describe('Pusher HTTP API: channels, users, terminate_connections', () => {
  let hub: TestHub | undefined;
  const clients: WsTestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await hub?.close();
    hub = undefined;
  });
  const start = async (): Promise<void> => {
    hub = await startPusherHub({ security: { authenticator: new JwtAuthenticator({ secret: SECRET }) } });
  };
  const join = async (user: string, ...channels: string[]): Promise<WsTestClient> => {
    const client = await connectAs(hub!.wsUrl, user);
    clients.push(client);
    for (const channel of channels) expect((await client.request({ type: 'subscribe', channel })).ok).not.toBe(false);
    return client;
  };
  const get = async (path: string, params?: Record<string, string>): Promise<unknown> => {
    const res = await sdkFor(hub!).get({ path, ...(params && { params }) });
    expect(res.status).toBe(200);
    return res.json();
  };

  it('lists the app’s occupied channels across every Herald door, by prefix, with user_count for presence- channels', async () => {
    await start();
    await join('alice', 'app1:news', 'app1:presence-room', 'app2:secret', 'news', 'app1:x~3By');
    const bob = await join('bob', 'app1:presence-room');
    await join('bob', 'app1:presence-room');
    expect(await get('/channels')).toEqual({ channels: { news: {}, 'presence-room': {}, 'x;y': {} } });
    expect(await get('/channels', { filter_by_prefix: 'presence-', info: 'user_count' })).toEqual({
      channels: { 'presence-room': { user_count: 2 } },
    });
    expect(await get('/channels', { filter_by_prefix: 'x;' })).toEqual({ channels: { 'x;y': {} } });
    await bob.request({ type: 'unsubscribe', channel: 'app1:presence-room' });
    expect(await get('/channels/presence-room', { info: 'user_count,subscription_count' })).toEqual({
      occupied: true,
      user_count: 2,
      subscription_count: 2,
    });
    expect(await get('/channels/news')).toEqual({ occupied: true });
    expect(await get('/channels/news', { info: 'subscription_count' })).toEqual({ occupied: true, subscription_count: 1 });
    expect(await get('/channels/empty', { info: 'subscription_count' })).toEqual({ occupied: false, subscription_count: 0 });
    expect(await get('/channels/presence-room/users')).toEqual({ users: [{ id: 'alice' }, { id: 'bob' }] });
    expect(await get('/channels/presence-empty/users')).toEqual({ users: [] });
  });

  it('refuses user_count off presence- channels, unknown info attributes, users of a non-presence channel (400)', async () => {
    await start();
    const pusher = sdkFor(hub!);
    expect(await refusal(pusher.get({ path: '/channels', params: { info: 'user_count' } }))).toEqual({
      status: 400,
      body: 'user_count may only be requested with filter_by_prefix=presence-',
    });
    expect((await refusal(pusher.get({ path: '/channels/news', params: { info: 'user_count' } }))).status).toBe(400);
    expect((await refusal(pusher.get({ path: '/channels/news', params: { info: 'nonsense' } }))).status).toBe(400);
    expect((await refusal(pusher.get({ path: '/channels/news/users' }))).status).toBe(400);
    expect((await refusal(pusher.get({ path: '/channels/a/b/c' }))).status).toBe(404);
    expect((await refusal(postJson(pusher, '/channels', {}))).status).toBe(405);
  });

  it('terminateUserConnections answers {} (no Pusher WebSocket transport here: nothing to end, Herald’s own sessions of that user stay)', async () => {
    await start();
    const alice = await join('alice', 'app1:news');
    const res = await sdkFor(hub!).terminateUserConnections('alice');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    // Herald's own session of a user of the same id is not a Pusher connection of the app.
    expect((await alice.request({ type: 'presence', channel: 'app1:news' })).members).toHaveLength(1);
  });
});
