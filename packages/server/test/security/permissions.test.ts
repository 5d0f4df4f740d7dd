import { CloseCode, encodePosition, ErrorCode } from '@herald/protocol';
import { SseTestClient, WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JwtAuthenticator, Permissions, type NamespaceRules } from '@herald/server';
import { bearer, framesUpToPing, guardSuite, HS_SECRET, leaksAbout, remember, startHub, tokenFor } from './suite.js';
import { httpRequest, publishWith, rawUpgrade } from './wire.js';

/**
 * Permissions per namespace on every transport. Each denied channel holds messages and a presence
 * member before the denial; a denial must carry neither, must leave the WebSocket open and able to
 * use an allowed channel, and must not start a subscription (a message published after it never
 * arrives).
 */

guardSuite();

const every = (access: NamespaceRules['subscribe'], extra: Partial<NamespaceRules> = {}): NamespaceRules => ({
  subscribe: access,
  publish: access,
  history: access,
  presence: access,
  ...extra,
});
const permissions = new Permissions({
  public: every('anonymous'),
  members: every('authenticated'),
  orders: every('granted'),
  inbox: every('owner'),
  secret: every('none'),
  small: every('anonymous', { historySize: 3 }),
  '': every('owner'),
});
const API_KEY = remember('permissions-test-api-key-0123456789');
const SECRET_DATA = 'classified payload 7f3a';
const SEEDED = ['members:room', 'orders:1', 'orders:eu-2', 'inbox:alice', 'inbox:bob', 'secret:vault', 'unlisted:x', 'alice'];

let hub: TestHub;
let watcher: WsTestClient;
const opened: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  hub = await startHub({ security: { authenticator: new JwtAuthenticator({ secret: HS_SECRET }), permissions, apiKeys: [API_KEY] } });
  // A backend session (API key) is a presence member of every channel, each of which holds data.
  watcher = await WsTestClient.connect(hub.wsUrl, { headers: { 'X-Herald-Key': API_KEY } });
  for (const channel of SEEDED) {
    expect((await watcher.request({ type: 'subscribe', channel })).error).toBeUndefined();
    await hub.server.hub.publish(channel, SECRET_DATA);
  }
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await watcher.close();
  await hub.close();
});

async function ws(token?: string): Promise<WsTestClient> {
  const client = await WsTestClient.connect(hub.wsUrl, token === undefined ? {} : { headers: bearer(token) });
  opened.push(client);
  return client;
}

async function sinceZero(channel: string): Promise<string> {
  const { epoch } = await hub.server.hub.position(channel);
  return encodePosition(channel, { epoch, offset: 0 });
}

/**
 * Every operation on `channel` (and a resume) is refused with `code` on the WebSocket; nothing about
 * the channel arrives, not even after a later publish; the session then still subscribes to an
 * allowed channel and receives from it.
 */
async function expectDeniedOnWs(client: WsTestClient, channel: string, code: number): Promise<void> {
  const from = client.frames.items.length;
  const since = await sinceZero(channel);
  const commands = [
    { type: 'subscribe', channel },
    { type: 'subscribe', channel, since },
    { type: 'history', channel },
    { type: 'history', channel, since },
    { type: 'presence', channel },
    { type: 'publish', channel, data: 'forged' },
  ];
  for (const command of commands) {
    const reply = await client.request(command);
    expect(Object.keys(reply).sort(), `${command.type} ${channel}`).toEqual(['error', 'id', 'type']);
    expect(reply.error.code, `${command.type} ${channel}`).toBe(code);
  }
  await hub.server.hub.publish(channel, SECRET_DATA);
  const frames = await framesUpToPing(client, from);
  expect(leaksAbout(frames, channel)).toEqual([]);
  expect(JSON.stringify(frames)).not.toContain(SECRET_DATA);
  expect(client.socket.readyState).toBe(client.socket.OPEN);
  // The session goes on: an allowed channel works.
  const allowed = `public:after-${channel.replace(/:/g, '-')}-${from}`;
  expect((await client.request({ type: 'subscribe', channel: allowed })).error).toBeUndefined();
  await hub.server.hub.publish(allowed, 'ok');
  expect((await client.waitForMessages(1, allowed)).map((m) => m.data)).toEqual(['ok']);
  expect(client.messages(channel)).toEqual([]);
}

/** Every HTTP read of `channel` (poll, history, presence, SSE, with and without a resume) and a publish get `status`/`code`, and only an error body. */
async function expectDeniedOverHttp(channel: string, status: number, code: number, headers: Record<string, string> = {}): Promise<void> {
  const since = await sinceZero(channel);
  const urls = [
    `/api/messages?channel=${channel}`,
    `/api/messages?channel=${channel}&since=${since}`,
    `/api/messages?channel=public:lobby&channel=${channel}`,
    `/api/history?channel=${channel}`,
    `/api/presence?channel=${channel}`,
    `/events?channel=${channel}`,
    `/events?channel=${channel}&since=${since}`,
  ];
  const answers = [
    ...(await Promise.all(urls.map((url) => httpRequest(`${hub.url}${url}`, { headers })))),
    await httpRequest(`${hub.url}/events?channel=${channel}`, { headers: { ...headers, 'Last-Event-ID': since } }),
    await publishWith(hub.url, channel, 'forged', headers),
  ];
  for (const [i, answer] of answers.entries()) {
    expect(answer.status, urls[i] ?? 'publish').toBe(status);
    expect(Object.keys(answer.json)).toEqual(['error']);
    expect(answer.json.error.code).toBe(code);
    expect(answer.text).not.toContain(SECRET_DATA);
  }
}

describe('an anonymous client', () => {
  it.each([
    ['members:room', ErrorCode.Unauthorized],
    ['orders:1', ErrorCode.Unauthorized],
    ['inbox:bob', ErrorCode.Unauthorized],
    ['secret:vault', ErrorCode.Forbidden],
    ['unlisted:x', ErrorCode.Forbidden],
  ])('is refused everything on %s with %d, over the WebSocket and HTTP, and nothing leaks', async (channel, code) => {
    await expectDeniedOnWs(await ws(), channel, code);
    await expectDeniedOverHttp(channel, code === ErrorCode.Unauthorized ? 401 : 403, code);
  });

  it('uses an anonymous namespace on every transport', async () => {
    const client = await ws();
    expect((await client.request({ type: 'publish', channel: 'public:lobby', data: 'hi' })).error).toBeUndefined();
    expect((await httpRequest(`${hub.url}/api/messages?channel=public:lobby`)).json.messages.map((m: any) => m.data)).toContain('hi');
  });
});

describe('an authenticated client without grants', () => {
  it.each(['orders:1', 'inbox:bob', 'secret:vault', 'unlisted:x'])(
    'is refused everything on %s with 2001, over the WebSocket and HTTP',
    async (channel) => {
      const alice = await tokenFor('alice');
      await expectDeniedOnWs(await ws(alice), channel, ErrorCode.Forbidden);
      await expectDeniedOverHttp(channel, 403, ErrorCode.Forbidden, bearer(alice));
    },
  );

  it('may use an authenticated namespace and its own inbox (owner), not a longer name that starts with it', async () => {
    const client = await ws(await tokenFor('alice'));
    for (const channel of ['members:room', 'inbox:alice']) {
      expect((await client.request({ type: 'subscribe', channel })).error).toBeUndefined();
      expect((await client.request({ type: 'presence', channel })).members).toBeDefined();
    }
    expect((await client.request({ type: 'subscribe', channel: 'inbox:alice:extra' })).error.code).toBe(ErrorCode.Forbidden);
    expect((await client.request({ type: 'subscribe', channel: 'inbox:alice2' })).error.code).toBe(ErrorCode.Forbidden);
  });
});

describe('grants from claims', () => {
  it('channels: ["orders:*"] grants every operation on orders:…, nothing on none namespaces', async () => {
    const client = await ws(await tokenFor('alice', { channels: ['orders:*', 'secret:*', '*'] }));
    for (const command of [
      { type: 'subscribe', channel: 'orders:1', since: await sinceZero('orders:1') },
      { type: 'history', channel: 'orders:1' },
      { type: 'presence', channel: 'orders:1' },
      { type: 'publish', channel: 'orders:1', data: 'granted' },
    ]) {
      expect((await client.request(command)).error, command.type).toBeUndefined();
    }
    await expectDeniedOnWs(client, 'secret:vault', ErrorCode.Forbidden);
  });

  it('herald: {subscribe, history} grants exactly those operations on exactly those patterns', async () => {
    const token = await tokenFor('alice', { herald: { subscribe: ['orders:eu-*'], history: ['orders:eu-1'] } });
    const client = await ws(token);
    expect((await client.request({ type: 'subscribe', channel: 'orders:eu-2' })).error).toBeUndefined();
    expect((await client.request({ type: 'history', channel: 'orders:eu-1' })).error).toBeUndefined();
    for (const command of [
      { type: 'publish', channel: 'orders:eu-2', data: 1 },
      { type: 'history', channel: 'orders:eu-2' },
      { type: 'presence', channel: 'orders:eu-2' },
      { type: 'subscribe', channel: 'orders:us-1' },
    ]) {
      expect((await client.request(command)).error.code, `${command.type} ${command.channel}`).toBe(ErrorCode.Forbidden);
    }
    expect((await httpRequest(`${hub.url}/api/history?channel=orders:eu-2`, { headers: bearer(token) })).status).toBe(403);
    expect((await httpRequest(`${hub.url}/api/history?channel=orders:eu-1`, { headers: bearer(token) })).status).toBe(200);
  });

  it('a refresh whose token no longer grants a channel ends that subscription with an unsubscribed push, and only that one', async () => {
    const client = await ws(await tokenFor('alice', { channels: ['orders:1', 'orders:eu-2'] }));
    expect((await client.request({ type: 'subscribe', channel: 'orders:1' })).error).toBeUndefined();
    expect((await client.request({ type: 'subscribe', channel: 'orders:eu-2' })).error).toBeUndefined();
    const reply = await client.request({ type: 'refresh', token: await tokenFor('alice', { channels: ['orders:eu-2'] }) });
    expect(reply.error).toBeUndefined();
    await client.frames.until((fs) => fs.some((f) => f.type === 'unsubscribed'), 'the unsubscribed push');
    expect(client.frames.items.filter((f) => f.type === 'unsubscribed')).toEqual([
      { type: 'unsubscribed', channel: 'orders:1', error: { code: ErrorCode.Forbidden, message: 'subscribe on orders:1 is not allowed' } },
    ]);
    await watcher.request({ type: 'publish', channel: 'orders:1', data: 'after the refresh' });
    await watcher.request({ type: 'publish', channel: 'orders:eu-2', data: 'still granted' });
    expect((await client.waitForMessages(1, 'orders:eu-2'))[0].data).toBe('still granted');
    expect((await client.request({ type: 'ping' })).error).toBeUndefined();
    expect(client.messages('orders:1')).toEqual([]);
    // The channel is no longer the session's: subscribing again is refused like any denied channel.
    expect((await client.request({ type: 'subscribe', channel: 'orders:1' })).error.code).toBe(ErrorCode.Forbidden);
  });

  it('malformed grants grant nothing', async () => {
    const client = await ws(await tokenFor('alice', { channels: 'orders:*', herald: { subscribe: [42, null, ''] } }));
    expect((await client.request({ type: 'subscribe', channel: 'orders:1' })).error.code).toBe(ErrorCode.Forbidden);
  });
});

describe('owner access', () => {
  it("inbox:alice is alice's only", async () => {
    const bob = await ws(await tokenFor('bob'));
    await expectDeniedOnWs(bob, 'inbox:alice', ErrorCode.Forbidden);
    expect((await bob.request({ type: 'subscribe', channel: 'inbox:bob' })).error).toBeUndefined();
  });

  it('on channels without a namespace, a user never owns a channel named after a suffix of their id', async () => {
    // Owner rules on the '' namespace: the user "lice" must not own the channel "alice".
    const lice = await ws(await tokenFor('lice'));
    expect((await lice.request({ type: 'subscribe', channel: 'alice' })).error?.code).toBe(ErrorCode.Forbidden);
    expect(lice.messages('alice')).toEqual([]);
  });
});

describe('per-namespace history size', () => {
  it('keeps NamespaceRules.historySize messages in that namespace and the hub default elsewhere', async () => {
    for (let i = 1; i <= 10; i++) {
      await hub.server.hub.publish('small:log', i);
      await hub.server.hub.publish('public:log', i);
    }
    const small = await httpRequest(`${hub.url}/api/history?channel=small:log`);
    expect(small.json.messages.map((m: any) => m.offset)).toEqual([8, 9, 10]);
    const client = await ws();
    expect((await client.request({ type: 'history', channel: 'small:log' })).messages.map((m: any) => m.data)).toEqual([8, 9, 10]);
    expect((await client.request({ type: 'history', channel: 'public:log' })).messages).toHaveLength(10);
  });
});

describe('the API key', () => {
  const key = { 'X-Herald-Key': API_KEY };

  it('bypasses every rule: publish, read, presence, SSE and WebSocket on a none namespace', async () => {
    const published = await publishWith(hub.url, 'secret:vault', 'from backend', key);
    expect(published.status).toBe(200);
    expect(published.json).toMatchObject({ channel: 'secret:vault' });
    const history = await httpRequest(`${hub.url}/api/history?channel=secret:vault`, { headers: key });
    expect(history.status).toBe(200);
    expect(history.json.messages.map((m: any) => m.data)).toContain('from backend');
    expect((await httpRequest(`${hub.url}/api/presence?channel=secret:vault`, { headers: key })).json.members.length).toBeGreaterThan(0);
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=secret:vault`, key);
    opened.push(sse);
    expect(sse.response.statusCode).toBe(200);
  });

  it('a wrong key never opens anything: 401 "the API key is not valid" on every route and on the upgrade', async () => {
    const refused = { error: { code: ErrorCode.Unauthorized, message: 'the API key is not valid' } };
    for (const wrong of ['wrong', `${API_KEY}x`, API_KEY.slice(0, -1), API_KEY.toUpperCase(), '']) {
      const headers = { 'X-Herald-Key': wrong };
      for (const answer of [
        await publishWith(hub.url, 'secret:vault', 'x', headers),
        await publishWith(hub.url, 'public:lobby', 'x', headers),
        await httpRequest(`${hub.url}/api/history?channel=secret:vault`, { headers }),
        await httpRequest(`${hub.url}/events?channel=secret:vault`, { headers }),
      ]) {
        expect(answer.status).toBe(401);
        expect(answer.json).toEqual(refused);
      }
      const disconnect = await httpRequest(`${hub.url}/api/disconnect`, { method: 'POST', headers, body: '{"user":"alice"}' });
      expect(disconnect.status).toBe(401);
      const upgrade = await rawUpgrade(hub.port, '/ws', headers);
      expect(upgrade.status).toBe(401);
      expect(JSON.parse(upgrade.body)).toEqual(refused);
    }
    expect((await httpRequest(`${hub.url}/api/history?channel=secret:vault`)).status).toBe(403);
  });

  it("POST /api/disconnect with the key closes a user's WebSockets with 4502 and ends their SSE streams; without it, 401", async () => {
    const alice = await tokenFor('alice');
    const aliceWs = await ws(alice);
    const bobWs = await ws(await tokenFor('bob'));
    const aliceSse = await SseTestClient.connect(`${hub.url}/events?channel=inbox:alice`, bearer(alice));
    opened.push(aliceSse);
    await aliceSse.ready();

    const refused = await httpRequest(`${hub.url}/api/disconnect`, { method: 'POST', body: '{"user":"alice"}' });
    expect(refused.status).toBe(401);
    expect(refused.json.error.code).toBe(ErrorCode.Unauthorized);
    expect((await aliceWs.request({ type: 'ping' })).error).toBeUndefined();

    const badBody = await httpRequest(`${hub.url}/api/disconnect`, { method: 'POST', headers: key, body: '{}' });
    expect(badBody.status).toBe(400);

    const answer = await httpRequest(`${hub.url}/api/disconnect`, { method: 'POST', headers: key, body: '{"user":"alice"}' });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ disconnected: 2 });
    expect(await aliceWs.closed).toEqual({ code: CloseCode.Disconnected, reason: 'disconnected by the server' });
    await aliceSse.ended;
    expect(aliceSse.events.items).toEqual([
      {
        event: 'disconnect',
        data: JSON.stringify({ type: 'disconnect', error: { code: ErrorCode.Disconnected, message: 'disconnected by the server' } }),
        id: undefined,
      },
    ]);
    expect((await bobWs.request({ type: 'ping' })).error).toBeUndefined();
  });
});
