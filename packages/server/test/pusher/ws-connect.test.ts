import { createHeraldServer } from '@herald/server';
import { Collector, eventually, publishHttp, WsTestClient, type TestHub } from '@herald/testkit';
import WebSocket from 'ws';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
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

  it('closes a client that stops reading with 4100 (reconnect after a back-off) and keeps delivering to the others', async () => {
    hub = await startPusherHub({ sendQueueBytes: 256 * 1024 });
    const stalled = await rawClient();
    const healthy = await rawClient();
    for (const client of [stalled, healthy]) {
      client.sendRaw(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'flood' } }));
      await client.frames.until((fs) => fs.some((f) => f.event === 'pusher_internal:subscription_succeeded'), 'subscribed');
    }
    (stalled.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'x'.repeat(4000);
    let sent = 0;
    while (hub.server.stats().pusher! > 1 && sent < 20_000) {
      await hub.server.hub.publish('app1:flood', payload);
      sent++;
      if (sent % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(hub.server.stats().pusher).toBe(1);
    (stalled.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await stalled.closed).code).toBe(4100);
    await healthy.frames.until((fs) => fs.filter((f) => f.event === 'message').length === sent, `${sent} messages`, 30_000);
    // Counted as transport `pusher` in /metrics.
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/herald_connections\{[^}]*transport="pusher"[^}]*\} 1/);
    expect(metrics).toMatch(/herald_slow_consumers_total\{[^}]*transport="pusher"[^}]*\} 1/);
  });

  it("applies Herald's upgrade checks: origin (403), connection limits (429), readiness (503)", async () => {
    hub = await startPusherHub({ security: { allowedOrigins: ['https://app.example'] }, connectionsPerIp: 1 });
    const opened: WebSocket[] = [];
    const status = (origin?: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${hub!.port}/app/${APP.key}?protocol=7`, origin === undefined ? {} : { origin });
        opened.push(ws);
        ws.on('error', () => undefined);
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
        });
        ws.once('open', () => resolve(101));
      });
    onTestFinished(() => {
      for (const ws of opened) ws.terminate();
    });
    expect(await status('https://evil.example')).toBe(403);
    const first = await rawClient();
    await first.frames.count(1);
    expect(await status('https://app.example')).toBe(429);
    await first.close();
    await eventually(async () => (await status('https://app.example')) === 101, 'slot released');
    hub.server.drain();
    expect(await status('https://app.example')).toBe(503);
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
