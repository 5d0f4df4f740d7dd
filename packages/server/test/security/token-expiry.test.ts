import { CloseCode, ErrorCode } from '@herald/protocol';
import { eventually, ManualClock, SseTestClient, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JwtAuthenticator, Permissions, type NamespaceRules } from '@herald/server';
import { bearer, guardSuite, HS_SECRET, seconds, startHub, tokenFor } from './suite.js';
import { httpRequest, rawUpgrade } from './wire.js';

/**
 * Token lifetime over real sockets, with the hub's clock and its setTimeout both under the test's
 * control (leeway 0): a session ends exactly at `exp` unless refreshed, on every transport; a
 * session that must authenticate and does not is closed at its deadline.
 */

guardSuite();

const every = (access: NamespaceRules['subscribe']): NamespaceRules => ({
  subscribe: access,
  publish: access,
  history: access,
  presence: access,
});
const permissions = new Permissions({ inbox: every('owner'), public: every('anonymous'), members: every('authenticated') });

let clock: ManualClock;
let hub: TestHub | undefined;

/** Moves the hub's clock and its timers together. */
function advance(ms: number): void {
  clock.advance(ms);
  vi.advanceTimersByTime(ms);
}

/** A token for `sub` expiring `inSeconds` after the hub clock's now. */
const expiringToken = (sub: string, inSeconds: number): Promise<string> =>
  tokenFor(sub, { exp: seconds(clock.now()) + inSeconds }, clock.now());

beforeEach(() => {
  clock = new ManualClock();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});

afterEach(async () => {
  vi.useRealTimers();
  await hub?.close();
  hub = undefined;
});

const startClockedHub = async (extra: { requireAuth?: boolean; authTimeout?: number } = {}): Promise<TestHub> =>
  (hub = await startHub({
    clock,
    security: { authenticator: new JwtAuthenticator({ secret: HS_SECRET, leeway: 0, now: clock.now }), permissions, ...extra },
  }));

describe('a token expiring mid-connection', () => {
  it('closes the WebSocket with 4100 at exp, not a millisecond before', async () => {
    const hub = await startClockedHub();
    const client = await WsTestClient.connect(hub.wsUrl, { headers: bearer(await expiringToken('alice', 60)) });
    expect((await client.request({ type: 'subscribe', channel: 'inbox:alice' })).error).toBeUndefined();
    advance(59_999);
    expect((await client.request({ type: 'ping' })).error).toBeUndefined();
    advance(1);
    expect(await client.closed).toEqual({ code: CloseCode.TokenExpired, reason: 'token expired' });
  });

  it('a refresh with a new token before exp keeps the session open past the first exp, until the new one', async () => {
    const hub = await startClockedHub();
    const client = await WsTestClient.connect(hub.wsUrl, { headers: bearer(await expiringToken('alice', 60)) });
    await client.request({ type: 'subscribe', channel: 'inbox:alice' });
    advance(30_000);
    const next = await expiringToken('alice', 90);
    const reply = await client.request({ type: 'refresh', token: next });
    expect(reply).toEqual({ type: 'reply', id: reply.id, user: 'alice', expiresAt: clock.now() + 90_000 });
    advance(31_000);
    expect((await client.request({ type: 'ping' })).error).toBeUndefined();
    await hub.server.hub.publish('inbox:alice', 'still here');
    expect((await client.waitForMessages(1)).map((m) => m.data)).toEqual(['still here']);
    advance(59_000);
    expect(await client.closed).toEqual({ code: CloseCode.TokenExpired, reason: 'token expired' });
  });

  it('a refresh for another user is refused with 2001 and the session keeps its identity and its deadline', async () => {
    const hub = await startClockedHub();
    const client = await WsTestClient.connect(hub.wsUrl, { headers: bearer(await expiringToken('alice', 60)) });
    const reply = await client.request({ type: 'refresh', token: await expiringToken('bob', 3600) });
    expect(reply.error).toEqual({ code: ErrorCode.Forbidden, message: 'a refresh must keep the same user' });
    expect((await client.request({ type: 'subscribe', channel: 'inbox:alice' })).error).toBeUndefined();
    expect((await client.request({ type: 'subscribe', channel: 'inbox:bob' })).error.code).toBe(ErrorCode.Forbidden);
    advance(60_000);
    expect((await client.closed).code).toBe(CloseCode.TokenExpired);
  });

  it('a refresh with an expired token is refused and the session keeps its deadline', async () => {
    const hub = await startClockedHub();
    const stale = await expiringToken('alice', 10);
    const client = await WsTestClient.connect(hub.wsUrl, { headers: bearer(await expiringToken('alice', 60)) });
    advance(20_000);
    const reply = await client.request({ type: 'refresh', token: stale });
    expect(reply.error).toEqual({ code: ErrorCode.TokenExpired, message: 'token expired' });
    expect((await client.request({ type: 'ping' })).error).toBeUndefined();
    advance(40_000);
    expect((await client.closed).code).toBe(CloseCode.TokenExpired);
  });

  it('ends an SSE stream at exp with a disconnect event carrying code 2002', async () => {
    const hub = await startClockedHub();
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=inbox:alice`, bearer(await expiringToken('alice', 60)));
    expect(sse.response.statusCode).toBe(200);
    await sse.ready();
    advance(59_999);
    expect(sse.events.items).toEqual([]);
    advance(1);
    await sse.ended;
    expect(sse.events.items).toEqual([
      {
        event: 'disconnect',
        data: JSON.stringify({ type: 'disconnect', error: { code: ErrorCode.TokenExpired, message: 'token expired' } }),
        id: undefined,
      },
    ]);
  });

  // Node runs a timer of more than 2³¹ − 1 ms (24.8 days) after 1 ms, and capping the delay there
  // ended such a stream at 24.8 days: every transport waits for the real expiry.
  const DAY = 86_400_000;

  it('an SSE stream whose token expires in 30 days is still open after 24.8 days, and ends at exp with 2002', async () => {
    const hub = await startClockedHub();
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=inbox:alice`, bearer(await expiringToken('alice', 30 * 86_400)));
    expect(sse.response.statusCode).toBe(200);
    await sse.ready();
    advance(2 ** 31 - 1);
    advance(1);
    advance(5 * DAY);
    await hub.server.hub.publish('inbox:alice', 'day 29');
    const message = sse.events.until((events) => events.some((e) => e.event === 'message'), 'the message of day 29');
    expect(await Promise.race([message.then(() => 'message'), sse.ended.then(() => 'ended')])).toBe('message');
    expect(sse.events.items.map((e) => e.event)).toEqual(['message']);
    expect(hub.server.stats().sse).toBe(1);
    advance(30 * DAY - (2 ** 31 + 5 * DAY) - 1);
    expect(hub.server.stats().sse).toBe(1);
    advance(1);
    await sse.ended;
    expect(sse.events.items.at(-1)).toEqual({
      event: 'disconnect',
      data: JSON.stringify({ type: 'disconnect', error: { code: ErrorCode.TokenExpired, message: 'token expired' } }),
      id: undefined,
    });
  });

  it('a WebSocket whose token expires in 30 days is still open after 24.8 days, and closes at exp with 4100', async () => {
    const hub = await startClockedHub();
    const client = await WsTestClient.connect(hub.wsUrl, { headers: bearer(await expiringToken('alice', 30 * 86_400)) });
    // In steps that land on the timer's own (2³¹ − 1 ms), so the hub's clock and timers agree there.
    advance(2 ** 31 - 1);
    advance(25 * DAY - (2 ** 31 - 1));
    expect((await client.request({ type: 'ping' })).error).toBeUndefined();
    advance(5 * DAY - 1);
    expect((await client.request({ type: 'ping' })).error).toBeUndefined();
    advance(1);
    expect(await client.closed).toEqual({ code: CloseCode.TokenExpired, reason: 'token expired' });
  });

  it('polling: a held long poll ends at exp with 401 and 2002, not at the end of its wait', async () => {
    const hub = await startClockedHub();
    const token = await expiringToken('alice', 10);
    const answer = httpRequest(`${hub.url}/api/messages?channel=inbox:alice&since=now&wait=60`, { headers: bearer(token) });
    await eventually(() => hub.server.stats().polling === 1, 'the poll to be held');
    advance(9_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(hub.server.stats().polling).toBe(1);
    advance(1);
    const expired = await answer;
    expect(expired.json).toEqual({ error: { code: ErrorCode.TokenExpired, message: 'token expired' } });
    expect(expired.status).toBe(401);
    expect(hub.server.stats().polling).toBe(0);
  });

  it('polling: the next request with the expired token gets 401 with 2002 "token expired"', async () => {
    const hub = await startClockedHub();
    const token = await expiringToken('alice', 60);
    expect((await httpRequest(`${hub.url}/api/messages?channel=inbox:alice`, { headers: bearer(token) })).status).toBe(200);
    advance(60_000);
    const expired = await httpRequest(`${hub.url}/api/messages?channel=inbox:alice`, { headers: bearer(token) });
    expect(expired.json).toEqual({ error: { code: ErrorCode.TokenExpired, message: 'token expired' } });
    expect(expired.status).toBe(401);
  });
});

describe('requireAuth', () => {
  it('a WebSocket without credentials gets 2000 for every command but ping, then 4501 at authTimeout', async () => {
    const hub = await startClockedHub({ requireAuth: true, authTimeout: 200 });
    await hub.server.hub.publish('public:lobby', 'secret-ish');
    const client = await WsTestClient.connect(hub.wsUrl);
    for (const command of [
      { type: 'subscribe', channel: 'public:lobby' },
      { type: 'history', channel: 'public:lobby' },
      { type: 'presence', channel: 'public:lobby' },
      { type: 'publish', channel: 'public:lobby', data: 1 },
    ]) {
      const reply = await client.request(command);
      expect(reply).toEqual({
        type: 'reply',
        id: reply.id,
        error: { code: ErrorCode.Unauthorized, message: 'authenticate first (auth command)' },
      });
    }
    expect((await client.request({ type: 'ping' })).error).toBeUndefined();
    expect(client.messages()).toEqual([]);
    advance(199);
    expect((await client.request({ type: 'ping' })).error).toBeUndefined();
    advance(1);
    expect(await client.closed).toEqual({ code: CloseCode.Unauthorized, reason: 'authentication required' });
  });

  it('an auth command with a valid token within the deadline opens the session for good', async () => {
    const hub = await startClockedHub({ requireAuth: true, authTimeout: 200 });
    const client = await WsTestClient.connect(hub.wsUrl);
    advance(150);
    const bad = await client.request({ type: 'auth', token: 'not-a-token' });
    expect(bad.error.code).toBe(ErrorCode.Unauthorized);
    const reply = await client.request({ type: 'auth', token: await expiringToken('alice', 3600) });
    expect(reply).toEqual({ type: 'reply', id: reply.id, user: 'alice', expiresAt: (seconds(clock.now()) + 3600) * 1000 });
    advance(1000);
    expect((await client.request({ type: 'subscribe', channel: 'inbox:alice' })).error).toBeUndefined();
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    await client.close();
  });

  it('a bad auth command does not extend the deadline', async () => {
    const hub = await startClockedHub({ requireAuth: true, authTimeout: 200 });
    const client = await WsTestClient.connect(hub.wsUrl);
    expect((await client.request({ type: 'auth', token: 'still.not.valid' })).error.code).toBe(ErrorCode.Unauthorized);
    advance(200);
    expect((await client.closed).code).toBe(CloseCode.Unauthorized);
  });

  it('a WebSocket upgrade with a valid header is authenticated at once and never hits the deadline', async () => {
    const hub = await startClockedHub({ requireAuth: true, authTimeout: 200 });
    const upgrade = await rawUpgrade(hub.port, '/ws', bearer(await expiringToken('alice', 3600)));
    expect(upgrade.status).toBe(101);
    advance(10_000);
    expect(upgrade.frames.items).toEqual([]);
    expect(upgrade.socket.destroyed).toBe(false);
    upgrade.socket.destroy();
  });

  it('SSE and polling without credentials get 401, even on a namespace open to anonymous clients', async () => {
    const hub = await startClockedHub({ requireAuth: true, authTimeout: 200 });
    await hub.server.hub.publish('public:lobby', 'members only');
    const sse = await httpRequest(`${hub.url}/events?channel=public:lobby&since=c1.`);
    expect(sse.status).toBe(401);
    expect(sse.json).toEqual({ error: { code: ErrorCode.Unauthorized, message: 'this hub needs a token' } });
    const polled = await httpRequest(`${hub.url}/api/messages?channel=public:lobby`);
    expect(polled.text).not.toContain('members only');
    expect(polled.status).toBe(401);
  });
});
