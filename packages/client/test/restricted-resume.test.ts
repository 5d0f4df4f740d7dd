import { createClient, type Envelope, type Gap, type HeraldClient, type TransportName } from '@herald/client/node';
import { JwtAuthenticator, Permissions } from '@herald/server';
import { Collector, startTestHub, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { compact } from '@herald/client/compact';
import { msgpack } from '@herald/client/msgpack';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * A client that may subscribe to a channel but not read its history (issue 9, item 2) receives
 * messages from the moment it subscribes, and still resumes without loss or duplicates on every
 * transport: the SDK passes back the signed positions the hub handed it.
 */

const SECRET = 'restricted-resume-secret-0123456789abcdef';
const CHANNEL = 'room:7';
let hub: TestHub;
let token: string;
let skew = 0;
const clients: HeraldClient[] = [];

beforeAll(async () => {
  hub = await startTestHub({
    // Moved on by hand: the backlog is stored long before subscribe() (see the test).
    clock: { now: () => Date.now() + skew },
    security: {
      authenticator: new JwtAuthenticator({ secret: SECRET }),
      apiKeys: ['restricted-resume-api-key-0123456789'],
      permissions: new Permissions({ room: { subscribe: 'authenticated', publish: 'none', history: 'none', presence: 'none' } }),
    },
  });
  token = await new SignJWT({ sub: 'carol' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await hub.close();
});

// Every transport in every frame format it speaks: compact items carry the signed cursor as their 6th element.
const FORMATS = { json: undefined, compact, msgpack };
const CASES: [TransportName, keyof typeof FORMATS][] = [
  ['websocket', 'json'],
  ['websocket', 'compact'],
  ['websocket', 'msgpack'],
  ['sse', 'json'],
  ['sse', 'compact'],
  ['polling', 'json'],
  ['polling', 'compact'],
];

describe.each(CASES)('a subscriber without history over %s, frames: %s', (transport, formatName) => {
  const format = FORMATS[formatName];
  it('gets nothing from before it subscribed, and everything after it exactly once through a lost connection', async () => {
    const channel = `${CHANNEL}-${transport}-${formatName}`;
    for (let i = 0; i < 3; i++) await hub.server.hub.publish(channel, { backlog: i });
    // A minute later on the hub's clock: far outside the one round trip a pin looks back.
    skew += 60_000;
    const client = createClient({
      url: hub.url,
      transports: [transport],
      token,
      pollWait: 1,
      reconnect: { minDelay: 20, maxDelay: 50 },
      ...(format && { format }),
    });
    clients.push(client);
    const received = new Collector<Envelope>();
    const gaps: Gap[] = [];
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    const sub = client.subscribe(channel, (m) => received.push(m));
    sub.on('gap', (g) => gaps.push(g));
    await new Promise<void>((resolve) =>
      sub.state === 'subscribed' ? resolve() : sub.on('state', (s) => s === 'subscribed' && resolve()),
    );
    let top = 3;
    for (let i = 0; i < 5; i++) ({ offset: top } = await hub.server.hub.publish(channel, { live: i }));
    await received.count(5);
    // Lost mid-stream (WebSocket and SSE; polling has no connection to lose) with more published meanwhile.
    hub.server.dropConnections();
    for (let i = 5; i < 10; i++) ({ offset: top } = await hub.server.hub.publish(channel, { live: i }));
    await received.count(10);
    expect(received.items.map((m) => m.offset)).toEqual(Array.from({ length: 10 }, (_, i) => top - 9 + i));
    expect(received.items.map((m) => (m.data as { live: number }).live)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    // Each message carries its signed cursor, in every format.
    expect(received.items.every((m) => typeof m.cursor === 'string' && m.cursor.startsWith('c1.'))).toBe(true);
    expect(gaps).toEqual([]);
    expect(errors).toEqual([]);

    // The subscription's cursor, saved and given to a new client later (a page reload), resumes too.
    const saved = sub.cursor!;
    client.close();
    const later: number[] = [];
    for (let i = 10; i < 12; i++) later.push((await hub.server.hub.publish(channel, { live: i })).offset);
    const reloaded = createClient({ url: hub.url, transports: [transport], token, pollWait: 1, ...(format && { format }) });
    clients.push(reloaded);
    const again = new Collector<Envelope>();
    reloaded.subscribe(channel, (m) => again.push(m), { since: saved });
    await again.count(2);
    expect(again.items.map((m) => m.offset)).toEqual(later);
  });
});
