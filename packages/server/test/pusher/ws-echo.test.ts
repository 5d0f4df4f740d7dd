import { Collector, publishHttp, type TestHub } from '@herald/testkit';
import Echo from 'laravel-echo';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APP, clientOptions, PusherJs, startAuthApp, startPusherHub, type AuthApp } from './pusher-fixtures.js';

describe('Pusher door: Laravel Echo on pusher-js', () => {
  let hub: TestHub;
  let auth: AuthApp;
  const echos: Echo<'pusher'>[] = [];
  const echo = (user: string): Echo<'pusher'> => {
    const options = clientOptions(hub, auth, user);
    const instance = new Echo<'pusher'>({ broadcaster: 'pusher', key: APP.key, Pusher: PusherJs, ...options } as never);
    echos.push(instance);
    return instance;
  };
  beforeEach(async () => {
    hub = await startPusherHub();
    auth = await startAuthApp();
  });
  afterEach(async () => {
    for (const e of echos.splice(0)) e.disconnect();
    await hub.close();
    await auth.close();
  });

  it('Echo.channel().listen() and private().listen() receive Herald API publishes', async () => {
    const e = echo('u1');
    const got = new Collector<[string, unknown]>();
    const subscribedTo = new Collector<string>();
    e.channel('orders')
      .subscribed(() => subscribedTo.push('orders'))
      .listen('.OrderShipped', (data: unknown) => got.push(['public', data]));
    e.private('orders.1')
      .subscribed(() => subscribedTo.push('private-orders.1'))
      .listen('OrderPaid', (data: unknown) => got.push(['private', data]));
    await subscribedTo.count(2);
    await publishHttp(hub.url, 'app1:orders', { event: 'OrderShipped', data: { id: 1 } });
    // Echo's namespace: `listen('OrderPaid')` is the event `App\Events\OrderPaid`.
    await publishHttp(hub.url, 'app1:private-orders.1', { event: 'App\\Events\\OrderPaid', data: { id: 2 } });
    expect(await got.count(2)).toEqual([
      ['public', { id: 1 }],
      ['private', { id: 2 }],
    ]);
  });

  it('Echo.join(): here, joining, leaving, and whisper / listenForWhisper', async () => {
    const alice = echo('alice');
    const here = new Collector<unknown[]>();
    const joining = new Collector<{ name: string }>();
    const leaving = new Collector<{ name: string }>();
    const whispers = new Collector<unknown>();
    alice
      .join('room.1')
      .here((users: unknown[]) => here.push(users))
      .joining((user: { name: string }) => joining.push(user))
      .leaving((user: { name: string }) => leaving.push(user))
      .listenForWhisper('typing', (data: unknown) => whispers.push(data));
    expect((await here.count(1))[0]).toEqual([{ name: 'User alice' }]);
    const bob = echo('bob');
    const bobHere = new Collector<unknown[]>();
    const bobRoom = bob.join('room.1').here((users: unknown[]) => bobHere.push(users));
    await bobHere.count(1);
    expect(await joining.count(1)).toEqual([{ name: 'User bob' }]);
    bobRoom.whisper('typing', { who: 'bob' });
    expect(await whispers.count(1)).toEqual([{ who: 'bob' }]);
    bob.leave('room.1');
    expect(await leaving.count(1)).toEqual([{ name: 'User bob' }]);
  });
});
