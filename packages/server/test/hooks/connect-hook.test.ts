import { CloseCode, ErrorCode } from '@herald/protocol';
import { JwtAuthenticator, Permissions, type HeraldServerOptions, type HooksOptions } from '@herald/server';
import { SseTestClient, startHookApp, startTestHub, WsTestClient, type HookApp, type HookAppRequest, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from './jwt-users.js';

const SECRET = 'hook-secret-of-at-least-16';
const API_KEY = 'an-api-key-of-16+chars';
const JWT_SECRET = 'a-jwt-secret-that-is-long-enough-for-hs256';
const permissions = (): Permissions =>
  new Permissions({ room: { subscribe: 'granted', publish: 'granted', history: 'granted', presence: 'granted' } });

/** The app's connect decision: `good` is alice with room:a, `bad` is refused, no token is let in without a user or grants. */
function decide(request: HookAppRequest): Record<string, unknown> {
  const token = request.body.token as string | undefined;
  if (token === 'bad') return { allow: false, reason: 'not you' };
  if (token === 'good')
    return { allow: true, user: 'alice', grants: { subscribe: ['room:a'], history: ['room:a'] }, info: { plan: 'gold' } };
  return { allow: true, user: null };
}

async function hubFor(app: HookApp, hooks: Partial<HooksOptions> = {}, options: HeraldServerOptions = {}): Promise<TestHub> {
  return startTestHub({
    ...options,
    security: { permissions: permissions(), apiKeys: [API_KEY], allowedOrigins: ['https://app.example'], ...options.security },
    hooks: { secrets: [SECRET], connect: `${app.url}/connect`, forwardHeaders: ['x-app-session'], forwardCookies: ['sid'], ...hooks },
  });
}

/** A WebSocket upgrade the hub refused: its status, `Retry-After` and JSON error. */
function refusedUpgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; retryAfter: string | undefined; code: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('error', () => undefined);
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const retry = res.headers['retry-after'];
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: typeof retry === 'string' ? retry : undefined,
          code: (JSON.parse(body) as { error: { code: number } }).error.code,
        });
      });
    });
  });
}

async function errorOf(res: Response): Promise<{ status: number; code: number; retryAfter: string | null }> {
  const body = (await res.json()) as { error: { code: number } };
  return { status: res.status, code: body.error.code, retryAfter: res.headers.get('retry-after') };
}

const wsUrl = (hub: TestHub, query = ''): string => `${hub.url.replace('http', 'ws')}/ws${query}`;

describe('connect hook: the same decision on every transport', () => {
  let app: HookApp;
  let hub: TestHub;
  beforeAll(async () => {
    app = await startHookApp(SECRET, decide);
    hub = await hubFor(app);
  });
  afterAll(async () => {
    await hub.close();
    await app.close();
  });

  it('WebSocket: an allowed client gets its grants, a denied one is refused 401 at the upgrade', async () => {
    const client = await WsTestClient.connect(wsUrl(hub), { headers: bearer('good') });
    expect((await client.request({ type: 'subscribe', channel: 'room:a' })).error).toBeUndefined();
    expect((await client.request({ type: 'subscribe', channel: 'room:b' })).error.code).toBe(ErrorCode.Forbidden);
    await client.close();
    expect(await refusedUpgrade(wsUrl(hub), bearer('bad'))).toEqual({ status: 401, retryAfter: undefined, code: ErrorCode.Unauthorized });
    const calls = app.requests.items.filter((r) => r.body.transport === 'websocket');
    expect(calls.map((r) => r.body.token)).toEqual(['good', 'bad']);
    expect(calls.every((r) => r.signed && r.body.hook === 'connect' && typeof r.body.client === 'string' && r.body.client.length > 0)).toBe(
      true,
    );
  });

  it('SSE: the same', async () => {
    const stream = await SseTestClient.connect(`${hub.url}/events?channel=room:a`, bearer('good'));
    expect(stream.response.statusCode).toBe(200);
    await stream.ready();
    await stream.close();
    expect(await errorOf(await fetch(`${hub.url}/events?channel=room:b`, { headers: bearer('good') }))).toMatchObject({
      status: 403,
      code: ErrorCode.Forbidden,
    });
    expect(await errorOf(await fetch(`${hub.url}/events?channel=room:a`, { headers: bearer('bad') }))).toMatchObject({
      status: 401,
      code: ErrorCode.Unauthorized,
    });
    expect(app.requests.items.filter((r) => r.body.transport === 'sse').map((r) => r.body.token)).toEqual(['good', 'good', 'bad']);
  });

  it('polling: the same, each poll identified anew', async () => {
    expect((await fetch(`${hub.url}/api/messages?channel=room:a`, { headers: bearer('good') })).status).toBe(200);
    expect(await errorOf(await fetch(`${hub.url}/api/messages?channel=room:b`, { headers: bearer('good') }))).toMatchObject({
      status: 403,
      code: ErrorCode.Forbidden,
    });
    expect(await errorOf(await fetch(`${hub.url}/api/messages?channel=room:a`, { headers: bearer('bad') }))).toMatchObject({
      status: 401,
      code: ErrorCode.Unauthorized,
    });
    expect(app.requests.items.filter((r) => r.body.transport === 'polling').map((r) => r.body.token)).toEqual(['good', 'good', 'bad']);
  });

  it('forwards the configured headers and cookies, the token and the address; others stay behind', async () => {
    const before = app.requests.items.length;
    const res = await fetch(`${hub.url}/api/messages?channel=room:a`, {
      headers: { ...bearer('good'), 'x-app-session': 's-42', 'x-other': 'no', cookie: 'sid=abc%20def; theme=dark' },
    });
    expect(res.status).toBe(200);
    const call = app.requests.items[before]!;
    expect(call.body).toMatchObject({
      hook: 'connect',
      transport: 'polling',
      token: 'good',
      headers: { 'x-app-session': 's-42' },
      cookies: { sid: 'abc def' },
    });
    expect(Object.keys(call.body.headers as object)).toEqual(['x-app-session']);
    expect(Object.keys(call.body.cookies as object)).toEqual(['sid']);
    expect(call.body.remoteAddress).toMatch(/127\.0\.0\.1/);
    expect(call.headers['herald-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
  });

  it('never asks the app about a request with the API key', async () => {
    const before = app.requests.items.length;
    const published = await fetch(`${hub.url}/api/publish`, {
      method: 'POST',
      headers: { 'x-herald-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'room:a', data: 1 }),
    });
    expect(published.status).toBe(200);
    const backend = await WsTestClient.connect(wsUrl(hub), { headers: { 'x-herald-key': API_KEY } });
    expect((await backend.request({ type: 'subscribe', channel: 'room:z' })).error).toBeUndefined();
    await backend.close();
    expect(app.requests.items.length).toBe(before);
  });

  it('WebSocket auth: a session let in without a user takes the one the hook names for its token', async () => {
    const client = await WsTestClient.connect(wsUrl(hub));
    expect((await client.request({ type: 'subscribe', channel: 'room:a' })).error.code).toBe(ErrorCode.Forbidden);
    const denied = await client.request({ type: 'auth', token: 'bad' });
    expect(denied.error.code).toBe(ErrorCode.Unauthorized);
    const auth = await client.request({ type: 'auth', token: 'good' });
    expect(auth).toMatchObject({ user: 'alice' });
    expect((await client.request({ type: 'subscribe', channel: 'room:a' })).error).toBeUndefined();
    await client.close();
    const last = app.requests.items.at(-1)!;
    expect(last.body).toMatchObject({ hook: 'connect', transport: 'websocket', token: 'good' });
  });

  it('a ticket issued to a hooked identity carries it, and its redemption asks no hook', async () => {
    const issued = await fetch(`${hub.url}/api/ticket`, { method: 'POST', headers: bearer('good') });
    expect(issued.status).toBe(200);
    const { ticket } = (await issued.json()) as { ticket: string };
    const before = app.requests.items.length;
    const client = await WsTestClient.connect(wsUrl(hub, `?ticket=${encodeURIComponent(ticket)}`));
    expect((await client.request({ type: 'subscribe', channel: 'room:a' })).error).toBeUndefined();
    expect((await client.request({ type: 'subscribe', channel: 'room:b' })).error.code).toBe(ErrorCode.Forbidden);
    await client.close();
    expect(app.requests.items.length).toBe(before);
  });

  it('counts the calls in the metrics', async () => {
    const text = await (await fetch(`${hub.url}/metrics`, { headers: { 'x-herald-key': API_KEY } })).text();
    expect(text).toMatch(/herald_hook_calls_total\{hook="connect",outcome="allow"\} [1-9]/);
    expect(text).toMatch(/herald_hook_calls_total\{hook="connect",outcome="deny"\} [1-9]/);
    expect(text).toMatch(/herald_hook_duration_seconds_count\{hook="connect"\} [1-9]/);
  });
});

describe('connect hook with a JWT authenticator as well', () => {
  it('takes a token the hub verifies without asking the app; other tokens go to the app', async () => {
    const app = await startHookApp(SECRET, decide);
    const hub = await hubFor(app, {}, { security: { authenticator: new JwtAuthenticator({ secret: JWT_SECRET }) } });
    try {
      const jwt = await new SignJWT({ herald: { subscribe: ['room:j'] } })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('jo')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(JWT_SECRET));
      const client = await WsTestClient.connect(wsUrl(hub), { headers: bearer(jwt) });
      expect((await client.request({ type: 'subscribe', channel: 'room:j' })).error).toBeUndefined();
      await client.close();
      expect(app.requests.items).toHaveLength(0);
      expect((await fetch(`${hub.url}/api/messages?channel=room:a`, { headers: bearer('good') })).status).toBe(200);
      expect(app.requests.items.map((r) => r.body.token)).toEqual(['good']);
    } finally {
      await hub.close();
      await app.close();
    }
  });
});

describe('connect hook failures fail closed with 3003 on every transport', () => {
  const apps: HookApp[] = [];
  const hubs: TestHub[] = [];
  afterEach(async () => {
    await Promise.all(hubs.splice(0).map((h) => h.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function expectUnavailable(hub: TestHub): Promise<void> {
    expect(await refusedUpgrade(wsUrl(hub), bearer('good'))).toEqual({ status: 503, retryAfter: '1', code: ErrorCode.HookUnavailable });
    for (const path of ['/events?channel=room:a', '/api/messages?channel=room:a', '/api/history?channel=room:a']) {
      expect(await errorOf(await fetch(`${hub.url}${path}`, { headers: bearer('good') }))).toEqual({
        status: 503,
        code: ErrorCode.HookUnavailable,
        retryAfter: '1',
      });
    }
    // The hub stays up and serves requests that need no hook.
    expect((await fetch(`${hub.url}/livez`)).status).toBe(200);
    const published = await fetch(`${hub.url}/api/publish`, {
      method: 'POST',
      headers: { 'x-herald-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'room:a', data: 1 }),
    });
    expect(published.status).toBe(200);
  }

  it('when the app does not answer within the timeout', async () => {
    const app = await startHookApp(SECRET, () => new Promise(() => undefined));
    apps.push(app);
    const hub = await hubFor(app, { timeout: 200 });
    hubs.push(hub);
    await expectUnavailable(hub);
    expect(app.requests.items.length).toBe(4);
  });

  it('when the app is down', async () => {
    const app = await startHookApp(SECRET, decide);
    await app.close();
    const hub = await hubFor(app);
    hubs.push(hub);
    await expectUnavailable(hub);
  });

  it('when the app answers an error status', async () => {
    const app = await startHookApp(SECRET, () => {
      throw new Error('the app fails');
    });
    apps.push(app);
    const hub = await hubFor(app);
    hubs.push(hub);
    await expectUnavailable(hub);
  });
});

describe('refresh hook at a hooked connection’s expiry', () => {
  let app: HookApp;
  let hub: TestHub;
  let refreshAllows = true;
  const soon = (): number => Date.now() / 1000 + 0.4;
  beforeAll(async () => {
    app = await startHookApp(SECRET, (request) => {
      if (request.path === '/connect')
        return { allow: true, user: 'alice', grants: { subscribe: ['room:*'] }, expiresAt: soon(), info: { n: 0 } };
      return refreshAllows
        ? { allow: true, expiresAt: soon(), info: { n: (request.body.info as { n: number }).n + 1 } }
        : { allow: false, reason: 'revoked' };
    });
    hub = await hubFor(app, { refresh: `${app.url}/refresh` });
  });
  afterAll(async () => {
    await hub.close();
    await app.close();
  });

  const refreshes = (transport: string): HookAppRequest[] =>
    app.requests.items.filter((r) => r.path === '/refresh' && r.body.transport === transport);

  it('WebSocket: extended while the app allows (the session keeps receiving), closed with 4100 once it denies', async () => {
    refreshAllows = true;
    const client = await WsTestClient.connect(wsUrl(hub), { headers: bearer('good') });
    expect((await client.request({ type: 'subscribe', channel: 'room:r' })).error).toBeUndefined();
    await app.requests.until(() => refreshes('websocket').length >= 2, 'two refreshes');
    const [first, second] = refreshes('websocket');
    expect(first!.body).toMatchObject({ hook: 'refresh', user: 'alice', info: { n: 0 } });
    expect(second!.body).toMatchObject({ info: { n: 1 }, client: first!.body.client });
    await fetch(`${hub.url}/api/publish`, {
      method: 'POST',
      headers: { 'x-herald-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'room:r', data: 'still here' }),
    });
    expect((await client.waitForMessages(1, 'room:r'))[0].data).toBe('still here');
    refreshAllows = false;
    expect(await client.closed).toEqual({ code: CloseCode.TokenExpired, reason: 'token expired: the app refused to extend it' });
  });

  it('SSE: extended while the app allows, ended with a disconnect event (2002) once it denies', async () => {
    refreshAllows = true;
    const stream = await SseTestClient.connect(`${hub.url}/events?channel=room:s`, bearer('good'));
    await stream.ready();
    await app.requests.until(() => refreshes('sse').length >= 1, 'a refresh');
    refreshAllows = false;
    await stream.ended;
    const disconnect = stream.events.items.find((e) => e.event === 'disconnect');
    expect(JSON.parse(disconnect!.data)).toEqual({
      type: 'disconnect',
      error: { code: ErrorCode.TokenExpired, message: 'token expired: the app refused to extend it' },
    });
  });

  it('a client refresh command goes to the refresh hook with the token', async () => {
    refreshAllows = true;
    const client = await WsTestClient.connect(wsUrl(hub), { headers: bearer('good') });
    const reply = await client.request({ type: 'refresh', token: 'renewed' });
    expect(reply.error).toBeUndefined();
    expect(reply.user).toBe('alice');
    expect(refreshes('websocket').some((r) => r.body.token === 'renewed')).toBe(true);
    await client.close();
  });
});

describe('refresh without a refresh hook', () => {
  it('closes a hooked WebSocket with 4100 at its expiry, as a token’s', async () => {
    const app = await startHookApp(SECRET, () => ({ allow: true, user: 'bob', expiresAt: Date.now() / 1000 + 0.3 }));
    const hub = await hubFor(app);
    try {
      const client = await WsTestClient.connect(wsUrl(hub));
      expect(await client.closed).toEqual({ code: CloseCode.TokenExpired, reason: 'token expired' });
    } finally {
      await hub.close();
      await app.close();
    }
  });
});

describe('refresh hook that cannot decide', () => {
  it('the WebSocket closes with 4100 at its expiry when the hook has not answered by then', async () => {
    const app = await startHookApp(SECRET, (request) =>
      request.path === '/connect' ? { allow: true, user: 'carol', expiresAt: Date.now() / 1000 + 0.2 } : new Promise(() => undefined),
    );
    const hub = await hubFor(app, { refresh: `${app.url}/refresh`, timeout: 150 });
    try {
      const client = await WsTestClient.connect(wsUrl(hub));
      expect(await client.closed).toEqual({ code: CloseCode.TokenExpired, reason: 'token expired: the refresh hook is unavailable' });
      // Asked ahead of the expiry (the retries are in refresh-early.test.ts).
      expect(app.requests.items.filter((r) => r.path === '/refresh')).toHaveLength(1);
    } finally {
      await hub.close();
      await app.close();
    }
  });

  it('ends a joinLeave SSE stream whose refreshed grants no longer allow presence on its channel (2001), as the WebSocket does', async () => {
    const app = await startHookApp(SECRET, (request) =>
      request.path === '/connect'
        ? { allow: true, user: 'erin', grants: { subscribe: ['room:x'], presence: ['room:x'] }, expiresAt: Date.now() / 1000 + 0.2 }
        : { allow: true, grants: { subscribe: ['room:x'] }, expiresAt: Date.now() / 1000 + 60 },
    );
    const hub = await hubFor(app, { refresh: `${app.url}/refresh` });
    try {
      const stream = await SseTestClient.connect(`${hub.url}/events?channel=room:x&joinLeave=1`);
      await stream.ready();
      const ws = await WsTestClient.connect(wsUrl(hub));
      expect((await ws.request({ type: 'subscribe', channel: 'room:x', joinLeave: true })).error).toBeUndefined();
      expect(
        (await ws.frames.until((fs) => fs.some((f) => f.type === 'unsubscribed'), 'unsubscribed')).find((f) => f.type === 'unsubscribed'),
      ).toMatchObject({
        channel: 'room:x',
        error: { code: ErrorCode.Forbidden },
      });
      await stream.ended;
      const disconnect = stream.events.items.find((e) => e.event === 'disconnect');
      expect(JSON.parse(disconnect!.data)).toEqual({
        type: 'disconnect',
        error: { code: ErrorCode.Forbidden, message: 'presence on room:x is not allowed' },
      });
      await ws.close();
    } finally {
      await hub.close();
      await app.close();
    }
  });

  it('ends an SSE stream whose refreshed grants no longer allow its channel with that refusal', async () => {
    const app = await startHookApp(SECRET, (request) =>
      request.path === '/connect'
        ? { allow: true, user: 'dave', grants: { subscribe: ['room:x'] }, expiresAt: Date.now() / 1000 + 0.2 }
        : { allow: true, grants: { subscribe: ['room:y'] } },
    );
    const hub = await hubFor(app, { refresh: `${app.url}/refresh` });
    try {
      const stream = await SseTestClient.connect(`${hub.url}/events?channel=room:x`);
      await stream.ready();
      await stream.ended;
      const disconnect = stream.events.items.find((e) => e.event === 'disconnect');
      expect((JSON.parse(disconnect!.data) as { error: { code: number } }).error.code).toBe(ErrorCode.Forbidden);
    } finally {
      await hub.close();
      await app.close();
    }
  });
});

describe('connect cache (cacheTtl)', () => {
  it('asks the app once for polls with the same credentials, again for other credentials', async () => {
    const app = await startHookApp(SECRET, decide);
    const hub = await hubFor(app, { cacheTtl: 60 });
    try {
      for (let i = 0; i < 3; i++)
        expect((await fetch(`${hub.url}/api/messages?channel=room:a`, { headers: bearer('good') })).status).toBe(200);
      expect(app.requests.items).toHaveLength(1);
      expect((await fetch(`${hub.url}/api/messages?channel=room:a`, { headers: bearer('bad') })).status).toBe(401);
      expect((await fetch(`${hub.url}/api/messages?channel=room:a`, { headers: bearer('bad') })).status).toBe(401);
      // Denials are never cached.
      expect(app.requests.items).toHaveLength(3);
    } finally {
      await hub.close();
      await app.close();
    }
  });
});

describe('cookies forwarded to the connect hook', () => {
  it('follow the cookie rules: a browser request carrying one is refused on a hub allowing every origin', async () => {
    const app = await startHookApp(SECRET, decide);
    const hub = await hubFor(app, {}, { security: { allowedOrigins: '*' } });
    try {
      const res = await fetch(`${hub.url}/api/messages?channel=room:a`, { headers: { cookie: 'sid=abc', origin: 'https://evil.example' } });
      expect(await errorOf(res)).toMatchObject({ status: 403, code: ErrorCode.Forbidden });
      expect(app.requests.items).toHaveLength(0);
    } finally {
      await hub.close();
      await app.close();
    }
  });
});
