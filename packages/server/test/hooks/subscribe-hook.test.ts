import { randomBytes } from 'node:crypto';
import { ErrorCode } from '@herald/protocol';
import { JwtAuthenticator, Permissions, type Authenticator, type HeraldServerOptions, type HooksOptions } from '@herald/server';
import { Collector, freePort, SseTestClient, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, jwtUsers } from './jwt-users.js';
import { owned } from '../owned.js';
import { ScriptedHookApp } from './scripted-hook-app.js';

const SECRET = randomBytes(24).toString('base64url');
const { secret: JWT_SECRET, token } = jwtUsers();

// `chat` is closed by its static rule: only the hook can let a client in. `open` has no hook.
const permissions = new Permissions({
  chat: { subscribe: 'none', publish: 'none', history: 'none', presence: 'anonymous' },
  open: { subscribe: 'anonymous', publish: 'anonymous', history: 'anonymous', presence: 'anonymous' },
});

let app: ScriptedHookApp;
const { own, closeAll } = owned();

async function start(hooks: Partial<HooksOptions> = {}, options: HeraldServerOptions = {}): Promise<TestHub> {
  return own(
    await startTestHub({
      security: { authenticator: new JwtAuthenticator({ secret: JWT_SECRET }), permissions },
      hooks: { secrets: [SECRET], subscribe: `${app.url}/subscribe`, namespaces: { open: { subscribe: false } }, ...hooks },
      ...options,
    }),
  );
}

/** 10 users' sockets subscribe to 100 channels each at once; every reply lands in `replies`. */
async function subscribeMany(h: TestHub, name: string): Promise<{ replies: Collector<any> }> {
  const replies = new Collector<any>();
  const sockets = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => own(await WsTestClient.connect(h.wsUrl, { headers: bearer(await token(`user${i}`)) }))),
  );
  for (const ws of sockets) {
    ws.socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8'));
      if (frame.type === 'reply') replies.push(frame);
    });
    for (let c = 0; c < 100; c++) ws.sendRaw(JSON.stringify({ id: c + 1, type: 'subscribe', channel: `chat:${name}-${c}` }));
  }
  return { replies };
}

/** GET with a bearer token; status, headers and parsed body. */
async function get(url: string, t: string): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, { headers: bearer(t) });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

beforeEach(async () => {
  // Allows `chat:<anything>` but `chat:secret`, with channel info naming the channel.
  app = own(
    await ScriptedHookApp.start(SECRET, (call) =>
      call.body.channel === 'chat:secret'
        ? { allow: false, reason: 'members only' }
        : { allow: true, info: { seat: call.body.channel, user: call.body.user } },
    ),
  );
});

afterEach(async () => {
  // The app was owned first, the hubs next: clients close first, the app last.
  await closeAll();
  expect(app.requests.items.filter((r) => !r.signed)).toEqual([]);
});

describe('subscribe hook', () => {
  it('decides the same on WebSocket, SSE and polling, and the app sees the user, channel, transport and client', async () => {
    const h = await start();
    const alice = await token('alice');

    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(alice) }));
    const allowed = await ws.request({ type: 'subscribe', channel: 'chat:lobby', joinLeave: true });
    expect(allowed.error).toBeUndefined();
    expect(allowed.channel).toBe('chat:lobby');
    const denied = await ws.request({ type: 'subscribe', channel: 'chat:secret' });
    expect(denied.error).toEqual({ code: ErrorCode.Forbidden, message: 'members only' });
    const wsClient = (await ws.frames.until((fs) => fs.some((f) => f.type === 'join'), 'own join')).find((f) => f.type === 'join').member
      .client as string;

    const sse = own(await SseTestClient.connect(`${h.url}/events?channel=chat:lobby`, bearer(alice)));
    expect(sse.response.statusCode).toBe(200);
    await sse.ready();
    const sseDenied = await get(`${h.url}/events?channel=chat:secret`, alice);
    expect(sseDenied.status).toBe(403);
    expect(sseDenied.body).toEqual({ error: { code: ErrorCode.Forbidden, message: 'members only' } });
    // One channel refused of two: the stream goes on with the other, telling which was refused.
    const mixed = own(await SseTestClient.connect(`${h.url}/events?channel=chat:lobby&channel=chat:secret`, bearer(alice)));
    expect(mixed.response.statusCode).toBe(200);
    const refused = await mixed.events.until((es) => es.some((e) => e.event === 'unsubscribed'), 'unsubscribed');
    expect(JSON.parse(refused.find((e) => e.event === 'unsubscribed')!.data)).toEqual({
      type: 'unsubscribed',
      channel: 'chat:secret',
      error: { code: ErrorCode.Forbidden, message: 'members only' },
    });

    const polled = await get(`${h.url}/api/messages?channel=chat:lobby`, alice);
    expect(polled.status).toBe(200);
    expect(polled.body.messages).toEqual([]);
    const pollDenied = await get(`${h.url}/api/messages?channel=chat:lobby&channel=chat:secret`, alice);
    expect(pollDenied.status).toBe(403);
    // The hook's refusal names the channel it refused, so a client drops it and polls on.
    expect(pollDenied.body).toEqual({ error: { code: ErrorCode.Forbidden, message: 'members only', channel: 'chat:secret' } });

    const calls = app.callsOf('subscribe').map((c) => c.body);
    expect(calls.map((c) => [c.transport, c.channel])).toEqual(
      expect.arrayContaining([
        ['websocket', 'chat:lobby'],
        ['websocket', 'chat:secret'],
        ['sse', 'chat:lobby'],
        ['sse', 'chat:secret'],
        ['polling', 'chat:lobby'],
        ['polling', 'chat:secret'],
      ]),
    );
    // WebSocket 2, SSE 4 (two single-channel streams, one of both), polling 3 (one poll of one, one of both).
    expect(calls).toHaveLength(9);
    for (const call of calls) {
      expect(call).toMatchObject({ hook: 'subscribe', user: 'alice', id: expect.any(String), time: expect.any(Number) });
      expect(call.client).toEqual(expect.any(String));
      expect(call).not.toHaveProperty('info');
    }
    // The WebSocket's calls name its session: the client id of its presence member.
    expect(calls.filter((c) => c.transport === 'websocket').every((c) => c.client === wsClient)).toBe(true);
    // The hook is the only way in: the static rule of `chat` refuses everyone.
    expect(calls.every((c) => String(c.channel).startsWith('chat:'))).toBe(true);
  });

  it('is not asked for a namespace whose hook is turned off, nor for a backend with the API key', async () => {
    const h = await start(
      {},
      { security: { authenticator: new JwtAuthenticator({ secret: JWT_SECRET }), permissions, apiKeys: ['k'.repeat(32)] } },
    );
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(await token('bob')) }));
    expect((await ws.request({ type: 'subscribe', channel: 'open:square' })).error).toBeUndefined();
    const backend = own(await WsTestClient.connect(h.wsUrl, { headers: { 'x-herald-key': 'k'.repeat(32) } }));
    expect((await backend.request({ type: 'subscribe', channel: 'chat:secret' })).error).toBeUndefined();
    expect(app.requests.items).toEqual([]);
  });

  it("puts the hook's channel info on the presence member: join and leave frames, the presence command and GET /api/presence", async () => {
    const h = await start();
    const watcher = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(await token('watcher')) }));
    await watcher.request({ type: 'subscribe', channel: 'chat:room', joinLeave: true });
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(await token('alice')) }));
    await ws.request({ type: 'subscribe', channel: 'chat:room' });
    const sse = own(await SseTestClient.connect(`${h.url}/events?channel=chat:room`, bearer(await token('carol'))));
    await sse.ready();
    // A polling session too.
    const polled = await fetch(`${h.url}/api/messages?channel=chat:room&since=now&session=new`, { headers: bearer(await token('dave')) });
    expect(polled.status).toBe(200);
    const joins = (await watcher.frames.until((fs) => fs.filter((f) => f.type === 'join').length >= 4, 'four joins'))
      .filter((f) => f.type === 'join')
      .map((f) => f.member);
    const byUser = (user: string): any => joins.find((m) => m.user === user);
    expect(byUser('alice').info).toEqual({ seat: 'chat:room', user: 'alice' });
    expect(byUser('carol').info).toEqual({ seat: 'chat:room', user: 'carol' });
    expect(byUser('dave').info).toEqual({ seat: 'chat:room', user: 'dave' });

    const listed = await watcher.request({ type: 'presence', channel: 'chat:room' });
    expect(listed.members).toHaveLength(4);
    expect(listed.members).toEqual(expect.arrayContaining(joins));
    const res = await fetch(`${h.url}/api/presence?channel=chat:room`);
    const body = (await res.json()) as { members: unknown[] };
    expect(body.members).toEqual(expect.arrayContaining(joins));

    await ws.close();
    const leave = (await watcher.frames.until((fs) => fs.some((f) => f.type === 'leave'), 'a leave')).find((f) => f.type === 'leave');
    expect(leave.member).toEqual(byUser('alice'));
  });

  it('keeps no info on a member when the hook gives none and the connection has none', async () => {
    const h = await start();
    app.answer = () => ({ allow: true });
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(await token('dan')) }));
    await ws.request({ type: 'subscribe', channel: 'chat:plain', joinLeave: true });
    const join = (await ws.frames.until((fs) => fs.some((f) => f.type === 'join'), 'join')).find((f) => f.type === 'join');
    expect(join.member).toEqual({ client: expect.any(String), user: 'dan' });
    expect(join.member).not.toHaveProperty('info');
  });

  it('falls back to the connection info (an identity with info) on the member, and sends it to the app', async () => {
    // An authenticator whose identities carry connection info, as the connect hook's do.
    const authenticator: Authenticator = {
      verify: (t) =>
        Promise.resolve({
          user: t,
          authenticated: true,
          expiresAt: undefined,
          grants: { subscribe: [], publish: [], history: [], presence: [] },
          info: { plan: `plan-of-${t}` },
        }),
    };
    const h = await start({}, { security: { authenticator, permissions } });
    app.answer = (call) => (call.body.channel === 'chat:given' ? { allow: true, info: { seat: 1 } } : { allow: true });
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer('erin') }));
    for (const channel of ['chat:given', 'chat:none', 'open:static']) await ws.request({ type: 'subscribe', channel, joinLeave: true });
    const joins = (await ws.frames.until((fs) => fs.filter((f) => f.type === 'join').length >= 3, 'three joins')).filter(
      (f) => f.type === 'join',
    );
    const infoOf = (channel: string): unknown => joins.find((f) => f.channel === channel).member.info;
    expect(infoOf('chat:given')).toEqual({ seat: 1 });
    expect(infoOf('chat:none')).toEqual({ plan: 'plan-of-erin' });
    // No hook decides `open`: the static rule does, and the member still carries the connection info.
    expect(infoOf('open:static')).toEqual({ plan: 'plan-of-erin' });
    expect(app.callsOf('subscribe').map((c) => c.body.info)).toEqual([{ plan: 'plan-of-erin' }, { plan: 'plan-of-erin' }]);
  });

  it('with cacheTtl, asks the app once per user, channel and transport; without it, on every subscribe and every poll', async () => {
    let h = await start({ cacheTtl: 60 });
    const alice = await token('alice');
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(alice) }));
    await ws.request({ type: 'subscribe', channel: 'chat:cached', joinLeave: true });
    await ws.request({ type: 'unsubscribe', channel: 'chat:cached' });
    const again = await ws.request({ type: 'subscribe', channel: 'chat:cached', joinLeave: true });
    expect(again.error).toBeUndefined();
    expect((await get(`${h.url}/api/messages?channel=chat:cached`, alice)).status).toBe(200);
    expect((await get(`${h.url}/api/messages?channel=chat:cached`, alice)).status).toBe(200);
    // Once for the WebSocket, once for polling (the transport is in the cache key).
    expect(app.callsOf('subscribe').map((r) => r.body.transport)).toEqual(['websocket', 'polling']);
    // The cached allow keeps the channel info.
    const joins = (await ws.frames.until((fs) => fs.filter((f) => f.type === 'join').length >= 2, 'two joins')).filter(
      (f) => f.type === 'join',
    );
    expect(joins.map((f) => f.member.info)).toEqual([
      { seat: 'chat:cached', user: 'alice' },
      { seat: 'chat:cached', user: 'alice' },
    ]);
    // Another user is asked about on its own.
    const bob = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(await token('bob')) }));
    await bob.request({ type: 'subscribe', channel: 'chat:cached' });
    expect(app.callsOf('subscribe')).toHaveLength(3);
    await ws.close();
    await bob.close();
    await h.close();

    h = await start({ cacheTtl: 0 });
    const ws2 = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(alice) }));
    await ws2.request({ type: 'subscribe', channel: 'chat:uncached' });
    await ws2.request({ type: 'unsubscribe', channel: 'chat:uncached' });
    await ws2.request({ type: 'subscribe', channel: 'chat:uncached' });
    expect((await get(`${h.url}/api/messages?channel=chat:uncached`, alice)).status).toBe(200);
    expect((await get(`${h.url}/api/messages?channel=chat:uncached`, alice)).status).toBe(200);
    expect(app.callsOf('subscribe').filter((c) => c.body.channel === 'chat:uncached')).toHaveLength(4);
  });

  it('keeps a hooked subscription when the session re-authenticates (the hook is not asked again)', async () => {
    const h = await start();
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(await token('alice')) }));
    await ws.request({ type: 'subscribe', channel: 'chat:stay' });
    const refreshed = await ws.request({ type: 'refresh', token: await token('alice') });
    expect(refreshed.error).toBeUndefined();
    await h.server.hub.publish('chat:stay', 'still here');
    const [message] = await ws.waitForMessages(1, 'chat:stay');
    expect(message.data).toBe('still here');
    expect(ws.frames.items.filter((f) => f.type === 'unsubscribed')).toEqual([]);
    expect(app.callsOf('subscribe')).toHaveLength(1);
  });
});

describe('subscribe hook failing', () => {
  it('fails closed with 3003 on every transport when the app is too slow, and the hub keeps serving', async () => {
    const h = await start({ timeout: 200 });
    app.hold();
    const alice = await token('alice');
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(alice) }));
    const reply = await ws.request({ type: 'subscribe', channel: 'chat:slow' });
    expect(reply.error).toEqual({ code: ErrorCode.HookUnavailable, message: 'the subscribe hook did not answer within 200 ms' });
    const sse = await get(`${h.url}/events?channel=chat:slow&channel=open:fine`, alice);
    expect(sse.status).toBe(503);
    expect(sse.headers.get('retry-after')).toBe('1');
    expect(sse.body.error.code).toBe(ErrorCode.HookUnavailable);
    const polled = await get(`${h.url}/api/messages?channel=chat:slow`, alice);
    expect(polled.status).toBe(503);
    expect(polled.headers.get('retry-after')).toBe('1');
    expect(polled.body.error.code).toBe(ErrorCode.HookUnavailable);
    // The session is still usable; channels without a hook are unaffected.
    expect((await ws.request({ type: 'subscribe', channel: 'open:fine' })).error).toBeUndefined();
    expect((await ws.request({ type: 'ping' })).error).toBeUndefined();
    app.release();
  });

  it('fails closed with 3003 on every transport when the app is down', async () => {
    const down = `http://127.0.0.1:${await freePort()}/subscribe`;
    const h = await start({ subscribe: down });
    const alice = await token('alice');
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(alice) }));
    expect((await ws.request({ type: 'subscribe', channel: 'chat:down' })).error).toEqual({
      code: ErrorCode.HookUnavailable,
      message: 'the subscribe hook could not be reached',
    });
    const sse = await get(`${h.url}/events?channel=chat:down`, alice);
    expect([sse.status, sse.headers.get('retry-after'), sse.body.error.code]).toEqual([503, '1', ErrorCode.HookUnavailable]);
    const polled = await get(`${h.url}/api/messages?channel=chat:down`, alice);
    expect([polled.status, polled.headers.get('retry-after'), polled.body.error.code]).toEqual([503, '1', ErrorCode.HookUnavailable]);
    const open = own(await SseTestClient.connect(`${h.url}/events?channel=open:fine`, bearer(alice)));
    expect(open.response.statusCode).toBe(200);
  });

  it('bounds the calls in flight under 1,000 concurrent subscribes to a slow app: all answered, never more than the concurrency at once', async () => {
    const h = await start({ concurrency: 16, maxQueued: 2000, timeout: 30_000 }, { commandsPerSecond: 10_000, commandBurst: 10_000 });
    app.delay = 50;
    const { replies } = await subscribeMany(h, 'load');
    await replies.count(1000, 30_000);
    expect(replies.items.filter((r) => r.error !== undefined)).toEqual([]);
    expect(app.callsOf('subscribe')).toHaveLength(1000);
    expect(app.maxInFlight).toBeLessThanOrEqual(16);
    expect(app.maxInFlight).toBeGreaterThan(1);
  }, 60_000);

  it('refuses at once (3003) what passes the queue bound, while the app has answered nothing', async () => {
    const h = await start({ concurrency: 16, maxQueued: 10, timeout: 30_000 }, { commandsPerSecond: 10_000, commandBurst: 10_000 });
    app.hold();
    const { replies } = await subscribeMany(h, 'queue');
    // 16 calls in flight and 10 waiting; each session has at most 8 calls out (the rest of its
    // subscribes wait in the session), so at least 80 - 26 are refused without waiting for the app.
    const busy = JSON.stringify({ code: ErrorCode.HookUnavailable, message: 'the subscribe hook has too many calls waiting' });
    await replies.count(54, 20_000);
    await app.requests.count(16);
    expect(new Set(replies.items.map((r) => JSON.stringify(r.error)))).toEqual(new Set([busy]));
    expect(app.requests.items).toHaveLength(16);
    app.release();
    await replies.count(1000, 20_000);
    const allowed = replies.items.filter((r) => r.error === undefined);
    expect(replies.items.filter((r) => r.error !== undefined && JSON.stringify(r.error) !== busy)).toEqual([]);
    expect(app.requests.items).toHaveLength(allowed.length);
  }, 60_000);
});
