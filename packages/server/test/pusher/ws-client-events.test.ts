import { Collector, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientOptions, PusherClients, startAuthApp, startPusherHub, subscribed, type AuthApp } from './pusher-fixtures.js';

describe('Pusher door: client events', () => {
  let hub: TestHub;
  let auth: AuthApp;
  const clients = new PusherClients();
  const raw: WsTestClient[] = [];
  beforeEach(async () => {
    hub = await startPusherHub({}, { apps: [{ id: 'app1', key: 'app1-key', secret: 'app1-secret', clientEventsPerSecond: 5 }] });
    auth = await startAuthApp();
  });
  afterEach(async () => {
    clients.closeAll();
    await Promise.all(raw.splice(0).map((c) => c.close()));
    await hub.close();
    await auth.close();
  });

  it('relays client-* on private channels to the others (not the sender), stored in the log for Herald clients with offsets', async () => {
    const herald = await WsTestClient.connect(hub.wsUrl);
    raw.push(herald);
    await herald.request({ type: 'subscribe', channel: 'app1:private-doc' });
    const sender = await clients.connect(clientOptions(hub, auth));
    const other = await clients.connect(clientOptions(hub, auth));
    await subscribed(sender, 'private-doc');
    await subscribed(other, 'private-doc');
    const echoed = new Collector<unknown>();
    const received = new Collector<[unknown, unknown]>();
    sender.channel('private-doc').bind('client-typing', (data: unknown) => echoed.push(data));
    other.channel('private-doc').bind('client-typing', (data: unknown, meta: unknown) => received.push([data, meta]));
    expect(sender.channel('private-doc').trigger('client-typing', { who: 'a' })).toBe(true);
    expect(sender.channel('private-doc').trigger('client-typing', 'text')).toBe(true);
    expect(await received.count(2)).toEqual([
      [{ who: 'a' }, {}],
      ['text', {}],
    ]);
    const messages = await herald.waitForMessages(2, 'app1:private-doc');
    expect(messages.map((m) => [m.offset, m.data.event, m.data.data, m.data.socket_id])).toEqual([
      [1, 'client-typing', { who: 'a' }, sender.connection.socket_id],
      [2, 'client-typing', 'text', sender.connection.socket_id],
    ]);
    // A Herald client reads them back from the log, with offsets.
    const history = await herald.request({ type: 'history', channel: 'app1:private-doc', since: { epoch: messages[0].epoch, offset: 0 } });
    expect(history.messages.map((m: { offset: number }) => m.offset)).toEqual([1, 2]);
    // Delivered after (and so ordered with) the events: the sender got none of its own.
    expect(echoed.items).toEqual([]);
  });

  it('adds user_id on presence channels; refuses public channels and unsubscribed channels with pusher:error', async () => {
    const alice = await clients.connect(clientOptions(hub, auth, 'alice'));
    const bob = await clients.connect(clientOptions(hub, auth, 'bob'));
    await subscribed(alice, 'presence-room');
    await subscribed(bob, 'presence-room');
    const got = new Collector<[unknown, unknown]>();
    bob.channel('presence-room').bind('client-wave', (data: unknown, meta: unknown) => got.push([data, meta]));
    alice.channel('presence-room').trigger('client-wave', { hi: 1 });
    expect(await got.count(1)).toEqual([[{ hi: 1 }, { user_id: 'alice' }]]);

    const client = await WsTestClient.connect(`ws://127.0.0.1:${hub.port}/app/app1-key?protocol=7`);
    raw.push(client);
    client.sendRaw(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'public' } }));
    await client.frames.until((fs) => fs.some((f) => f.event === 'pusher_internal:subscription_succeeded'), 'subscribed');
    client.sendRaw(JSON.stringify({ event: 'client-x', channel: 'public', data: {} }));
    client.sendRaw(JSON.stringify({ event: 'client-x', channel: 'private-not-mine', data: {} }));
    const frames = await client.frames.until((fs) => fs.filter((f) => f.event === 'pusher:error').length === 2, 'two errors');
    expect(frames.filter((f) => f.event === 'pusher:error').map((f) => f.data.code)).toEqual([null, null]);
  });

  it('rate-limits client events per connection with pusher:error 4301, without closing', async () => {
    const sender = await clients.connect(clientOptions(hub, auth));
    await subscribed(sender, 'private-fast');
    const errors = new Collector<{ code: number }>();
    sender.connection.bind('message', (m: { event: string; data: { code: number } }) => m.event === 'pusher:error' && errors.push(m.data));
    for (let i = 0; i < 20; i++) sender.channel('private-fast').trigger('client-n', { i });
    await errors.until((e) => e.length > 0, 'a rate-limit error');
    expect(errors.items[0]!.code).toBe(4301);
    expect(sender.connection.state).toBe('connected');
    // The first events (the burst, 5) were stored; the rest were refused.
    const read = await hub.server.hub.read('app1:private-fast');
    expect(read.messages.length).toBeGreaterThanOrEqual(5);
    expect(read.messages.length).toBeLessThan(20);
  });
});
