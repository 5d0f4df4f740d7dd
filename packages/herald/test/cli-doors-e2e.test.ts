/**
 * A hub started by `herald start` with the doors configured by HERALD_PUSHER_* and HERALD_MERCURE_*
 * variables, driven by the real client libraries: pusher-js (public and private channels, the
 * private one authorised with the app secret given to the CLI), the `pusher` server SDK, and a
 * Mercure subscriber (the `eventsource` package) with a publisher signing its JWT with the key
 * given to the CLI.
 *
 * Each test fails until its door is merged (on main the server ignores the `pusher` and `mercure`
 * options: packages/server/src/http/front-doors.ts has no factory yet): the WebSocket door
 * (pusher-ws) for the pusher-js tests, the Pusher HTTP API and webhooks (pusher-api) for the
 * `pusher` SDK's trigger and webhook check, the Mercure door for the last.
 * What the CLI parses, refuses and prints is cli-doors-config.test.ts, which passes without them.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Collector } from '@herald/testkit';
import { EventSource } from 'eventsource';
import { SignJWT } from 'jose';
import PusherServer from 'pusher';
import PusherJs from 'pusher-js';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, startCliHub, type CliHub } from './cli-process.js';

const APP = { id: 'app1', key: 'app1-key', secret: 'app1-secret-0123456789abcdef012345' };
const MERCURE_KEY = 'mercure-key-of-32-bytes-0123456789';

// pusher-js is CommonJS: Node's default import is the class, which its types call `default`.
const Pusher = PusherJs as unknown as typeof PusherJs.default;
type Pusher = InstanceType<typeof Pusher>;

const opened: { close(): void }[] = [];
afterEach(async () => {
  for (const thing of opened.splice(0)) thing.close();
  await killAll();
});

function start(env: NodeJS.ProcessEnv = {}): Promise<CliHub> {
  return startCliHub([], {
    ...env,
    HERALD_PUSHER_APP_ID: APP.id,
    HERALD_PUSHER_APP_KEY: APP.key,
    HERALD_PUSHER_APP_SECRET: APP.secret,
    HERALD_MERCURE_JWT_KEY: MERCURE_KEY,
    HERALD_MERCURE_ANONYMOUS: 'true',
  });
}

/** A pusher-js client of the CLI's app; private channels are authorised with the `pusher` SDK (the app's backend). */
function pusherClient(hub: CliHub, backend: PusherServer): Pusher {
  const port = Number(new URL(hub.url).port);
  const client = new Pusher(APP.key, {
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: ({ socketId, channelName }: { socketId: string; channelName: string }, callback) =>
        callback(null, backend.authorizeChannel(socketId, channelName)),
    },
  });
  opened.push({ close: () => client.disconnect() });
  return client;
}

function backendOf(hub: CliHub): PusherServer {
  const url = new URL(hub.url);
  return new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: url.hostname, port: url.port, useTLS: false });
}

/** Resolves once `channel` of `client` is subscribed. */
function subscribed(client: Pusher, name: string): Promise<ReturnType<Pusher['subscribe']>> {
  const channel = client.subscribe(name);
  return new Promise((resolve, reject) => {
    channel.bind('pusher:subscription_succeeded', () => resolve(channel));
    channel.bind('pusher:subscription_error', (error: unknown) => reject(new Error(`subscribing to ${name}: ${JSON.stringify(error)}`)));
  });
}

describe('herald start with HERALD_PUSHER_* and HERALD_MERCURE_*: the doors on the wire', () => {
  it('pusher-js receives what the Herald API publishes, on a public and a private channel', async () => {
    const hub = await start();
    const client = pusherClient(hub, backendOf(hub));
    const events = new Collector<[string, string, unknown]>();
    for (const name of ['chat', 'private-orders']) {
      const channel = await subscribed(client, name);
      channel.bind_global((event: string, data: unknown) => {
        if (!event.startsWith('pusher:')) events.push([name, event, data]);
      });
    }
    for (const [channel, event, data] of [
      ['chat', 'greet', { text: 'hello' }],
      ['private-orders', 'order', { id: 7 }],
    ] as const) {
      const published = await fetch(`${hub.url}/api/publish`, {
        method: 'POST',
        body: JSON.stringify({ channel: `${APP.id}:${channel}`, data: { event, data } }),
      });
      expect(published.status).toBe(200);
    }
    await events.count(2);
    expect(events.items).toEqual([
      ['chat', 'greet', { text: 'hello' }],
      ['private-orders', 'order', { id: 7 }],
    ]);
  });

  it('pusher-js receives what the `pusher` SDK triggers through the HTTP API, signed with the secret given to the CLI', async () => {
    const hub = await start();
    const backend = backendOf(hub);
    const client = pusherClient(hub, backend);
    const events = new Collector<[string, unknown]>();
    const chat = await subscribed(client, 'chat');
    chat.bind_global((event: string, data: unknown) => {
      if (!event.startsWith('pusher:')) events.push([event, data]);
    });
    await backend.trigger('chat', 'greet', { text: 'from the Pusher API' });
    await events.count(1);
    expect(events.items).toEqual([['greet', { text: 'from the Pusher API' }]]);
    const url = new URL(hub.url);
    const impostor = new PusherServer({
      appId: APP.id,
      key: APP.key,
      secret: 'not-the-secret-given-to-the-cli-0123',
      host: url.hostname,
      port: url.port,
      useTLS: false,
    });
    await expect(impostor.trigger('chat', 'greet', {})).rejects.toMatchObject({ status: 401 });
  });

  it('sends the app webhooks to HERALD_PUSHER_WEBHOOK_URL, signed so the `pusher` SDK verifies them', async () => {
    const received = new Collector<{ valid: boolean; events: { name: string; channel?: string }[] }>();
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const webhook = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1' }).webhook({
          headers: req.headers,
          rawBody: body,
        });
        const valid = webhook.isValid();
        received.push({ valid, events: valid ? webhook.getEvents() : [] });
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    opened.push(receiver);
    const hub = await start({ HERALD_PUSHER_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/pusher` });
    const client = pusherClient(hub, backendOf(hub));
    await subscribed(client, 'chat');
    await received.until((items) => items.some((r) => r.events.some((e) => e.name === 'channel_occupied')), 'channel_occupied');
    expect(received.items.every((r) => r.valid)).toBe(true);
    expect(received.items.flatMap((r) => r.events)).toContainEqual(expect.objectContaining({ name: 'channel_occupied', channel: 'chat' }));
  });

  it('refuses a private channel authorised with another secret', async () => {
    const hub = await start();
    const url = new URL(hub.url);
    const impostor = new PusherServer({
      appId: APP.id,
      key: APP.key,
      secret: 'not-the-secret-given-to-the-cli-0123',
      host: url.hostname,
      port: url.port,
      useTLS: false,
    });
    const client = pusherClient(hub, impostor);
    await expect(subscribed(client, 'private-orders')).rejects.toThrow(/subscribing to private-orders/);
  });

  it('a Mercure subscriber receives an update posted with a JWT signed with the key given to the CLI', async () => {
    const hub = await start();
    const topic = 'https://example.com/books/1';
    const source = new EventSource(`${hub.url}/.well-known/mercure?topic=${encodeURIComponent(topic)}`);
    opened.push(source);
    const updates = new Collector<string>();
    source.addEventListener('message', (event) => updates.push(event.data));
    await new Promise<void>((resolve, reject) => {
      source.addEventListener('open', () => resolve());
      source.addEventListener('error', (event) => reject(new Error(`Mercure subscribe failed: ${event.message ?? ''}`)));
    });
    const jwt = await new SignJWT({ mercure: { publish: ['*'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(MERCURE_KEY));
    const posted = await fetch(`${hub.url}/.well-known/mercure`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ topic, data: '{"title":"Dune"}' }),
    });
    expect(posted.status).toBe(200);
    await updates.count(1);
    expect(updates.items).toEqual(['{"title":"Dune"}']);
    // A JWT signed with another key is refused.
    const forged = await new SignJWT({ mercure: { publish: ['*'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('another-key-of-32-bytes-0123456789'));
    const refused = await fetch(`${hub.url}/.well-known/mercure`, {
      method: 'POST',
      headers: { authorization: `Bearer ${forged}` },
      body: new URLSearchParams({ topic, data: 'x' }),
    });
    expect(refused.status).toBe(401);
  });
});
