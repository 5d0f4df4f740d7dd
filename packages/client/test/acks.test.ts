import { createClient, type Envelope, type HeraldClient, type TransportName } from '@herald/client/node';
import { ALLOW_ALL, DENY_ALL, JwtAuthenticator, Permissions } from '@herald/server';
import { eventually, startTestHub, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/** The SDK's `ack` option end to end on every transport: what the hub stores, through `GET /api/acks`. */

const SECRET = 'client-acks-test-secret-0123456789abcdef';
const API_KEY = 'c'.repeat(32);
let hub: TestHub;
const clients: HeraldClient[] = [];
let counter = 0;
const channel = (): string => `chat:acks-${counter++}`;

function tokenFor(sub: string): Promise<string> {
  return new SignJWT({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET));
}

/** Every ack the client sent: WebSocket `ack` commands and `POST /api/ack` requests. */
const sent: { channel: string; offset: number }[] = [];

class CountingWebSocket extends WebSocket {
  override send(data: any, ...rest: any[]): void {
    const text = String(data);
    if (text.includes('"type":"ack"')) sent.push(JSON.parse(text) as { channel: string; offset: number });
    (super.send as (...a: unknown[]) => void)(data, ...rest);
  }
}

const countingFetch: typeof fetch = (input, init) => {
  if (
    (typeof input === 'string' ? input : input instanceof URL ? input.href : input.url).endsWith('/api/ack') &&
    typeof init?.body === 'string'
  )
    sent.push(JSON.parse(init.body) as { channel: string; offset: number });
  return fetch(input, init);
};

async function client(transport: TransportName, user: string): Promise<HeraldClient> {
  const c = createClient({
    url: hub.url,
    transports: [transport],
    pollWait: 5,
    token: await tokenFor(user),
    ackInterval: 100,
    WebSocket: CountingWebSocket,
    fetch: countingFetch,
  });
  clients.push(c);
  return c;
}

async function publish(ch: string, count: number): Promise<string> {
  const res = await fetch(`${hub.url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-herald-key': API_KEY },
    body: JSON.stringify({ messages: Array.from({ length: count }, (_, i) => ({ channel: ch, data: i + 1 })) }),
  });
  const body = (await res.json()) as { results: { epoch: string }[] };
  return body.results[0]!.epoch;
}

async function acked(ch: string, user: string): Promise<number | undefined> {
  const res = await fetch(`${hub.url}/api/acks?channel=${ch}&user=${user}`, { headers: { 'x-herald-key': API_KEY } });
  const body = (await res.json()) as { acks: { offset: number }[] };
  return body.acks[0]?.offset;
}

const subscribed = (sub: { state: string; on(e: 'state', l: (s: string) => void): () => void }): Promise<void> =>
  sub.state === 'subscribed' ? Promise.resolve() : new Promise((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));

beforeAll(async () => {
  hub = await startTestHub({
    security: {
      authenticator: new JwtAuthenticator({ secret: SECRET }),
      apiKeys: [API_KEY],
      permissions: new Permissions({ chat: ALLOW_ALL, secret: DENY_ALL }, ALLOW_ALL),
    },
  });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await hub.close();
});

describe.each<TransportName>(['websocket', 'sse', 'polling'])('subscription ack over %s', (transport) => {
  it("'auto' acks what the handler processed, coalesced: the hub shows the last offset", async () => {
    const ch = channel();
    const c = await client(transport, 'alice');
    const seen: number[] = [];
    const sub = c.subscribe(ch, (m: Envelope) => void seen.push(m.offset), { ack: 'auto' });
    await subscribed(sub);
    const before = sent.length;
    await publish(ch, 30);
    await eventually(() => seen.length === 30, 'thirty messages');
    await eventually(async () => (await acked(ch, 'alice')) === 30, 'the hub shows offset 30');
    const mine = sent.slice(before).filter((a) => a.channel === ch);
    // Thirty messages, a handful of acks: at most one per channel per ackInterval.
    expect(mine.length).toBeGreaterThanOrEqual(1);
    expect(mine.length).toBeLessThan(10);
    expect(mine.at(-1)!.offset).toBe(30);
  });

  it("'auto' stops at a message whose handler threw (or whose promise rejected); a manual ack moves on", async () => {
    const ch = channel();
    const c = await client(transport, 'bob');
    const seen: Envelope[] = [];
    const sub = c.subscribe(
      ch,
      async (m: Envelope) => {
        seen.push(m);
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (m.offset === 4) throw new Error('cannot process 4');
      },
      { ack: 'auto' },
    );
    await subscribed(sub);
    await publish(ch, 6);
    await eventually(() => seen.length === 6, 'six messages');
    await eventually(async () => (await acked(ch, 'bob')) === 3, 'the hub shows offset 3');
    // Nothing past 3 is sent by itself.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await acked(ch, 'bob')).toBe(3);
    sub.ack(seen[5]!);
    await eventually(async () => (await acked(ch, 'bob')) === 6, 'the manual ack: offset 6');
  });

  it("'manual' sends only what the app acks; an ack the hub refuses is the subscription's error", async () => {
    const ch = channel();
    const c = await client(transport, 'carol');
    const seen: Envelope[] = [];
    const sub = c.subscribe(ch, (m: Envelope) => void seen.push(m), { ack: 'manual' });
    await subscribed(sub);
    await publish(ch, 3);
    await eventually(() => seen.length === 3, 'three messages');
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await acked(ch, 'carol')).toBeUndefined();
    sub.ack(seen[1]!);
    await eventually(async () => (await acked(ch, 'carol')) === 2, 'offset 2');
    const errors: { code: unknown }[] = [];
    sub.on('error', (e) => errors.push(e));
    sub.ack({ epoch: 'otherEpoch', offset: 1 });
    await eventually(() => errors.length === 1, 'the refusal');
    expect(errors[0]!.code).toBe(1013);
    expect(() => sub.ack({ epoch: 'e', offset: 0 })).toThrow(TypeError);
  });

  it('close() sends the acks still waiting for their interval', async () => {
    const ch = channel();
    const c = createClient({
      url: hub.url,
      transports: [transport],
      pollWait: 5,
      token: await tokenFor('erin'),
      ackInterval: 60_000,
    });
    clients.push(c);
    const seen: number[] = [];
    const sub = c.subscribe(ch, (m: Envelope) => void seen.push(m.offset), { ack: 'auto' });
    await subscribed(sub);
    await publish(ch, 2);
    await eventually(() => seen.length === 2, 'two messages');
    c.close();
    await eventually(async () => (await acked(ch, 'erin')) === 2, 'offset 2, sent by close()');
  });

  it("'auto' with an async iterator acks a message once the next one is asked for", async () => {
    const ch = channel();
    const c = await client(transport, 'dave');
    const sub = c.subscribe(ch, undefined, { ack: 'auto' });
    const iterator = sub[Symbol.asyncIterator]();
    await subscribed(sub);
    await publish(ch, 3);
    expect((await iterator.next()).value.offset).toBe(1);
    expect((await iterator.next()).value.offset).toBe(2);
    await eventually(async () => (await acked(ch, 'dave')) === 1, 'offset 1 (2 is still being processed)');
    expect((await iterator.next()).value.offset).toBe(3);
    await eventually(async () => (await acked(ch, 'dave')) === 2, 'offset 2');
  });
});
