import { createClient, type HeraldClient } from '@herald/client/node';
import { ErrorCode } from '@herald/protocol';
import { JwtAuthenticator, Permissions } from '@herald/server';
import { Collector, startTestHub, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';

function jwt(exp: number): string {
  const part = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: 'u1', exp })}.signature`;
}

describe('auth hooks', () => {
  let hub: TestHub | undefined;
  const clients: HeraldClient[] = [];
  const authorization = new Collector<string | undefined>();
  const tokenParams = new Collector<string | null>();
  afterEach(async () => {
    vi.useRealTimers();
    for (const c of clients.splice(0)) c.close();
    await hub?.close();
    authorization.items.length = 0;
    tokenParams.items.length = 0;
  });
  const start = async (): Promise<TestHub> =>
    (hub = await startTestHub({
      routes: (req, _res, url) => {
        authorization.push(req.headers.authorization);
        tokenParams.push(url.searchParams.get('token'));
        return false;
      },
    }));

  it('sends a static token with every HTTP request', async () => {
    await start();
    const client = createClient({ url: hub!.url, transports: ['polling'], token: 'static-token', pollWait: 1 });
    clients.push(client);
    const sub = client.subscribe('t');
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    await sub.publish('x');
    expect(authorization.items.length).toBeGreaterThanOrEqual(2);
    expect(new Set(authorization.items)).toEqual(new Set(['Bearer static-token']));
  });

  it('calls getToken before connecting, and exchanges the token for a ticket on SSE (never a token in the URL)', async () => {
    await start();
    const getToken = vi.fn(() => Promise.resolve('fresh-token'));
    const client = createClient({ url: hub!.url, transports: ['sse'], getToken });
    clients.push(client);
    const sub = client.subscribe('t');
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(authorization.items).toContain('Bearer fresh-token');
    expect(tokenParams.items.every((t) => t === null)).toBe(true);
  });

  it('stops retrying with a clear error when getToken rejects', async () => {
    await start();
    const getToken = vi.fn(() => Promise.reject(new Error('session expired')));
    const client = createClient({ url: hub!.url, getToken, reconnect: { minDelay: 10, maxDelay: 20 } });
    clients.push(client);
    const errors = new Collector<{ code: unknown; message: string }>();
    client.on('error', (e) => errors.push(e));
    client.subscribe('t');
    await errors.count(1);
    expect(errors.items[0]).toMatchObject({ code: 'token', message: 'getToken failed: session expired' });
    expect(client.state).toBe('closed');
    expect(getToken).toHaveBeenCalledTimes(1);
    await expect(client.publish('t', 1)).rejects.toMatchObject({ code: 'closed' });
  });

  it('calls getToken again shortly before the token expires', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    await start();
    const issued: string[] = [];
    const getToken = vi.fn(() => {
      // Each token lives 100 s; the client refreshes 20 s before expiry (a fifth of a short lifetime).
      const token = jwt(Math.floor(Date.now() / 1000) + 100);
      issued.push(token);
      return Promise.resolve(token);
    });
    const client = createClient({ url: hub!.url, transports: ['websocket'], getToken });
    clients.push(client);
    client.connect();
    await vi.waitUntil(() => client.state === 'connected', { timeout: 10_000, interval: 5 });
    expect(getToken).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(79_000);
    expect(getToken).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(2_000);
    expect(getToken).toHaveBeenCalledTimes(2);
  });
});

describe('a refresh that narrows the grants', () => {
  const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
  let hub: TestHub | undefined;
  let client: HeraldClient | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    client?.close();
    await hub?.close();
  });

  it('ends the subscription the new token no longer grants, with an error on it; the others carry on', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    hub = await startTestHub({
      security: {
        authenticator: new JwtAuthenticator({ secret: SECRET }),
        permissions: new Permissions({ orders: { subscribe: 'granted', publish: 'none', history: 'granted', presence: 'none' } }),
      },
    });
    const grants = [['orders:1', 'orders:2'], ['orders:2']];
    const getToken = vi.fn(() =>
      new SignJWT({ channels: grants[Math.min(getToken.mock.calls.length - 1, 1)] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice')
        .setExpirationTime(Math.floor(Date.now() / 1000) + 100)
        .sign(Buffer.from(SECRET)),
    );
    client = createClient({ url: hub.url, transports: ['websocket'], getToken });
    const errors = new Collector<{ code: unknown }>();
    const revoked = client.subscribe('orders:1');
    revoked.on('error', (e) => errors.push(e));
    const kept = client.subscribe('orders:2');
    const received = new Collector<unknown>();
    kept.on('message', (m) => received.push(m.data));
    await vi.waitUntil(() => revoked.state === 'subscribed' && kept.state === 'subscribed', { timeout: 10_000, interval: 5 });
    // The client refreshes 20 s before the 100 s token expires.
    vi.advanceTimersByTime(81_000);
    await vi.waitUntil(() => errors.items.length > 0, { timeout: 10_000, interval: 5 });
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(errors.items[0]).toMatchObject({ code: ErrorCode.Forbidden });
    expect(revoked.state).toBe('unsubscribed');
    await hub.server.hub.publish('orders:2', 'still here');
    await vi.waitUntil(() => received.items.length > 0, { timeout: 10_000, interval: 5 });
    expect(received.items).toEqual(['still here']);
    expect(client.state).toBe('connected');
  });
});
