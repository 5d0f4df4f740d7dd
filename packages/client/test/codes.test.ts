import { createClient, type Envelope, type HeraldClient, type TransportName } from '@herald/client/node';
import { JwtAuthenticator, Permissions } from '@herald/server';
import { Collector, eventually, startTestHub, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';

const SECRET = 'a-secret-that-is-long-enough-for-hs256!';
const API_KEY = 'backend-key-0123456789';
const sign = (sub: string, seconds: number): Promise<string> =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
    .sign(new TextEncoder().encode(SECRET));

describe("the client reacts to the hub's codes as docs/errors.md says", () => {
  let hub: TestHub | undefined;
  const clients: HeraldClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await hub?.close();
  });
  const secureHub = async (): Promise<TestHub> =>
    (hub = await startTestHub({
      security: {
        authenticator: new JwtAuthenticator({ secret: SECRET, leeway: 0 }),
        permissions: new Permissions({
          room: { subscribe: 'authenticated', publish: 'authenticated', history: 'authenticated', presence: 'authenticated' },
        }),
        apiKeys: [API_KEY],
        requireAuth: true,
      },
    }));

  it.each<TransportName>(['websocket', 'sse', 'polling'])(
    '%s: an expiring token is refreshed with getToken and the subscription resumes without loss',
    async (transport) => {
      await secureHub();
      let issued = 0;
      const client = createClient({
        url: hub!.url,
        transports: [transport],
        pollWait: 1,
        reconnect: { minDelay: 10, maxDelay: 50 },
        // The first token lives 2 s; the client refreshes it before expiry (or reconnects on 4100).
        getToken: () => sign('alice', ++issued === 1 ? 2 : 60),
      });
      clients.push(client);
      const got = new Collector<Envelope>();
      const sub = client.subscribe('room:1', (m) => got.push(m));
      await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
      for (let i = 1; i <= 3; i++) await hub!.server.hub.publish('room:1', i);
      await got.count(3);
      await expect.poll(() => issued, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
      // Past the first token's expiry: still connected, still receiving, nothing lost.
      await new Promise((resolve) => setTimeout(resolve, 2200));
      for (let i = 4; i <= 6; i++) await hub!.server.hub.publish('room:1', i);
      await got.count(6, 10_000);
      expect(got.items.map((m) => m.data)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(client.state).not.toBe('closed');
    },
    20_000,
  );

  it('stops with 4100 when a static token expires (no getToken to refresh it)', async () => {
    await secureHub();
    const client = createClient({ url: hub!.url, transports: ['websocket'], token: await sign('bob', 1) });
    clients.push(client);
    const errors = new Collector<{ code: unknown }>();
    client.on('error', (e) => errors.push(e));
    client.subscribe('room:2');
    await errors.count(1, 5000);
    expect(errors.items[0]!.code).toBe(4100);
    expect(client.state).toBe('closed');
  });

  it('stops on a refused token, and on a disconnect by the backend (4502 on every transport)', async () => {
    await secureHub();
    const bad = createClient({ url: hub!.url, transports: ['sse'], token: 'not-a-jwt' });
    clients.push(bad);
    const badErrors = new Collector<{ code: unknown }>();
    bad.on('error', (e) => badErrors.push(e));
    bad.subscribe('room:3');
    await badErrors.count(1);
    expect(badErrors.items[0]!.code).toBe(2000);
    expect(bad.state).toBe('closed');

    for (const transport of ['websocket', 'sse', 'polling'] as const) {
      const client = createClient({ url: hub!.url, transports: [transport], getToken: () => sign('carol', 60) });
      clients.push(client);
      const sub = client.subscribe('room:3');
      await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
      const errors = new Collector<{ code: unknown }>();
      client.on('error', (e) => errors.push(e));
      // A polling client is subscribed after its pin, and a member (a session to end) after its next poll.
      await eventually(async () => {
        const res = await fetch(`${hub!.url}/api/presence?channel=room:3`, { headers: { 'x-herald-key': API_KEY } });
        const { members } = (await res.json()) as { members: { user: string; client: string }[] };
        return members.some((m) => m.user === 'carol' && (transport !== 'polling' || /^p[A-Za-z0-9_-]{16}$/.test(m.client)));
      }, 'carol is a member of room:3');
      const res = await fetch(`${hub!.url}/api/disconnect`, {
        method: 'POST',
        headers: { 'x-herald-key': API_KEY },
        body: JSON.stringify({ user: 'carol' }),
      });
      expect(((await res.json()) as { disconnected: number }).disconnected).toBe(1);
      await errors.count(1);
      expect(errors.items[0]!.code).toBe(4502);
      expect(client.state).toBe('closed');
    }
  });
});
