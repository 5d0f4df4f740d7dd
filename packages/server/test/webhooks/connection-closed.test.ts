import { randomBytes } from 'node:crypto';
import { CloseCode } from '@herald/protocol';
import { RecordingSink, SseTestClient, type TestHub, type WsTestClient } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { API_KEY, connectAs, startEventHub, tokenFor } from './helpers.js';

/** The `connection_closed` events so far (without id and time). */
const closedEvents = (sink: RecordingSink): Record<string, unknown>[] => sink.of('connection_closed');

async function disconnect(hub: TestHub, body: unknown): Promise<void> {
  const res = await fetch(`${hub.url}/api/disconnect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-Herald-Key': API_KEY },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

/** The session's id (its presence member on a channel it subscribes to for the purpose). */
async function sessionId(client: WsTestClient, channel: string): Promise<string> {
  await client.request({ type: 'subscribe', channel });
  const reply = await client.request({ type: 'presence', channel });
  return reply.members[0].client as string;
}

describe('webhook events: connection_closed with reason and close code', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });
  const until = (sink: RecordingSink, n: number): Promise<unknown> =>
    sink.events.until((es) => es.filter((e) => e.type === 'connection_closed').length >= n, `${n} connection_closed`);

  it('WebSocket: the client closes (client, its code), the connection is lost (dropped, 1006)', async () => {
    const sink = new RecordingSink(['connection_closed']);
    hub = await startEventHub(sink);
    const alice = await connectAs(hub.wsUrl, 'alice');
    const aliceId = await sessionId(alice, 'a');
    alice.socket.close(1000, 'bye');
    await until(sink, 1);
    const anon = await connectAs(hub.wsUrl);
    const anonId = await sessionId(anon, 'b');
    anon.socket.terminate();
    await until(sink, 2);
    expect(closedEvents(sink)).toEqual([
      { type: 'connection_closed', client: aliceId, user: 'alice', transport: 'websocket', reason: 'client', code: 1000 },
      { type: 'connection_closed', client: anonId, user: null, transport: 'websocket', reason: 'dropped', code: 1006 },
    ]);
  });

  it('WebSocket and SSE: disconnected by a backend (POST /api/disconnect)', async () => {
    const sink = new RecordingSink(['connection_closed']);
    hub = await startEventHub(sink);
    const bob = await connectAs(hub.wsUrl, 'bob');
    const bobId = await sessionId(bob, 'c');
    const stream = await SseTestClient.connect(`${hub.url}/events?channel=c`, { Authorization: `Bearer ${await tokenFor('bob')}` });
    await stream.ready();
    await disconnect(hub, { user: 'bob' });
    expect((await bob.closed).code).toBe(CloseCode.Disconnected);
    await stream.ended;
    await until(sink, 2);
    const events = closedEvents(sink);
    expect(events).toContainEqual({
      type: 'connection_closed',
      client: bobId,
      user: 'bob',
      transport: 'websocket',
      reason: 'disconnected',
      code: CloseCode.Disconnected,
    });
    expect(events).toContainEqual({
      type: 'connection_closed',
      client: expect.any(String),
      user: 'bob',
      transport: 'sse',
      reason: 'disconnected',
    });
    expect(events).toHaveLength(2);
  });

  it('SSE: the client goes away (client)', async () => {
    const sink = new RecordingSink(['connection_closed']);
    hub = await startEventHub(sink);
    const stream = await SseTestClient.connect(`${hub.url}/events?channel=d`);
    await stream.ready();
    await stream.close();
    await until(sink, 1);
    expect(closedEvents(sink)).toEqual([
      { type: 'connection_closed', client: expect.any(String), user: null, transport: 'sse', reason: 'client' },
    ]);
  });

  it('shutdown: every WebSocket (4001) and SSE stream; a backend with the API key is not reported', async () => {
    const sink = new RecordingSink(['connection_closed']);
    hub = await startEventHub(sink);
    const carol = await connectAs(hub.wsUrl, 'carol');
    const carolId = await sessionId(carol, 'e');
    const backend = await connectAs(hub.wsUrl, { apiKey: true });
    await backend.request({ type: 'subscribe', channel: 'e' });
    const stream = await SseTestClient.connect(`${hub.url}/events?channel=e`);
    await stream.ready();
    const closing = hub;
    hub = undefined;
    await closing.close();
    expect((await carol.closed).code).toBe(CloseCode.ServerShutdown);
    await backend.closed;
    const events = closedEvents(sink);
    expect(events).toContainEqual({
      type: 'connection_closed',
      client: carolId,
      user: 'carol',
      transport: 'websocket',
      reason: 'shutdown',
      code: CloseCode.ServerShutdown,
    });
    expect(events).toContainEqual({
      type: 'connection_closed',
      client: expect.any(String),
      user: null,
      transport: 'sse',
      reason: 'shutdown',
    });
    expect(events).toHaveLength(2);
  });

  it('slow consumer: a WebSocket (4000) and an SSE stream that stop reading', async () => {
    const sink = new RecordingSink(['connection_closed']);
    hub = await startEventHub(sink, { sendQueueBytes: 64 * 1024 });
    const stalled = await connectAs(hub.wsUrl, 'dave');
    const stalledId = await sessionId(stalled, 'flood');
    const stream = await SseTestClient.connect(`${hub.url}/events?channel=flood`);
    await stream.ready();
    (stalled.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    stream.response.socket.pause();
    // Random text: compression (the WebSocket client offers deflate) must not shrink what piles up.
    const payload = randomBytes(3000).toString('base64');
    for (let sent = 0; closedEvents(sink).length < 2 && sent < 20_000; sent++) {
      await hub.server.hub.publish('flood', payload);
      if (sent % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    (stalled.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    stream.response.socket.resume();
    expect((await stalled.closed).code).toBe(CloseCode.SlowConsumer);
    const events = closedEvents(sink);
    expect(events).toContainEqual({
      type: 'connection_closed',
      client: stalledId,
      user: 'dave',
      transport: 'websocket',
      reason: 'slow_consumer',
      code: CloseCode.SlowConsumer,
    });
    expect(events).toContainEqual({
      type: 'connection_closed',
      client: expect.any(String),
      user: null,
      transport: 'sse',
      reason: 'slow_consumer',
    });
    expect(events).toHaveLength(2);
  });

  it('long polls are no connections: no event', async () => {
    const sink = new RecordingSink(['connection_closed']);
    hub = await startEventHub(sink);
    const res = await fetch(`${hub.url}/api/messages?channel=f&wait=0`);
    expect(res.status).toBe(200);
    await res.text();
    expect(closedEvents(sink)).toEqual([]);
  });
});
