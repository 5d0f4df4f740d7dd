import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloseCode, ErrorCode } from '@herald/protocol';
import { JwtAuthenticator, Permissions, type SecurityOptions } from '@herald/server';
import { createSqliteEngine } from '@herald/sqlite';
import { SignJWT } from 'jose';
import { poll, publishHttp, SseTestClient, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const q = encodeURIComponent;

const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

describe('restart: a hub on SQLite stops and starts again; clients resume with no gap and no duplicate', () => {
  let path: string;
  const running: TestHub[] = [];
  /** A hub on a new SqliteBroker over the test's file. */
  const start = async (security?: SecurityOptions): Promise<TestHub> => {
    const hub = await startTestHub({ ...createSqliteEngine({ path, historySize: 1000 }), ...(security && { security }) });
    running.push(hub);
    return hub;
  };
  /** Graceful stop, as on SIGTERM: sessions are closed, then the engine (and its file). */
  const stop = async (hub: TestHub): Promise<void> => {
    running.splice(running.indexOf(hub), 1);
    await hub.close();
  };
  const publish = async (hub: TestHub, channel: string, from: number, to: number): Promise<void> => {
    for (let i = from; i <= to; i++) expect((await publishHttp(hub.url, channel, { i })).status).toBe(200);
  };

  beforeEach(() => {
    path = join(dir, `${files++}.db`);
  });
  afterEach(async () => {
    for (const hub of running.splice(0)) await hub.close();
  });

  it('WebSocket: subscribe again with the last received position as since', async () => {
    const first = await start();
    const ws = await WsTestClient.connect(first.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'r' });
    await publish(first, 'r', 1, 15);
    const last = (await ws.waitForMessages(15)).at(-1);
    expect(last.offset).toBe(15);
    await stop(first);
    expect((await ws.closed).code).toBe(CloseCode.ServerShutdown);

    const second = await start();
    // Missed while the client was away, after the restart.
    await publish(second, 'r', 16, 20);
    const again = await WsTestClient.connect(second.wsUrl);
    const reply = await again.request({ type: 'subscribe', channel: 'r', since: { epoch: last.epoch, offset: last.offset } });
    expect(reply).toMatchObject({ type: 'reply', position: { epoch: last.epoch, offset: 15 } });
    expect(reply.error).toBeUndefined();
    await publish(second, 'r', 21, 21);
    const resumed = await again.waitForMessages(6);
    expect(resumed.map((m) => [m.epoch, m.offset, m.data.i])).toEqual(range(16, 21).map((i) => [last.epoch, i, i]));
    expect(again.frames.items.filter((f) => f.type === 'gap')).toEqual([]);
    // Reply, then replay, then live: nothing before the reply.
    expect(again.frames.items[0].type).toBe('reply');
    await again.close();
  });

  it('WebSocket: the cursor of the first subscribe reply resumes across the restart', async () => {
    const first = await start();
    const ws = await WsTestClient.connect(first.wsUrl);
    const { cursor } = await ws.request({ type: 'subscribe', channel: 'from-reply' });
    await publish(first, 'from-reply', 1, 3);
    await ws.waitForMessages(3);
    await stop(first);

    const second = await start();
    await publish(second, 'from-reply', 4, 4);
    const again = await WsTestClient.connect(second.wsUrl);
    await again.request({ type: 'subscribe', channel: 'from-reply', since: cursor });
    expect((await again.waitForMessages(4)).map((m) => m.offset)).toEqual([1, 2, 3, 4]);
    expect(again.frames.items.filter((f) => f.type === 'gap')).toEqual([]);
    await again.close();
  });

  it('SSE: the browser-style reconnect with Last-Event-ID', async () => {
    const first = await start();
    const sse = await SseTestClient.connect(`${first.url}/events?channel=s`);
    await sse.ready();
    await publish(first, 's', 1, 10);
    await sse.waitForMessages(10);
    await stop(first);
    await sse.ended;
    const lastId = sse.lastEventId;

    const second = await start();
    await publish(second, 's', 11, 15);
    const again = await SseTestClient.connect(`${second.url}/events?channel=s`, { 'Last-Event-ID': lastId });
    await publish(second, 's', 16, 16);
    expect((await again.waitForMessages(6)).map((m) => m.offset)).toEqual(range(11, 16));
    expect(again.events.items.filter((e) => e.event === 'gap')).toEqual([]);
    await again.close();
  });

  it('polling: since the last cursor', async () => {
    const first = await start();
    await publish(first, 'p', 1, 10);
    const before = await poll(first.url, 'channel=p');
    expect(before.body.messages.map((m: any) => m.offset)).toEqual(range(1, 10));
    await publish(first, 'p', 11, 15);
    await stop(first);

    const second = await start();
    await publish(second, 'p', 16, 20);
    const resumed = await poll(second.url, `channel=p&since=${q(before.body.cursor)}`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.messages.map((m: any) => [m.epoch, m.offset])).toEqual(
      range(11, 20).map((i) => [before.body.messages[0].epoch, i]),
    );
    expect(resumed.body.gaps).toBeUndefined();
    const nothing = await poll(second.url, `channel=p&since=${q(resumed.body.cursor)}`);
    expect(nothing.body).toEqual({ messages: [], cursor: resumed.body.cursor });
  });

  it('a held long poll is answered at shutdown and its cursor resumes on the new hub', async () => {
    const first = await start();
    const { body } = await poll(first.url, 'channel=lp&since=now');
    const held = poll(first.url, `channel=lp&since=${q(body.cursor)}&wait=30`);
    await expect.poll(() => first.server.stats().polling).toBe(1);
    await stop(first);
    const answered = await held;
    expect(answered.body).toEqual({ messages: [], cursor: body.cursor });

    const second = await start();
    await publish(second, 'lp', 1, 2);
    const resumed = await poll(second.url, `channel=lp&since=${q(answered.body.cursor)}`);
    expect(resumed.body.messages.map((m: any) => m.offset)).toEqual([1, 2]);
    expect(resumed.body.gaps).toBeUndefined();
  });

  it('contrast: on a new file the old position is foreign, and the client is told with an epoch gap', async () => {
    const first = await start();
    await publish(first, 'e', 1, 3);
    const { body } = await poll(first.url, 'channel=e');
    await stop(first);

    path = join(dir, `${files++}.db`);
    const second = await start();
    await publish(second, 'e', 1, 2);
    const resumed = await poll(second.url, `channel=e&since=${q(body.cursor)}`);
    expect(resumed.body.gaps).toEqual([expect.objectContaining({ channel: 'e', reason: 'epoch' })]);
    expect(resumed.body.messages.map((m: any) => m.offset)).toEqual([1, 2]);
  });

  it('presence does not survive a restart', async () => {
    const first = await start();
    const ws = await WsTestClient.connect(first.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'who' });
    const members: any = await fetch(`${first.url}/api/presence?channel=who`).then((res) => res.json());
    expect(members.members).toHaveLength(1);
    await stop(first);

    const second = await start();
    const after: any = await fetch(`${second.url}/api/presence?channel=who`).then((res) => res.json());
    expect(after.members).toEqual([]);
  });

  it('a client without history resumes from its signed cursor after the restart, and a made-up one is still refused', async () => {
    const secret = 'sqlite-restart-jwt-secret-0123456789abcdef';
    const security = {
      authenticator: new JwtAuthenticator({ secret }),
      apiKeys: ['sqlite-restart-api-key-0123456789'],
      permissions: new Permissions({ room: { subscribe: 'authenticated', publish: 'none', history: 'none', presence: 'none' } }),
    } as const;
    const token = await new SignJWT({ sub: 'erin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    const headers = { authorization: `Bearer ${token}` };
    const first = await start(security);
    for (let i = 1; i <= 3; i++) await first.server.hub.publish('room:1', { i });
    const ws = await WsTestClient.connect(first.wsUrl, { headers });
    expect((await ws.request({ type: 'subscribe', channel: 'room:1' })).error).toBeUndefined();
    await first.server.hub.publish('room:1', { i: 4 });
    const [last] = await ws.waitForMessages(1);
    expect(last.cursor).toEqual(expect.any(String));
    await stop(first);
    await ws.closed;

    const second = await start(security);
    for (let i = 5; i <= 6; i++) await second.server.hub.publish('room:1', { i });
    const again = await WsTestClient.connect(second.wsUrl, { headers });
    try {
      expect((await again.request({ type: 'subscribe', channel: 'room:1', since: last.cursor })).error).toBeUndefined();
      expect((await again.waitForMessages(2)).map((m) => m.data.i)).toEqual([5, 6]);
      expect((await again.request({ type: 'subscribe', channel: 'room:2', since: { epoch: last.epoch, offset: 0 } })).error.code).toBe(
        ErrorCode.Forbidden,
      );
    } finally {
      await again.close();
    }
    const polled = await fetch(`${second.url}/api/messages?channel=room:1&since=${last.cursor}`, { headers });
    expect(((await polled.json()) as { messages: { data: { i: number } }[] }).messages.map((m) => m.data.i)).toEqual([5, 6]);
  });
});
