import { createHmac } from 'node:crypto';
import { eventually, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { APP, startPusherHub } from './pusher-fixtures.js';

const sign = (text: string): string => `${APP.key}:${createHmac('sha256', APP.secret).update(text).digest('hex')}`;

describe('Pusher door: subscribe and unsubscribe of one channel run in the order they came', () => {
  let hub: TestHub | undefined;
  const raw: WsTestClient[] = [];
  afterEach(async () => {
    await Promise.all(raw.splice(0).map((c) => c.close()));
    await hub?.close();
    hub = undefined;
  });

  const connect = async (): Promise<{ client: WsTestClient; socketId: string }> => {
    const client = await WsTestClient.connect(`ws://127.0.0.1:${hub!.port}/app/${APP.key}?protocol=7`);
    raw.push(client);
    const [established] = await client.frames.count(1);
    return { client, socketId: (JSON.parse(established.data as string) as { socket_id: string }).socket_id };
  };
  const presenceSubscribe = (socketId: string, user: string): string => {
    const channelData = JSON.stringify({ user_id: user });
    return JSON.stringify({
      event: 'pusher:subscribe',
      data: { channel: 'presence-room', auth: sign(`${socketId}:presence-room:${channelData}`), channel_data: channelData },
    });
  };
  const unsubscribe = JSON.stringify({ event: 'pusher:unsubscribe', data: { channel: 'presence-room' } });

  it('subscribe, unsubscribe, subscribe in one burst on presence-room ends subscribed and a member', async () => {
    hub = await startPusherHub();
    const watcher = await connect();
    watcher.client.sendRaw(presenceSubscribe(watcher.socketId, 'watcher'));
    await watcher.client.frames.until((fs) => fs.some((f) => f.event === 'pusher_internal:subscription_succeeded'), 'watcher in');
    for (const round of [1, 2, 3]) {
      const bob = await connect();
      bob.client.sendRaw(presenceSubscribe(bob.socketId, 'bob'));
      bob.client.sendRaw(unsubscribe);
      bob.client.sendRaw(presenceSubscribe(bob.socketId, 'bob'));
      await bob.client.frames.until((fs) => fs.some((f) => f.event === 'pusher_internal:subscription_succeeded'), 'subscribed');
      const users = async (): Promise<string[]> => (await hub!.server.hub.presence('app1:presence-room')).map((m) => m.user ?? '').sort();
      await eventually(users, (u) => u.join() === 'bob,watcher', `bob is a member (round ${round})`);
      // The final subscription is live: bob receives what is published.
      await hub.server.hub.publish('app1:presence-room', { event: 'hello', data: round });
      await bob.client.frames.until((fs) => fs.some((f) => f.event === 'hello'), 'bob receives hello');
      // The watcher's view ends with bob present.
      await watcher.client.frames.until((fs) => {
        const last = fs.filter((f) => typeof f.event === 'string' && f.event.startsWith('pusher_internal:member_')).at(-1);
        return last?.event === 'pusher_internal:member_added';
      }, 'the watcher last saw bob added');
      expect(await users()).toEqual(['bob', 'watcher']);
      // Each subscribe was answered, in order.
      expect(bob.client.frames.items.filter((f) => f.event === 'pusher_internal:subscription_succeeded')).toHaveLength(2);
      await bob.client.close();
      await eventually(users, (u) => u.join() === 'watcher', 'bob left');
    }
  });

  it('subscribe then unsubscribe in one burst ends unsubscribed and not a member', async () => {
    hub = await startPusherHub();
    const bob = await connect();
    bob.client.sendRaw(presenceSubscribe(bob.socketId, 'bob'));
    bob.client.sendRaw(unsubscribe);
    bob.client.sendRaw(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'marker' } }));
    await bob.client.frames.until(
      (fs) => fs.some((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'marker'),
      'marker',
    );
    await eventually(
      async () => (await hub!.server.hub.presence('app1:presence-room')).length,
      (n) => n === 0,
      'no member left',
    );
  });
});
