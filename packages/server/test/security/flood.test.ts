import { connect } from 'node:net';
import { CloseCode, ErrorCode } from '@herald/protocol';
import { WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { JwtAuthenticator, Permissions, type NamespaceRules } from '@herald/server';
import { bearer, guardSuite, HS_SECRET, logLines, remember, startHub, tokenFor } from './suite.js';
import { httpRequest, rawUpgrade } from './wire.js';

/**
 * Floods: connections per IP and per user are capped (429 on the upgrade, 429 JSON with 3002 on
 * SSE) and a closed connection frees its slot; commands per session are rate-limited (3002 errors,
 * then close 4003) without touching other sessions.
 */

guardSuite();

const every = (access: NamespaceRules['subscribe']): NamespaceRules => ({
  subscribe: access,
  publish: access,
  history: access,
  presence: access,
});

const logLinesAbout = (text: string): number => logLines.filter((line) => line.includes(text)).length;

let hub: TestHub | undefined;
const opened: { close(): Promise<unknown> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  await hub?.close();
  hub = undefined;
});

async function ws(url: string, headers: Record<string, string> = {}): Promise<WsTestClient> {
  const client = await WsTestClient.connect(url, { headers });
  opened.push(client);
  return client;
}

/** Retries an upgrade until it succeeds (the hub frees a slot once it has seen the close), at most 2 s. */
async function upgradeSoon(url: string, headers: Record<string, string> = {}): Promise<WsTestClient> {
  const deadline = performance.now() + 2000;
  for (;;) {
    try {
      return await ws(url, headers);
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

async function expectUpgradeRefused(port: number, headers: Record<string, string>, message: string): Promise<void> {
  const refused = await rawUpgrade(port, '/ws', headers);
  expect(refused.status).toBe(429);
  expect(refused.head).not.toMatch(/\b101\b/);
  expect(JSON.parse(refused.body)).toEqual({ error: { code: ErrorCode.RateLimited, message } });
}

describe('connections per IP', () => {
  it('the 21st WebSocket gets 429 and SSE 429 JSON 3002; polling is not counted; closing one frees a slot', async () => {
    hub = await startHub({ connectionsPerIp: 20 });
    const clients = [];
    for (let i = 0; i < 20; i++) clients.push(await ws(hub.wsUrl));
    const message = 'at most 20 connections per IP address';
    await expectUpgradeRefused(hub.port, {}, message);
    const sse = await httpRequest(`${hub.url}/events?channel=x`);
    expect(sse.status).toBe(429);
    expect(sse.json).toEqual({ error: { code: ErrorCode.RateLimited, message } });
    expect((await httpRequest(`${hub.url}/api/messages?channel=x`)).status).toBe(200);
    expect(hub.server.stats().websocket).toBe(20);

    await clients[0]!.close();
    const again = await upgradeSoon(hub.wsUrl);
    expect((await again.request({ type: 'ping' })).error).toBeUndefined();
    await expectUpgradeRefused(hub.port, {}, message);
  });

  it('WebSocket handshakes that ws itself refuses (bad version, bad subprotocol list) do not keep their slots', async () => {
    hub = await startHub({ connectionsPerIp: 2 });
    const port = hub.port;
    const refusedHandshake = (extra: string): Promise<string> =>
      new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1');
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
        socket.write(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}\r\n\r\n`);
      });
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==';
    for (const extra of [
      `${key}\r\nSec-WebSocket-Version: 99`,
      `${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a,,b`,
      'Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13',
    ]) {
      expect(await refusedHandshake(extra)).toMatch(/^HTTP\/1\.1 4\d\d/);
    }
    // Two well-formed connections must still fit under the limit of 2.
    await ws(hub.wsUrl);
    await ws(hub.wsUrl);
  });
});

describe('connections per user', () => {
  it('the 4th connection of a user gets 429 (WebSocket by header, cookie or ticket, and SSE); other users are unaffected', async () => {
    hub = await startHub({
      connectionsPerUser: 3,
      security: {
        authenticator: new JwtAuthenticator({ secret: HS_SECRET }),
        permissions: new Permissions({ room: every('authenticated') }),
      },
    });
    const alice = await tokenFor('alice');
    const ticket = remember((await httpRequest(`${hub.url}/api/ticket`, { method: 'POST', headers: bearer(alice) })).json.ticket as string);
    const first = await ws(hub.wsUrl, bearer(alice));
    await ws(hub.wsUrl, { Cookie: `herald_token=${alice}` });
    await ws(`${hub.wsUrl}?ticket=${ticket}`);
    const message = 'at most 3 connections per user';
    await expectUpgradeRefused(hub.port, bearer(alice), message);
    const sse = await httpRequest(`${hub.url}/events?channel=room:1`, { headers: bearer(alice) });
    expect(sse.status).toBe(429);
    expect(sse.json).toEqual({ error: { code: ErrorCode.RateLimited, message } });

    const bob = await tokenFor('bob');
    for (let i = 0; i < 3; i++) await ws(hub.wsUrl, bearer(bob));
    await ws(hub.wsUrl);
    await ws(hub.wsUrl);

    await first.close();
    await upgradeSoon(hub.wsUrl, bearer(alice));
    await expectUpgradeRefused(hub.port, bearer(alice), message);
  });
});

describe('connections per user, authenticated after connecting', () => {
  it('an auth command counts the session for its user: the 3rd is refused with 3002 and stays anonymous; a closed one frees its slot', async () => {
    hub = await startHub({
      connectionsPerUser: 2,
      security: {
        authenticator: new JwtAuthenticator({ secret: HS_SECRET }),
        permissions: new Permissions({ room: every('authenticated') }),
      },
    });
    const alice = await tokenFor('alice');
    const first = await ws(hub.wsUrl, bearer(alice));
    const late = await ws(hub.wsUrl);
    expect((await late.request({ type: 'auth', token: alice })).error).toBeUndefined();
    const third = await ws(hub.wsUrl);
    expect((await third.request({ type: 'auth', token: alice })).error).toEqual({
      code: ErrorCode.RateLimited,
      message: 'at most 2 connections per user',
    });
    // Still anonymous: the authenticated namespace stays closed to it.
    expect((await third.request({ type: 'subscribe', channel: 'room:1' })).error.code).toBe(ErrorCode.Unauthorized);
    await expectUpgradeRefused(hub.port, bearer(alice), 'at most 2 connections per user');
    await late.close();
    await expect
      .poll(async () => (await third.request({ type: 'auth', token: alice })).error, { timeout: 2000, interval: 20 })
      .toBeUndefined();
    expect((await third.request({ type: 'subscribe', channel: 'room:1' })).error).toBeUndefined();
    await first.close();
  });
});

describe('commands per session', () => {
  const LIMITED = { code: ErrorCode.RateLimited, message: 'at most 10 commands per second' };
  const isLimited = (f: any): boolean => f.error?.code === ErrorCode.RateLimited;

  it('commandsPerSecond 10, burst 20: after the burst, 3002 errors; 50 strikes in a row close 4003; others carry on', async () => {
    hub = await startHub({ commandsPerSecond: 10, commandBurst: 20 });
    const bystander = await ws(hub.wsUrl);
    await bystander.request({ type: 'subscribe', channel: 'calm' });
    const flooder = await ws(hub.wsUrl);
    for (let id = 0; id < 200; id++) flooder.sendRaw(JSON.stringify({ id, type: 'ping' }));
    const closed = await flooder.closed;
    const frames = flooder.frames.items;
    const served = frames.filter((f) => !isLimited(f));
    const limited = frames.filter(isLimited);
    // The burst is served, in order; then every command is refused, with its id, until the close.
    expect(served.length).toBeGreaterThanOrEqual(20);
    expect(served.length).toBeLessThanOrEqual(22);
    expect(served).toEqual(served.map((_, id) => ({ type: 'reply', id })));
    expect(limited.length).toBeGreaterThanOrEqual(49);
    expect(limited).toEqual(limited.map((_, i) => ({ type: 'reply', id: served.length + i, error: LIMITED })));
    expect(frames.findIndex(isLimited)).toBe(served.length);
    expect(closed).toEqual({ code: CloseCode.RateLimited, reason: 'too many commands' });
    expect(logLinesAbout('command flood')).toBeGreaterThan(0);

    for (let i = 0; i < 15; i++) expect((await bystander.request({ type: 'ping' })).error).toBeUndefined();
    await hub.server.hub.publish('calm', 'still delivered');
    expect((await bystander.waitForMessages(1)).map((m) => m.data)).toEqual(['still delivered']);
  });

  it('a session authenticated with the API key is not rate-limited: 1,000 publishes at once are all answered; a normal session on the same hub still is', async () => {
    const key = remember('flood-test-backend-api-key-0123456789');
    // The defaults (100 per second, burst 200): the case of a backend publishing over the WebSocket.
    hub = await startHub({ security: { apiKeys: [key] } });
    const subscriber = await ws(hub.wsUrl);
    await subscriber.request({ type: 'subscribe', channel: 'feed' });
    const backend = await ws(hub.wsUrl, { 'X-Herald-Key': key });
    for (let id = 0; id < 1000; id++) backend.sendRaw(JSON.stringify({ id, type: 'publish', channel: 'feed', data: id }));
    const replies = await backend.frames.count(1000, 20_000);
    expect(replies.filter(isLimited)).toEqual([]);
    expect(replies.map((f) => [f.id, f.offset])).toEqual(replies.map((_, i) => [i, i + 1]));
    expect((await subscriber.waitForMessages(1000, 'feed', 20_000)).map((m) => m.data)).toEqual(replies.map((_, i) => i));
    expect((await backend.request({ type: 'ping' })).error).toBeUndefined();

    const browser = await ws(hub.wsUrl);
    for (let id = 0; id < 300; id++) browser.sendRaw(JSON.stringify({ id, type: 'ping' }));
    expect(await browser.closed).toEqual({ code: CloseCode.RateLimited, reason: 'too many commands' });
    expect(browser.frames.items.filter(isLimited).length).toBeGreaterThanOrEqual(49);
    expect(backend.socket.readyState).toBe(backend.socket.OPEN);
  });

  it('repeated denials count too: refused subscribes are rate-limited, and 50 strikes in a row close 4003', async () => {
    hub = await startHub({
      commandsPerSecond: 10,
      commandBurst: 20,
      security: { authenticator: new JwtAuthenticator({ secret: HS_SECRET }), permissions: new Permissions({ secret: every('none') }) },
    });
    const flooder = await ws(hub.wsUrl);
    const denied = { type: 'subscribe', channel: 'secret:vault' };
    for (let i = 0; i < 30; i++) flooder.sendRaw(JSON.stringify({ id: i, ...denied }));
    const first = await flooder.frames.count(30);
    const codeOf = (id: number): number => first.find((f) => f.id === id).error.code;
    expect(Array.from({ length: 30 }, (_, id) => codeOf(id))).toEqual([
      ...Array.from({ length: 20 }, () => ErrorCode.Forbidden),
      ...Array.from({ length: 10 }, () => ErrorCode.RateLimited),
    ]);
    for (let i = 30; i < 100; i++) flooder.sendRaw(JSON.stringify({ id: i, ...denied }));
    expect((await flooder.closed).code).toBe(CloseCode.RateLimited);
    const rest = flooder.frames.items.slice(30);
    expect(rest.length).toBeGreaterThanOrEqual(39);
    expect(rest.every(isLimited)).toBe(true);
  });

  it('exactly commandBurst commands at once are all served', async () => {
    hub = await startHub({ commandsPerSecond: 10, commandBurst: 20 });
    const client = await ws(hub.wsUrl);
    const replies = await Promise.all(Array.from({ length: 20 }, () => client.request({ type: 'ping' })));
    expect(replies.every((r) => r.error === undefined)).toBe(true);
    expect(client.frames.items.filter((f) => f.type === 'error')).toEqual([]);
  });
});
