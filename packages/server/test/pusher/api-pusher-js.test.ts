import { Collector, eventually, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { sdkFor } from './api-helpers.js';
import { APP, clientOptions, PusherClients, startAuthApp, startPusherHub, subscribed, type AuthApp } from './pusher-fixtures.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

describe('Pusher HTTP API and webhooks with pusher-js clients', () => {
  let hub: TestHub | undefined;
  let auth: AuthApp | undefined;
  let receiver: WebhookReceiver | undefined;
  const clients = new PusherClients();
  afterEach(async () => {
    clients.closeAll();
    await hub?.close();
    await auth?.close();
    await receiver?.close();
    hub = auth = receiver = undefined;
  });

  it('trigger reaches pusher-js; channels, users and counts see pusher-js subscribers; terminateUserConnections closes a signed-in user', async () => {
    hub = await startPusherHub();
    auth = await startAuthApp();
    const alice = await clients.connect(clientOptions(hub, auth, 'alice'));
    const bob = await clients.connect(clientOptions(hub, auth, 'bob'));
    await subscribed(alice, 'news');
    await subscribed(alice, 'presence-room');
    await subscribed(bob, 'presence-room');
    const received = new Collector<unknown>();
    alice.channel('news').bind('created', (data: unknown) => received.push(data));
    await sdkFor(hub, APP).trigger('news', 'created', { id: 42 });
    expect(await received.count(1)).toEqual([{ id: 42 }]);

    const get = async (path: string, params?: Record<string, string>): Promise<unknown> =>
      (await sdkFor(hub!, APP).get({ path, ...(params && { params }) })).json();
    expect(await get('/channels')).toEqual({ channels: { news: {}, 'presence-room': {} } });
    expect(await get('/channels/presence-room', { info: 'user_count,subscription_count' })).toEqual({
      occupied: true,
      user_count: 2,
      subscription_count: 2,
    });
    const users = (await get('/channels/presence-room/users')) as { users: { id: string }[] };
    expect(users.users.map((u) => u.id).sort()).toEqual(['alice', 'bob']);

    // Sign bob in; terminating alice (not signed in) ends nothing, terminating bob ends his connection only.
    const signedIn = new Promise<void>((resolve) =>
      bob.connection.bind('message', (m: { event: string }) => m.event === 'pusher:signin_success' && resolve()),
    );
    bob.signin();
    await signedIn;
    await sdkFor(hub, APP).terminateUserConnections('alice');
    expect(hub.server.stats().pusher).toBe(2);
    await sdkFor(hub, APP).terminateUserConnections('bob');
    // Closed with 4009: pusher-js does not reconnect.
    await eventually(() => bob.connection.state === 'disconnected', 'bob’s connection ended');
    await eventually(() => hub!.server.stats().pusher === 1, 'one Pusher connection left');
    expect(alice.connection.state).toBe('connected');
  });

  it('webhooks from pusher-js clients: member_added on a presence subscription, client_event from a client event', async () => {
    receiver = await startWebhookReceiver();
    hub = await startPusherHub(
      { presenceDebounce: 20 },
      {
        apps: [{ ...APP, webhooks: [{ url: receiver.url, events: ['member_added', 'client_event'] }] }],
        webhookDelivery: { pollInterval: 10 },
      },
    );
    auth = await startAuthApp();
    const alice = await clients.connect(clientOptions(hub, auth, 'alice'));
    await subscribed(alice, 'presence-room');
    alice.channel('presence-room').trigger('client-typing', { on: true });
    const pusher = sdkFor(hub, APP);
    let events: unknown[] = [];
    await receiver.requests.until(
      (requests) =>
        (events = requests.flatMap((r) => {
          const webhook = pusher.webhook(r);
          expect(webhook.isValid()).toBe(true);
          return webhook.getEvents();
        })).length >= 2,
      'two webhook events',
    );
    expect(events).toEqual([
      { name: 'member_added', channel: 'presence-room', user_id: 'alice' },
      {
        name: 'client_event',
        channel: 'presence-room',
        event: 'client-typing',
        data: '{"on":true}',
        socket_id: alice.connection.socket_id,
        user_id: 'alice',
      },
    ]);
  });
});
