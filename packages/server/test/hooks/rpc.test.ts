import { randomBytes } from 'node:crypto';
import { ErrorCode } from '@herald/protocol';
import { JwtAuthenticator, Permissions, type HeraldServerOptions } from '@herald/server';
import { freePort, startHookApp, startTestHub, WsTestClient, type HookApp, type HookAppHandler, type TestHub } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jwtUsers } from './jwt-users.js';

/**
 * rpc through the app's hook, against a real app server that verifies every signature: the
 * WebSocket `rpc` command and `POST /api/rpc` reach the same hook and get the same decisions.
 */

const SECRET = randomBytes(24).toString('base64url');
const { secret: TOKEN_KEY, token } = jwtUsers();
const API_KEY = randomBytes(24).toString('base64url');
const HOOK_TIMEOUT = 300;

/** Holds a request until the app closes: the hook times out. */
const never = new Promise<never>(() => undefined);

const answer: HookAppHandler = (request, res) => {
  const { method, data, user, transport, client, backend } = request.body;
  if (request.path === '/billing') return { allow: true, data: { billed: data } };
  switch (method) {
    case 'deny':
      return { allow: false, reason: 'not today' };
    case 'slow':
      return never;
    case 'nodata':
      return { allow: true };
    case 'broken':
      res.writeHead(500).end('oops');
      return undefined;
    default:
      return { allow: true, data: { echo: data, user, transport, client, backend: backend ?? false } };
  }
};

let app: HookApp;
let hub: TestHub;
const hubs: TestHub[] = [];
const clients: WsTestClient[] = [];

async function ws(url: string = hub.wsUrl, headers?: Record<string, string>): Promise<WsTestClient> {
  const client = await WsTestClient.connect(url, headers && { headers });
  clients.push(client);
  return client;
}

async function startHub(options: HeraldServerOptions): Promise<TestHub> {
  const started = await startTestHub(options);
  hubs.push(started);
  return started;
}

function hooked(extra: Partial<NonNullable<HeraldServerOptions['hooks']>> = {}): HeraldServerOptions['hooks'] {
  return {
    secrets: [SECRET],
    rpc: `${app.url}/rpc`,
    timeout: HOOK_TIMEOUT,
    namespaces: { billing: { rpc: `${app.url}/billing` }, off: { rpc: false } },
    ...extra,
  };
}

async function rpcHttp(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${url}/api/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

beforeAll(async () => {
  app = await startHookApp(SECRET, answer);
  hub = await startHub({ hooks: hooked() });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await Promise.all(hubs.map((h) => h.close()));
  await app.close();
  // Every call the hub made was signed with the configured secret.
  expect(app.requests.items.length).toBeGreaterThan(0);
  expect(app.requests.items.filter((r) => !r.signed)).toEqual([]);
});

describe('rpc over the WebSocket', () => {
  it('sends the method, data and caller to the hook and replies with the data the app answered', async () => {
    const client = await ws();
    const before = app.requests.items.length;
    const reply = await client.request({ type: 'rpc', method: 'echo', data: { n: [1, 2] } });
    expect(reply).toEqual({
      type: 'reply',
      id: expect.any(Number),
      data: { echo: { n: [1, 2] }, user: null, transport: 'websocket', client: expect.any(String), backend: false },
    });
    const request = app.requests.items[before]!;
    expect(request.path).toBe('/rpc');
    expect(request.signed).toBe(true);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['user-agent']).toBe('herald-hooks');
    expect(request.body).toEqual({
      id: expect.any(String),
      time: expect.any(Number),
      hook: 'rpc',
      transport: 'websocket',
      client: reply.data.client,
      user: null,
      method: 'echo',
      data: { n: [1, 2] },
    });
    // The session id the hook saw is the one the hub's presence shows for this connection.
    await client.request({ type: 'subscribe', channel: 'who' });
    expect((await client.request({ type: 'presence', channel: 'who' })).members).toEqual([{ client: reply.data.client, user: null }]);
  });

  it('sends data null when the command has none, and replies data null when the app answers none', async () => {
    const client = await ws();
    expect((await client.request({ type: 'rpc', method: 'echo' })).data.echo).toBeNull();
    expect(await client.request({ type: 'rpc', method: 'nodata' })).toEqual({ type: 'reply', id: expect.any(Number), data: null });
  });

  it("answers 2001 with the app's reason when it denies", async () => {
    const client = await ws();
    expect((await client.request({ type: 'rpc', method: 'deny', data: 1 })).error).toEqual({
      code: ErrorCode.Forbidden,
      message: 'not today',
    });
  });

  it("sends billing:charge to the billing namespace's URL, and answers 1010 for a namespace whose rpc is off", async () => {
    const client = await ws();
    const before = app.requests.items.length;
    expect((await client.request({ type: 'rpc', method: 'billing:charge', data: 42 })).data).toEqual({ billed: 42 });
    expect(app.requests.items[before]).toMatchObject({ path: '/billing', signed: true, body: { method: 'billing:charge', data: 42 } });
    expect((await client.request({ type: 'rpc', method: 'off:thing' })).error).toEqual({
      code: ErrorCode.NotFound,
      message: 'no rpc hook serves method off:thing',
    });
    expect(app.requests.items).toHaveLength(before + 1);
  });

  it('answers 3003 when the hook times out, and when the app answers an error status', async () => {
    const client = await ws();
    const started = performance.now();
    const slow = await client.request({ type: 'rpc', method: 'slow' });
    expect(slow.error).toEqual({ code: ErrorCode.HookUnavailable, message: `the rpc hook did not answer within ${HOOK_TIMEOUT} ms` });
    expect(performance.now() - started).toBeLessThan(HOOK_TIMEOUT + 2000);
    expect((await client.request({ type: 'rpc', method: 'broken' })).error).toEqual({
      code: ErrorCode.HookUnavailable,
      message: 'the rpc hook answered HTTP 500',
    });
    // The session carries on.
    expect((await client.request({ type: 'rpc', method: 'echo', data: 'still' })).data.echo).toBe('still');
  });

  it('answers 1005 for a bad method name without calling the app, and 1001/1000 for bad frames', async () => {
    const client = await ws();
    const before = app.requests.items.length;
    for (const method of ['', 'has space', 'm'.repeat(256), 5, null]) {
      expect((await client.request({ type: 'rpc', method })).error).toEqual({
        code: ErrorCode.InvalidField,
        message: 'method must be 1-255 characters of letters, digits and _ - . : /',
      });
    }
    client.sendRaw('{"type":"rpc","method":"echo"}');
    client.sendRaw('{"id":9,"type":"rpc",');
    const errors = await client.frames.until((fs) => fs.filter((f) => f.type === 'error').length >= 2, 'two error frames');
    expect(errors.filter((f) => f.type === 'error').map((f) => f.error.code)).toEqual([ErrorCode.InvalidFrame, ErrorCode.InvalidJson]);
    expect(app.requests.items).toHaveLength(before);
  });

  it('closes with 1009 on an rpc frame over 64 KiB, as for any command', async () => {
    const client = await ws();
    client.sendRaw(JSON.stringify({ id: 1, type: 'rpc', method: 'echo', data: 'x'.repeat(64 * 1024) }));
    expect((await client.closed).code).toBe(1009);
  });

  it('counts rpc commands against the session rate limit', async () => {
    const limited = await startHub({ hooks: hooked(), commandsPerSecond: 1, commandBurst: 2 });
    const client = await ws(limited.wsUrl);
    const replies = await Promise.all([1, 2, 3].map((n) => client.request({ type: 'rpc', method: 'echo', data: n })));
    expect(replies.map((r) => r.error?.code ?? 'ok')).toEqual(['ok', 'ok', ErrorCode.RateLimited]);
  });
});

describe('POST /api/rpc', () => {
  it("answers 200 {data} with the app's answer; the hook is told transport http", async () => {
    const before = app.requests.items.length;
    const res = await rpcHttp(hub.url, { method: 'echo', data: { a: 1 } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({ data: { echo: { a: 1 }, user: null, transport: 'http', client: expect.any(String), backend: false } });
    expect(app.requests.items[before]).toMatchObject({
      path: '/rpc',
      signed: true,
      body: { hook: 'rpc', transport: 'http', method: 'echo' },
    });
    expect((await rpcHttp(hub.url, { method: 'echo' })).body.data.echo).toBeNull();
    expect(await rpcHttp(hub.url, { method: 'nodata' })).toMatchObject({ status: 200, body: { data: null } });
  });

  it('routes by namespace as the WebSocket does', async () => {
    expect(await rpcHttp(hub.url, { method: 'billing:charge', data: 7 })).toMatchObject({ status: 200, body: { data: { billed: 7 } } });
  });

  it('answers 403 for a denial, 404 for a method no hook serves, 503 with Retry-After for a hook that fails', async () => {
    expect(await rpcHttp(hub.url, { method: 'deny' })).toMatchObject({
      status: 403,
      body: { error: { code: ErrorCode.Forbidden, message: 'not today' } },
    });
    expect(await rpcHttp(hub.url, { method: 'off:x' })).toMatchObject({
      status: 404,
      body: { error: { code: ErrorCode.NotFound, message: 'no rpc hook serves method off:x' } },
    });
    const slow = await rpcHttp(hub.url, { method: 'slow' });
    expect(slow).toMatchObject({ status: 503, body: { error: { code: ErrorCode.HookUnavailable } } });
    expect(slow.headers.get('retry-after')).toBe('1');
  });

  it('answers 400 for bad bodies and methods, 413 for an oversized body, 405 for GET', async () => {
    const before = app.requests.items.length;
    expect(await rpcHttp(hub.url, '{"method":')).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidJson } } });
    expect(await rpcHttp(hub.url, '[1]')).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidFrame } } });
    expect(await rpcHttp(hub.url, { data: 1 })).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidField } } });
    expect(await rpcHttp(hub.url, { method: 'a b' })).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidField } } });
    const big = await rpcHttp(hub.url, { method: 'echo', data: 'x'.repeat(2 * 1024 * 1024) });
    expect(big).toMatchObject({ status: 413, body: { error: { code: ErrorCode.TooLarge } } });
    const get = await fetch(`${hub.url}/api/rpc`);
    expect(get.status).toBe(405);
    expect(((await get.json()) as any).error.code).toBe(ErrorCode.MethodNotAllowed);
    expect(app.requests.items).toHaveLength(before);
  });

  it('counts against the publish request limits (one bucket for both)', async () => {
    const limited = await startHub({ hooks: hooked(), requestLimits: { publish: { perIp: { perSecond: 0.001, burst: 2 } } } });
    expect((await rpcHttp(limited.url, { method: 'echo' })).status).toBe(200);
    const publish = await fetch(`${limited.url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"channel":"c","data":1}',
    });
    expect(publish.status).toBe(200);
    const refused = await rpcHttp(limited.url, { method: 'echo' });
    expect(refused).toMatchObject({ status: 429, body: { error: { code: ErrorCode.RateLimited } } });
    expect(refused.headers.get('retry-after')).not.toBeNull();
  });
});

describe('rpc without a hook, when the app is down, and who the caller is', () => {
  it('answers 1010 on a hub without hooks (WebSocket reply, HTTP 404)', async () => {
    const bare = await startHub({});
    const client = await ws(bare.wsUrl);
    const error = { code: ErrorCode.NotFound, message: 'no rpc hook serves method echo' };
    expect((await client.request({ type: 'rpc', method: 'echo' })).error).toEqual(error);
    expect(await rpcHttp(bare.url, { method: 'echo' })).toEqual({ status: 404, headers: expect.anything(), body: { error } });
    // A bad name is still a bad name.
    expect((await rpcHttp(bare.url, { method: '' })).body.error.code).toBe(ErrorCode.InvalidField);
  });

  it('answers 3003 when the app is unreachable, on both transports', async () => {
    const down = await startHub({ hooks: { secrets: [SECRET], rpc: `http://127.0.0.1:${await freePort()}/rpc`, timeout: 2000 } });
    const client = await ws(down.wsUrl);
    const unreachable = { code: ErrorCode.HookUnavailable, message: 'the rpc hook could not be reached' };
    expect((await client.request({ type: 'rpc', method: 'echo' })).error).toEqual(unreachable);
    const res = await rpcHttp(down.url, { method: 'echo' });
    expect(res).toMatchObject({ status: 503, body: { error: unreachable } });
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('needs authentication on a requireAuth hub; sends the user of a token, and user null with backend true for the API key', async () => {
    const secure = await startHub({
      hooks: hooked(),
      security: {
        authenticator: new JwtAuthenticator({ secret: TOKEN_KEY }),
        requireAuth: true,
        apiKeys: [API_KEY],
        allowedOrigins: ['https://app.example'],
        permissions: new Permissions({}),
      },
    });
    const anonymous = await ws(secure.wsUrl);
    expect((await anonymous.request({ type: 'rpc', method: 'echo' })).error.code).toBe(ErrorCode.Unauthorized);
    expect(await rpcHttp(secure.url, { method: 'echo' })).toMatchObject({ status: 401, body: { error: { code: ErrorCode.Unauthorized } } });

    const alice = await token('alice');
    expect((await anonymous.request({ type: 'auth', token: alice })).user).toBe('alice');
    expect((await anonymous.request({ type: 'rpc', method: 'echo' })).data).toMatchObject({
      user: 'alice',
      transport: 'websocket',
      backend: false,
    });
    expect((await rpcHttp(secure.url, { method: 'echo' }, { authorization: `Bearer ${alice}` })).body.data).toMatchObject({
      user: 'alice',
      transport: 'http',
      backend: false,
    });

    // A cookie-authenticated rpc must name its origin, as a publish must (CSRF).
    const cookie = { cookie: `herald_token=${alice}` };
    expect(await rpcHttp(secure.url, { method: 'echo' }, cookie)).toMatchObject({
      status: 403,
      body: { error: { code: ErrorCode.Forbidden, message: 'a cookie-authenticated request must carry an Origin header' } },
    });
    expect(await rpcHttp(secure.url, { method: 'echo' }, { ...cookie, origin: 'https://app.example' })).toMatchObject({
      status: 200,
      body: { data: { user: 'alice' } },
    });

    const backend = await ws(secure.wsUrl, { 'x-herald-key': API_KEY });
    expect((await backend.request({ type: 'rpc', method: 'echo' })).data).toMatchObject({
      user: null,
      transport: 'websocket',
      backend: true,
    });
    expect((await rpcHttp(secure.url, { method: 'echo' }, { 'x-herald-key': API_KEY })).body.data).toMatchObject({
      user: null,
      backend: true,
    });
  });
});
