import { JwtAuthenticator, type PusherWebhookEventName } from '@herald/server';
import { eventually, type TestHub, type WsTestClient } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { connectAs, SECRET } from '../webhooks/helpers.js';
import { APP, OTHER_APP, sdkFor, startPusherHub } from './api-helpers.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from './webhook-receiver.js';

/** Every Pusher event of the requests received so far (checked valid with the SDK's own helper), in order. */
function eventsOf(hub: TestHub, requests: readonly ReceivedWebhook[]): unknown[] {
  const pusher = sdkFor(hub);
  return requests.flatMap((request) => {
    const webhook = pusher.webhook(request);
    expect(webhook.isValid()).toBe(true);
    expect(webhook.getTime().getTime()).toBeGreaterThan(0);
    return request.status === 200 ? webhook.getEvents() : [];
  });
}

describe('Pusher webhooks', () => {
  let hub: TestHub | undefined;
  let receiver: WebhookReceiver | undefined;
  const clients: WsTestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await hub?.close();
    await receiver?.close();
    hub = undefined;
  });
  const start = async (events?: PusherWebhookEventName[]): Promise<void> => {
    receiver = await startWebhookReceiver();
    const hook = { url: receiver.url, ...(events && { events }) };
    hub = await startPusherHub({
      security: { authenticator: new JwtAuthenticator({ secret: SECRET }) },
      presenceDebounce: 20,
      pusher: { apps: [{ ...APP, webhooks: [hook] }, OTHER_APP], webhookDelivery: { retryBase: 10, retryMax: 20, pollInterval: 10 } },
    });
  };
  const connect = async (user: string): Promise<WsTestClient> => {
    const client = await connectAs(hub!.wsUrl, user);
    clients.push(client);
    return client;
  };
  const received = async (n: number): Promise<unknown[]> => {
    let events: unknown[] = [];
    await receiver!.requests.until((requests) => (events = eventsOf(hub!, requests)).length >= n, `${n} webhook events`);
    return events;
  };

  it('channel_occupied and channel_vacated of the app’s channels, signed with X-Pusher-Key and X-Pusher-Signature', async () => {
    await start();
    const alice = await connect('alice');
    await alice.request({ type: 'subscribe', channel: 'app1:news' });
    // Not the app's: another app's channel, a channel outside every app.
    await alice.request({ type: 'subscribe', channel: 'app2:news' });
    await alice.request({ type: 'subscribe', channel: 'news' });
    await alice.request({ type: 'unsubscribe', channel: 'app1:news' });
    expect(await received(2)).toEqual([
      { name: 'channel_occupied', channel: 'news' },
      { name: 'channel_vacated', channel: 'news' },
    ]);
    const request = receiver!.requests.items[0]!;
    expect(request.headers['x-pusher-key']).toBe(APP.key);
    expect(request.headers['content-type']).toBe('application/json');
    // The SDK's check can fail: not with another app's secret.
    expect(
      sdkFor(hub!, { ...APP, secret: 'another-secret' })
        .webhook(request)
        .isValid(),
    ).toBe(false);
    expect(JSON.parse(request.rawBody)).toEqual({ time_ms: expect.any(Number), events: expect.any(Array) });
  });

  it('member_added and member_removed on presence- channels (Herald clients with a user), not on other channels', async () => {
    await start(['member_added', 'member_removed']);
    const alice = await connect('alice');
    const bob = await connect('bob');
    await alice.request({ type: 'subscribe', channel: 'app1:presence-room' });
    await bob.request({ type: 'subscribe', channel: 'app1:presence-room' });
    await bob.request({ type: 'subscribe', channel: 'app1:private-x' });
    await bob.request({ type: 'unsubscribe', channel: 'app1:presence-room' });
    expect(await received(3)).toEqual([
      { name: 'member_added', channel: 'presence-room', user_id: 'alice' },
      { name: 'member_added', channel: 'presence-room', user_id: 'bob' },
      { name: 'member_removed', channel: 'presence-room', user_id: 'bob' },
    ]);
  });

  it('client_event from a client publish of {event: "client-…", data}; other client publishes and backend triggers are none', async () => {
    await start(['client_event']);
    const alice = await connect('alice');
    await alice.request({ type: 'subscribe', channel: 'app1:private-chat' });
    const self = (await alice.request({ type: 'presence', channel: 'app1:private-chat' })).members[0].client as string;
    await alice.request({ type: 'publish', channel: 'app1:private-chat', data: { event: 'message', data: 'not a client event' } });
    await sdkFor(hub!).trigger('private-chat', 'client-from-backend', 'x');
    await alice.request({ type: 'publish', channel: 'app1:private-chat', data: { event: 'client-typing', data: { on: true } } });
    expect(await received(1)).toEqual([
      { name: 'client_event', channel: 'private-chat', event: 'client-typing', data: '{"on":true}', socket_id: self, user_id: 'alice' },
    ]);
  });

  it('retries after a 500 from the app: the same events come again and are then delivered', async () => {
    await start(['channel_occupied']);
    receiver!.answerNext(500, 500);
    const alice = await connect('alice');
    await alice.request({ type: 'subscribe', channel: 'app1:news' });
    expect(await received(1)).toEqual([{ name: 'channel_occupied', channel: 'news' }]);
    expect(receiver!.requests.items.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(receiver!.requests.items.map((r) => JSON.stringify(JSON.parse(r.rawBody).events))).size).toBe(1);
    // Counted per app in the node's metrics (the delivery once acknowledged, right after the answer).
    let metrics = '';
    await eventually(
      async () => (metrics = await (await fetch(`${hub!.url}/metrics`)).text()).includes('outcome="delivered"} 1'),
      'delivered',
    );
    expect(metrics).toContain('herald_pusher_webhook_events_total{app="app1",outcome="retried"} 2');
    expect(metrics).toContain('herald_pusher_webhook_events_total{app="app1",outcome="delivered"} 1');
    expect(metrics).toContain('herald_pusher_webhook_delivery_seconds_count{app="app1",result="failed"} 2');
  });
});
