import { createClient, type Envelope, type HeraldClient, type TransportName } from '@herald/client/node';
import { ErrorCode } from '@herald/protocol';
import type { Herald } from '@herald/server';
import { Collector, eventually } from '@herald/testkit';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { startExpressApp } from './apps/express-app.js';
import { startFastifyApp } from './apps/fastify-app.js';
import { startHonoApp } from './apps/hono-app.js';
import { startKoaApp } from './apps/koa-app.js';

// One suite run against every framework recipe of docs/embedding.md (the apps in ./apps are the
// code the doc shows): the real framework with its own routes and Herald under /realtime, on one
// server at port 0, reached by real clients (ws, eventsource, fetch, the client SDK).

interface RunningApp {
  readonly url: string;
  readonly herald: Herald;
  close(): Promise<void>;
}

const FRAMEWORKS: [string, string, () => Promise<RunningApp>][] = [
  ['Express 5', 'express', startExpressApp],
  ['Fastify 5', 'fastify', startFastifyApp],
  ['Hono on @hono/node-server', 'hono', startHonoApp],
  ['Koa 3', 'koa', startKoaApp],
];

async function publishOverHttp(base: string, channel: string, data: unknown): Promise<{ epoch: string; offset: number }> {
  const res = await fetch(`${base}/realtime/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { epoch: string; offset: number };
}

describe.each(FRAMEWORKS)('%s with Herald mounted at /realtime', (_name, hello, start) => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await start();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('the app’s own routes still answer: a GET, and a POST whose JSON body the framework parses and whose handler publishes', async () => {
    const got = await fetch(`${app.url}/hello`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({ hello });

    const order = { item: 'tea', quantity: 2 };
    const posted = await fetch(`${app.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(order),
    });
    expect(posted.status).toBe(201);
    const answer = (await posted.json()) as { received: unknown; offset: number };
    expect(answer.received).toEqual(order);
    // Published from the route handler in the same process: it is in the channel's log under the prefix.
    const history = await fetch(`${app.url}/realtime/api/history?channel=orders`);
    expect(history.status).toBe(200);
    const { messages } = (await history.json()) as { messages: Envelope[] };
    expect(messages.map((m) => [m.offset, m.data])).toEqual([[answer.offset, order]]);
  });

  it('a WebSocket (ws) at /realtime/ws subscribes and receives a message published with POST /realtime/api/publish', async () => {
    const socket = new WebSocket(`${app.url.replace('http', 'ws')}/realtime/ws`);
    onTestFinished(() => socket.close());
    const frames = new Collector<any>();
    socket.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ id: 1, type: 'subscribe', channel: 'ws-news' }));
    await frames.until((all) => all.some((f) => f.id === 1), 'the subscribe reply');
    expect(frames.items.find((f) => f.id === 1)).toMatchObject({ type: 'reply', id: 1 });
    const { offset } = await publishOverHttp(app.url, 'ws-news', { via: 'http' });
    await frames.until((all) => all.some((f) => f.type === 'message'), 'the message');
    expect(frames.items.filter((f) => f.type === 'message')).toEqual([
      expect.objectContaining({ type: 'message', channel: 'ws-news', offset, data: { via: 'http' } }),
    ]);
  });

  it('an EventSource (eventsource) at /realtime/events receives a message published from the server', async () => {
    const source = new EventSource(`${app.url}/realtime/events?channel=sse-news`);
    onTestFinished(() => source.close());
    const got = new Collector<Envelope>();
    source.onmessage = (event) => got.push(JSON.parse(event.data as string) as Envelope);
    await new Promise<void>((resolve, reject) => {
      source.onopen = () => resolve();
      source.onerror = () => reject(new Error('EventSource failed'));
    });
    await eventually(() => app.herald.stats().sse === 1, 'the stream to be open');
    const { offset } = await app.herald.publish('sse-news', 'over SSE');
    await got.count(1);
    expect(got.items).toEqual([expect.objectContaining({ channel: 'sse-news', offset, data: 'over SSE' })]);
  });

  it('a long poll at /realtime/api/messages is held until a message arrives', async () => {
    const first = await fetch(`${app.url}/realtime/api/messages?channel=poll-news`);
    expect(first.status).toBe(200);
    const { cursor } = (await first.json()) as { cursor: string };
    const held = fetch(`${app.url}/realtime/api/messages?channel=poll-news&since=${cursor}&wait=20`);
    await eventually(() => app.herald.stats().polling === 1, 'the poll to be held');
    const { offset } = await publishOverHttp(app.url, 'poll-news', 42);
    const res = await held;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { messages: Envelope[] };
    expect(body.messages.map((m) => [m.channel, m.offset, m.data])).toEqual([['poll-news', offset, 42]]);
  });

  it.each<TransportName>(['websocket', 'sse', 'polling'])(
    'the client SDK given url …/realtime receives a message over %s',
    async (transport) => {
      const client: HeraldClient = createClient({ url: `${app.url}/realtime`, transports: [transport], pollWait: 5 });
      onTestFinished(() => client.close());
      const channel = `sdk-${transport}`;
      const got = new Collector<Envelope>();
      const sub = client.subscribe(channel, (m) => got.push(m));
      await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
      expect(client.transport).toBe(transport);
      const { offset } = await app.herald.publish(channel, { transport });
      await got.count(1);
      expect(got.items.map((m) => [m.channel, m.offset, m.data])).toEqual([[channel, offset, { transport }]]);
      // And the SDK's own publish goes through the prefix too.
      const reply = await sub.publish('back');
      expect(reply.offset).toBe(offset + 1);
    },
  );

  it('paths next to the prefix are the app’s; every path under it is Herald’s', async () => {
    const beside = await fetch(`${app.url}/realtimeX/api/messages?channel=x`);
    expect(beside.status).toBe(404);
    expect(await beside.text()).not.toContain(`"code":${ErrorCode.NotFound}`);
    const unknown = await fetch(`${app.url}/realtime/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: ErrorCode.NotFound, message: 'no route for GET /realtime/nope' } });
    const health = await fetch(`${app.url}/realtime/healthz`);
    expect(health.status).toBe(200);
  });

  it('an upgrade outside the prefix is not Herald’s: the app has no WebSocket there, so it fails', async () => {
    const socket = new WebSocket(`${app.url.replace('http', 'ws')}/elsewhere`);
    const failed = await new Promise<string>((resolve) => {
      socket.once('open', () => resolve('open'));
      socket.once('error', (error) => resolve(error.message));
    });
    expect(failed).not.toBe('open');
    expect(app.herald.stats().websocket).toBe(0);
  });
});
