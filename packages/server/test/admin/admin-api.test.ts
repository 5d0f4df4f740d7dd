import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { CloseCode, ErrorCode } from '@herald/protocol';
import { ADMIN_NEEDS_CREDENTIALS, ALLOW_ALL, DENY_ALL, JwtAuthenticator, Permissions, type HeraldServerOptions } from '@herald/server';
import { eventually, SseTestClient, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';

const SECRET = randomBytes(32).toString('base64url');
const API_KEY = 'admin-api-test-key-0123456789';
const hubs: TestHub[] = [];
const clients: { close(): Promise<unknown> }[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const hub of hubs.splice(0)) await hub.close();
});

/** A hub configured as `herald start` configures the production profile: tokens, API key, deny by default, no origin listed. */
async function productionHub(options: HeraldServerOptions = {}): Promise<TestHub> {
  const hub = await startTestHub({
    security: {
      authenticator: new JwtAuthenticator({ secret: SECRET }),
      permissions: new Permissions({ room: { subscribe: 'granted', publish: 'none', history: 'none', presence: 'granted' } }, DENY_ALL),
      apiKeys: [API_KEY],
      allowedOrigins: [],
      requireAuth: true,
    },
    admin: true,
    adminSampleInterval: 50,
    ...options,
  });
  hubs.push(hub);
  return hub;
}

const token = (sub: string, claims: Record<string, unknown> = {}): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(Buffer.from(SECRET));
const KEY = { 'x-herald-key': API_KEY };

async function get(hub: TestHub, path: string, headers: Record<string, string> = KEY): Promise<{ status: number; body: any }> {
  const res = await fetch(`${hub.url}${path}`, { headers });
  return { status: res.status, body: await res.json() };
}

async function post(
  hub: TestHub,
  path: string,
  body: unknown,
  headers: Record<string, string> = KEY,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${hub.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const PATHS = ['nodes', 'channels', 'connections', 'series', 'presence?channel=x'];

describe('admin API authorisation', () => {
  it('refuses a request without credentials, with a wrong key, or with a cookie: 401, code 2000', async () => {
    const hub = await productionHub();
    for (const path of PATHS) {
      const none = await get(hub, `/api/admin/${path}`, {});
      expect(none.status, path).toBe(401);
      expect(none.body.error.code).toBe(ErrorCode.Unauthorized);
      expect(none.body.error.message).toMatch(/API key \(X-Herald-Key\) or an admin token/);
    }
    const wrong = await get(hub, '/api/admin/nodes', { 'x-herald-key': 'not-the-key-0123456789' });
    expect(wrong).toEqual({ status: 401, body: { error: { code: ErrorCode.Unauthorized, message: 'the API key is not valid' } } });
    const admin = await token('ops', { herald: { admin: true } });
    const cookie = await get(hub, '/api/admin/nodes', { cookie: `herald_token=${admin}` });
    expect(cookie.status).toBe(401);
    const disconnect = await post(hub, '/api/admin/disconnect', { user: 'alice' }, {});
    expect(disconnect.status).toBe(401);
  });

  it('refuses a valid token without the admin claim (403, code 2001) and takes one with it, or the API key', async () => {
    const hub = await productionHub();
    const plain = await get(hub, '/api/admin/nodes', { authorization: `Bearer ${await token('alice')}` });
    expect(plain.status).toBe(403);
    expect(plain.body.error.code).toBe(ErrorCode.Forbidden);
    const notTrue = await get(hub, '/api/admin/nodes', { authorization: `Bearer ${await token('alice', { herald: { admin: 'yes' } })}` });
    expect(notTrue.status).toBe(403);
    const admin = await get(hub, '/api/admin/nodes', { authorization: `Bearer ${await token('ops', { herald: { admin: true } })}` });
    expect(admin.status).toBe(200);
    expect((await get(hub, '/api/admin/nodes')).status).toBe(200);
    const bad = await get(hub, '/api/admin/nodes', { authorization: 'Bearer not.a.token' });
    expect(bad.status).toBe(401);
  });

  it('takes the hub’s own origin (the console) while allowedOrigins list none, and refuses a foreign one', async () => {
    const hub = await productionHub();
    expect((await get(hub, '/api/admin/nodes', { ...KEY, origin: hub.url })).status).toBe(200);
    expect((await post(hub, '/api/admin/publish', { channel: 'x', data: 1 }, { ...KEY, origin: hub.url })).status).toBe(200);
    const foreign = await get(hub, '/api/admin/nodes', { ...KEY, origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe(ErrorCode.Forbidden);
  });

  it('is open on an open hub (no API key, no token verification, permissions that allow everything), and off unless asked for', async () => {
    const open = await startTestHub({ admin: true, security: { permissions: new Permissions({ chat: ALLOW_ALL }, ALLOW_ALL) } });
    hubs.push(open);
    expect((await get(open, '/api/admin/nodes', {})).status).toBe(200);
    for (const options of [{ adminPage: '<p>console</p>' }, { admin: false, adminPage: '<p>console</p>' }]) {
      const off = await startTestHub(options);
      hubs.push(off);
      const missing = await get(off, '/api/admin/nodes', {});
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe(ErrorCode.NotFound);
      expect((await fetch(`${off.url}/admin`)).status).toBe(404);
    }
  });

  it('refuses every request on a hub with restrictive permissions and neither API keys nor an authenticator', async () => {
    // The attack review's hub: a public read-only broadcast whose backend publishes in-process.
    const hub = await startTestHub({
      admin: true,
      security: {
        permissions: new Permissions({ news: { subscribe: 'anonymous', publish: 'none', history: 'anonymous', presence: 'none' } }),
        allowedOrigins: ['https://app.example'],
      },
    });
    hubs.push(hub);
    const needs = { code: ErrorCode.Unauthorized, message: ADMIN_NEEDS_CREDENTIALS };
    expect(ADMIN_NEEDS_CREDENTIALS).toMatch(/needs apiKeys or an authenticator/);
    for (const path of PATHS) expect(await get(hub, `/api/admin/${path}`, {}), path).toEqual({ status: 401, body: { error: needs } });
    for (const headers of [{}, { authorization: 'Bearer x.y.z' }, { origin: 'https://app.example' }]) {
      expect(await post(hub, '/api/admin/publish', { channel: 'news:x', data: 'forged' }, headers)).toEqual({
        status: 401,
        body: { error: needs },
      });
      expect(await post(hub, '/api/admin/publish', { messages: [{ channel: 'secret:y', data: 'forged' }] }, headers)).toEqual({
        status: 401,
        body: { error: needs },
      });
      expect(await post(hub, '/api/admin/disconnect', { user: 'u' }, headers)).toEqual({ status: 401, body: { error: needs } });
    }
    expect((await post(hub, '/api/admin/publish', { channel: 'news:x', data: 1 }, { 'x-herald-key': 'guess' })).status).toBe(401);
    expect((await get(hub, '/api/history?channel=news:x', {})).body.messages).toEqual([]);
  });

  it('counts a hub as open only when every namespace and the fallback allow everything to anyone', async () => {
    const almost = await startTestHub({
      admin: true,
      security: { permissions: new Permissions({ chat: { ...ALLOW_ALL, presence: 'authenticated' } }, ALLOW_ALL) },
    });
    hubs.push(almost);
    expect((await get(almost, '/api/admin/nodes', {})).status).toBe(401);
    const keyed = await startTestHub({ admin: true, security: { apiKeys: [API_KEY] } });
    hubs.push(keyed);
    expect((await get(keyed, '/api/admin/nodes', {})).status).toBe(401);
    expect((await get(keyed, '/api/admin/nodes')).status).toBe(200);
  });
});

describe('admin API origins', () => {
  async function openHub(): Promise<TestHub> {
    const hub = await startTestHub({ admin: true });
    hubs.push(hub);
    return hub;
  }

  it('never answers another site with Access-Control-Allow-Origin: * and refuses its requests, even on an open dev hub', async () => {
    const hub = await openHub();
    const client = await WsTestClient.connect(hub.wsUrl);
    clients.push(client);
    for (const origin of ['https://evil.example', 'null', hub.url.replace('http:', 'https:')]) {
      const list = await fetch(`${hub.url}/api/admin/connections`, { headers: { origin } });
      expect(list.status, origin).toBe(403);
      expect(list.headers.get('access-control-allow-origin')).toBeNull();
      expect(((await list.json()) as { error: { code: number } }).error.code).toBe(ErrorCode.Forbidden);
      // A "simple" cross-site POST (text/plain, no preflight) changes nothing.
      const disconnect = await fetch(`${hub.url}/api/admin/disconnect`, {
        method: 'POST',
        headers: { origin, 'content-type': 'text/plain' },
        body: JSON.stringify({ client: 'x', user: null }),
      });
      expect(disconnect.status, origin).toBe(403);
      const publish = await fetch(`${hub.url}/api/admin/publish`, {
        method: 'POST',
        headers: { origin, 'content-type': 'text/plain' },
        body: JSON.stringify({ channel: 'x', data: 'forged' }),
      });
      expect(publish.status, origin).toBe(403);
      const preflight = await fetch(`${hub.url}/api/admin/disconnect`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).toBe(403);
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    }
    expect((await get(hub, '/api/history?channel=x', {})).body.messages).toEqual([]);
    // The public routes of the dev hub keep answering any origin.
    const history = await fetch(`${hub.url}/api/history?channel=x`, { headers: { origin: 'https://evil.example' } });
    expect(history.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('takes the hub’s own origin (scheme and host, or the scheme a TLS proxy forwards) and requests without Origin', async () => {
    const hub = await openHub();
    const own = await fetch(`${hub.url}/api/admin/connections`, { headers: { origin: hub.url } });
    expect(own.status).toBe(200);
    expect(own.headers.get('access-control-allow-origin')).toBeNull();
    expect((await get(hub, '/api/admin/connections', {})).status).toBe(200);
    const https = hub.url.replace('http:', 'https:');
    expect((await get(hub, '/api/admin/nodes', { origin: https, 'x-forwarded-proto': 'https' })).status).toBe(200);
    expect((await get(hub, '/api/admin/nodes', { origin: hub.url, 'x-forwarded-proto': 'https' })).status).toBe(403);
    // A proxy's Host with the default port: the browser's Origin leaves it out.
    const port = new URL(hub.url).port;
    const viaProxy = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/admin/nodes',
          headers: { host: 'Hub.Example:443', origin: 'https://hub.example', 'x-forwarded-proto': 'https' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(viaProxy).toBe(200);
  });

  it('takes an origin listed in allowedOrigins, with its CORS headers', async () => {
    const hub = await productionHub({ security: { apiKeys: [API_KEY], allowedOrigins: ['https://ops.example'] } });
    const res = await fetch(`${hub.url}/api/admin/nodes`, { headers: { ...KEY, origin: 'https://ops.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://ops.example');
    expect((await get(hub, '/api/admin/nodes', { ...KEY, origin: 'https://other.example' })).status).toBe(403);
  });
});

describe('admin API answers', () => {
  it('lists the node, channels per transport, connections, presence and the series', async () => {
    const hub = await productionHub();
    const alice = await token('alice', { channels: ['room:1'] });
    const ws = await WsTestClient.connect(hub.wsUrl, { headers: { authorization: `Bearer ${alice}` } });
    clients.push(ws);
    expect((await ws.request({ type: 'subscribe', channel: 'room:1' })).error).toBeUndefined();
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=room:1`, {
      authorization: `Bearer ${await token('bob', { channels: ['room:1'] })}`,
    });
    clients.push(sse);
    await sse.ready();
    for (let i = 0; i < 3; i++) expect((await post(hub, '/api/admin/publish', { channel: 'room:1', data: { i } })).status).toBe(200);

    const nodes = await eventually(
      () => get(hub, '/api/admin/nodes'),
      (answer) => answer.body.nodes[0].connections.websocket === 1 && answer.body.nodes[0].connections.sse === 1,
      'the sample counts both connections',
    );
    expect(nodes.body).toMatchObject({ clustered: false, totals: { connections: { websocket: 1, sse: 1, polling: 0 } } });
    expect(nodes.body.nodes).toHaveLength(1);
    const [self] = nodes.body.nodes;
    expect(self).toMatchObject({ id: nodes.body.node, ready: true, channels: 1 });
    expect(Object.keys(self).sort()).toEqual(['channels', 'connections', 'id', 'messagesPerSecond', 'ready', 'sampledAt', 'startedAt']);

    const channels = await get(hub, '/api/admin/channels');
    expect(channels.body).toMatchObject({ node: nodes.body.node, total: 1 });
    expect(channels.body.channels).toEqual([
      { channel: 'room:1', subscribers: { websocket: 1, sse: 1, polling: 0 }, messagesPerSecond: expect.any(Number) },
    ]);

    const connections = await get(hub, '/api/admin/connections');
    expect(connections.body.total).toBe(2);
    const byTransport = Object.fromEntries(connections.body.connections.map((c: { transport: string }) => [c.transport, c]));
    expect(byTransport.websocket).toEqual({
      id: expect.any(String),
      transport: 'websocket',
      user: 'alice',
      ip: '127.0.0.1',
      channels: ['room:1'],
      since: expect.any(Number),
    });
    expect(byTransport.sse).toMatchObject({ transport: 'sse', user: 'bob', ip: '127.0.0.1', channels: ['room:1'] });
    expect((await get(hub, '/api/admin/connections?user=bob')).body.connections).toHaveLength(1);
    expect((await get(hub, '/api/admin/connections?channel=other')).body).toMatchObject({ total: 0, connections: [] });
    expect((await get(hub, '/api/admin/connections?limit=1')).body).toMatchObject({ total: 2, connections: [expect.any(Object)] });
    const badLimit = await get(hub, '/api/admin/connections?limit=0');
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error.code).toBe(ErrorCode.InvalidField);

    const presence = await get(hub, '/api/admin/presence?channel=room:1');
    expect(presence.body.channel).toBe('room:1');
    expect(presence.body.members.map((m: { user: string }) => m.user).sort()).toEqual(['alice', 'bob']);
    expect((await get(hub, '/api/admin/presence?channel=')).status).toBe(400);

    const series = await eventually(
      () => get(hub, '/api/admin/series'),
      (answer) => answer.body.samples.some((s: { delivered: number }) => s.delivered > 0) && answer.body.samples.length >= 2,
      'a sample counts the deliveries',
    );
    expect(series.body).toMatchObject({ node: nodes.body.node, interval: 50, window: 600_000 });
    const sample = series.body.samples.at(-1);
    expect(Object.keys(sample).sort()).toEqual(['connections', 'delivered', 'published', 't']);
    expect(series.body.samples.reduce((sum: number, s: { published: number }) => sum + s.published, 0)).toBeGreaterThan(0);
  });

  it('publishes on any channel, whatever the namespaces allow', async () => {
    const hub = await productionHub();
    const answer = await post(hub, '/api/admin/publish', { channel: 'locked:thing', data: 'hello' });
    expect(answer).toEqual({ status: 200, body: { channel: 'locked:thing', epoch: expect.any(String), offset: 1 } });
    const refused = await post(hub, '/api/admin/publish', { data: 1 });
    expect(refused.status).toBe(400);
  });

  it('disconnects a connection by id: the client is closed with 4502 and leaves the list', async () => {
    const hub = await productionHub();
    const headers = { authorization: `Bearer ${await token('alice', { channels: ['room:1'] })}` };
    const leaving = await WsTestClient.connect(hub.wsUrl, { headers });
    const staying = await WsTestClient.connect(hub.wsUrl, { headers });
    clients.push(leaving, staying);
    const listed = await get(hub, '/api/admin/connections');
    expect(listed.body.total).toBe(2);
    const id = listed.body.connections[0].id as string;
    const other = listed.body.connections[1].id as string;
    expect(await post(hub, '/api/admin/disconnect', { client: id })).toEqual({ status: 200, body: { disconnected: 1 } });
    const closed = await Promise.race([leaving.closed.then(() => leaving), staying.closed.then(() => staying)]);
    expect((await closed.closed).code).toBe(CloseCode.Disconnected);
    await eventually(
      () => get(hub, '/api/admin/connections'),
      (answer) => answer.body.total === 1,
      'the list drops the closed session',
    ).then((answer) => expect(answer.body.connections[0].id).toBe(other));
    const empty = await post(hub, '/api/admin/disconnect', {});
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe(ErrorCode.InvalidField);
  });
});

describe('GET /admin', () => {
  it('serves the console page with no framing and no referrer', async () => {
    const hub = await productionHub({ adminPage: '<!doctype html><title>console</title>' });
    const res = await fetch(`${hub.url}/admin`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await res.text()).toContain('<title>console</title>');
  });
});
