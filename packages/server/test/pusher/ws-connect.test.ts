import { createHeraldServer } from '@herald/server';
import { Collector, eventually, publishHttp, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { APP, clientOptions, PusherClients, startPusherHub, subscribed } from './pusher-fixtures.js';

describe('Pusher door: connecting to /app/{key}', () => {
  let hub: TestHub | undefined;
  const clients = new PusherClients();
  const raw: WsTestClient[] = [];
  const rawClient = async (path = `/app/${APP.key}?protocol=7&client=js&version=8.6.0&flash=false`): Promise<WsTestClient> => {
    const client = await WsTestClient.connect(`ws://127.0.0.1:${hub!.port}${path}`);
    raw.push(client);
    return client;
  };
  afterEach(async () => {
    clients.closeAll();
    await Promise.all(raw.splice(0).map((c) => c.close()));
    await hub?.close();
    hub = undefined;
  });

  it('sends pusher:connection_established with socket_id and activity_timeout, and answers pusher:ping', async () => {
    hub = await startPusherHub({}, { activityTimeout: 30 });
    const client = await rawClient();
    const [first] = await client.frames.count(1);
    expect(first.event).toBe('pusher:connection_established');
    const data = JSON.parse(first.data as string) as { socket_id: string; activity_timeout: number };
    expect(data.socket_id).toMatch(/^\d+\.\d+$/);
    expect(data.activity_timeout).toBe(30);
    client.sendRaw(JSON.stringify({ event: 'pusher:ping', data: {} }));
    await client.frames.until((fs) => fs.some((f) => f.event === 'pusher:pong'), 'pong');
    client.sendRaw('not json');
    const frames = await client.frames.until((fs) => fs.some((f) => f.event === 'pusher:error'), 'error');
    expect(frames.find((f) => f.event === 'pusher:error').data).toEqual({ code: null, message: expect.any(String) });
    // The connection is listed and counted as transport `pusher`, with its socket_id as session id.
    expect(hub.server.stats().pusher).toBe(1);
  });

  it('connects pusher-js and delivers a Herald API publish as event `message` (other data) or E ({event, data})', async () => {
    hub = await startPusherHub();
    const client = await clients.connect(clientOptions(hub));
    await subscribed(client, 'chat');
    const got = new Collector<[string, unknown]>();
    client.channel('chat').bind_global((event: string, data: unknown) => got.push([event, data]));
    await publishHttp(hub.url, 'app1:chat', { a: 1 });
    await publishHttp(hub.url, 'app1:chat', { event: 'order.shipped', data: { id: 7 } });
    await publishHttp(hub.url, 'app1:chat', { event: 'note', data: 'plain text' });
    const events = await got.count(3);
    expect(events.filter(([event]) => !event.startsWith('pusher:'))).toEqual([
      ['message', { a: 1 }],
      ['order.shipped', { id: 7 }],
      ['note', 'plain text'],
    ]);
  });

  it('refuses an unknown key with pusher:error 4001 and close 4001; pusher-js does not reconnect', async () => {
    hub = await startPusherHub();
    const client = await rawClient(`/app/nope?protocol=7`);
    const frames = await client.frames.count(1);
    expect(frames[0]).toEqual({ event: 'pusher:error', data: { code: 4001, message: expect.stringContaining('nope') } });
    expect((await client.closed).code).toBe(4001);
    const pusher = clients.open(clientOptions(hub), 'wrong-key');
    const states = new Collector<string>();
    pusher.connection.bind('state_change', ({ current }: { current: string }) => states.push(current));
    await states.until((s) => s.includes('disconnected'), 'disconnected');
    // No second attempt: the state stays `disconnected` and no connection is open on the hub.
    expect(pusher.connection.state).toBe('disconnected');
    expect(hub.server.stats().pusher).toBe(0);
  });

  it('refuses a missing (4008) or unsupported (4007) protocol version', async () => {
    hub = await startPusherHub();
    const missing = await rawClient(`/app/${APP.key}`);
    expect((await missing.closed).code).toBe(4008);
    const old = await rawClient(`/app/${APP.key}?protocol=4`);
    expect((await old.closed).code).toBe(4007);
    const five = await rawClient(`/app/${APP.key}?protocol=5`);
    expect((await five.frames.count(1))[0].event).toBe('pusher:connection_established');
  });

  it('pings a silent client after activity_timeout and closes it with 4201 when no pong comes', async () => {
    hub = await startPusherHub({}, { activityTimeout: 1, pongTimeout: 1 });
    const silent = await rawClient();
    // `ws` answers WebSocket pings itself, but the server pings with pusher:ping: only a Pusher client answers.
    await silent.frames.until((fs) => fs.some((f) => f.event === 'pusher:ping'), 'server ping');
    expect((await silent.closed).code).toBe(4201);
    // pusher-js keeps the connection alive (it pings after activity_timeout itself, and answers the
    // server's pings) and stays connected well past the pong timeout.
    const client = await clients.connect(clientOptions(hub));
    const id = client.connection.socket_id;
    const keepalive = new Collector<unknown>();
    client.connection.bind('message', (m: { event: string }) => /^pusher:p[io]ng$/.test(m.event) && keepalive.push(m));
    await keepalive.count(3, 10_000);
    expect(client.connection.state).toBe('connected');
    expect(client.connection.socket_id).toBe(id);
  });

  it('reconnects pusher-js after the connection drops and delivers again', async () => {
    hub = await startPusherHub();
    const client = await clients.connect(clientOptions(hub));
    await subscribed(client, 'chat');
    const got = new Collector<unknown>();
    client.channel('chat').bind('message', (data: unknown) => got.push(data));
    const firstId = client.connection.socket_id;
    const resubscribed = new Collector<unknown>();
    client.channel('chat').bind('pusher:subscription_succeeded', () => resubscribed.push(1));
    hub.server.dropConnections();
    await resubscribed.count(1, 15_000);
    expect(client.connection.socket_id).not.toBe(firstId);
    await publishHttp(hub.url, 'app1:chat', { n: 1 });
    await got.count(1);
  });

  it('closes with 4200 on shutdown (pusher-js reconnects at once, to another node)', async () => {
    hub = await startPusherHub();
    const watcher = await rawClient();
    await watcher.frames.count(1);
    const client = await clients.connect(clientOptions(hub));
    const states = new Collector<string>();
    client.connection.bind('state_change', ({ current }: { current: string }) => states.push(current));
    await hub.close();
    hub = undefined;
    expect((await watcher.closed).code).toBe(4200);
    // `retry`: straight back to `connecting`, not `disconnected` (refused) nor a back-off `unavailable`.
    await states.until((s) => s.includes('connecting'), 'reconnecting');
    expect(states.items).not.toContain('disconnected');
  });

  it('checks the pusher options before anything starts', () => {
    const make = (pusher: unknown) => () => createHeraldServer({ pusher: pusher as never });
    expect(make({ apps: [] })).toThrow(new TypeError('pusher.apps must be a non-empty array of apps'));
    expect(make({ apps: [{ id: 'a b', key: 'k', secret: 's' }] })).toThrow(
      new TypeError('pusher.apps[0].id must be 1–64 characters from A–Z a–z 0–9 _ -'),
    );
    expect(make({ apps: [{ id: 'a', key: 'k', secret: '' }] })).toThrow(new TypeError('pusher.apps[0].secret must be a non-empty string'));
    expect(
      make({
        apps: [
          { id: 'a', key: 'k', secret: 's' },
          { id: 'b', key: 'k', secret: 's' },
        ],
      }),
    ).toThrow(new TypeError('pusher.apps[1].key "k" is used by another app'));
    expect(make({ apps: [{ id: 'a', key: 'k', secret: 's', clientEventsPerSecond: 0 }] })).toThrow(
      new RangeError('pusher.apps[0].clientEventsPerSecond must be a number > 0 and at most 10000'),
    );
    expect(make({ apps: [APP], activityTimeout: 0 })).toThrow(new RangeError('pusher.activityTimeout must be an integer from 1 to 3600'));
  });
});
