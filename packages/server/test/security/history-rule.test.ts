import { encodeCursor, encodePosition, ErrorCode, parseCursor, type CursorEntry } from '@herald/protocol';
import { SseTestClient, WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JwtAuthenticator, Permissions } from '@herald/server';
import { bearer, guardSuite, HS_SECRET, remember, startHub, tokenFor } from './suite.js';
import { httpRequest } from './wire.js';

/**
 * Issue 9, item 2: the `history` level protects the retained backlog. A client allowed to subscribe
 * to `room:77` but not to read its history receives messages from the moment it subscribes; it
 * resumes only from positions the hub signed and handed to it (a raw `{epoch, offset}`, an unsigned
 * or a forged cursor is refused with 2001) on every transport. Clients with `history` keep resuming
 * from any position. Item 1: join/leave pushes need the `presence` permission.
 */

guardSuite();

const API_KEY = remember('history-rule-test-api-key-0123456789');
const permissions = new Permissions({
  room: { subscribe: 'authenticated', publish: 'none', history: 'none', presence: 'none' },
  lobby: { subscribe: 'authenticated', publish: 'none', history: 'none', presence: 'granted' },
  open: { subscribe: 'authenticated', publish: 'none', history: 'authenticated', presence: 'authenticated' },
});
const CHANNEL = 'room:77';
const SEEDED = 5;

let hub: TestHub;
let token: string;
let epoch: string;
const opened: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  hub = await startHub({ security: { authenticator: new JwtAuthenticator({ secret: HS_SECRET }), permissions, apiKeys: [API_KEY] } });
  token = await tokenFor('mallory');
  for (let i = 1; i <= SEEDED; i++) ({ epoch } = await hub.server.hub.publish(CHANNEL, { secret: `backlog ${i}` }));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await hub.close();
});

async function ws(as: string = token): Promise<WsTestClient> {
  const client = await WsTestClient.connect(hub.wsUrl, { headers: bearer(as) });
  opened.push(client);
  return client;
}
async function sse(query: string, headers: Record<string, string> = {}): Promise<SseTestClient> {
  const client = await SseTestClient.connect(`${hub.url}/events?${query}`, { ...bearer(token), ...headers });
  opened.push(client);
  return client;
}
const poll = (query: string, as: string = token) => httpRequest(`${hub.url}/api/messages?${query}`, { headers: bearer(as) });
const publish = async (channel: string, n: number): Promise<number> => {
  let offset = 0;
  for (let i = 0; i < n; i++) ({ offset } = await hub.server.hub.publish(channel, { n: i }));
  return offset;
};
/** The position a one-channel cursor holds for `channel`. */
const entryOf = (cursor: string, channel = CHANNEL): CursorEntry | undefined => {
  const parsed = parseCursor(cursor);
  return parsed.ok ? parsed.value.get(channel) : undefined;
};
const enc = (query: Record<string, string>): string => new URLSearchParams(query).toString();

describe('a subscriber without history cannot read the backlog', () => {
  it('polling without since starts at the current end, with a signed cursor', async () => {
    expect((await httpRequest(`${hub.url}/api/history?channel=${CHANNEL}`, { headers: bearer(token) })).status).toBe(403);
    const first = await poll(enc({ channel: CHANNEL }));
    expect(first.status).toBe(200);
    expect(first.json.messages).toEqual([]);
    const at = entryOf(first.json.cursor)!;
    expect(at.offset).toBeGreaterThanOrEqual(SEEDED);
    expect(at.mac).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it('refuses an unsigned cursor or a raw position with 2001 on polling, SSE (since and Last-Event-ID) and the WebSocket', async () => {
    const cursor = encodePosition(CHANNEL, { epoch, offset: 0 });
    for (const answer of [
      await poll(enc({ channel: CHANNEL, since: cursor })),
      await poll(enc({ channel: CHANNEL, since: cursor, wait: '1' })),
    ]) {
      expect(answer.status).toBe(403);
      expect(answer.json.error.code).toBe(ErrorCode.Forbidden);
    }
    for (const stream of [
      await sse(enc({ channel: CHANNEL, since: cursor })),
      await sse(enc({ channel: CHANNEL }), { 'Last-Event-ID': cursor }),
    ]) {
      expect(stream.response.statusCode).toBe(403);
      await stream.ended;
      expect(stream.messages()).toEqual([]);
    }
    const client = await ws();
    for (const since of [cursor, { epoch, offset: 0 }]) {
      const reply = await client.request({ type: 'subscribe', channel: CHANNEL, since });
      expect(reply.error.code).toBe(ErrorCode.Forbidden);
    }
    await publish(CHANNEL, 1);
    await client.request({ type: 'ping' });
    expect(client.messages()).toEqual([]);
  });

  it('starts a forged (or no longer verifiable) signature at the end of the log, after a cursor gap, on every transport', async () => {
    const cursor = encodePosition(CHANNEL, { epoch, offset: 0, mac: 'AAAAAAAAAAAAAAAA' });
    const top = (await hub.server.hub.position(CHANNEL)).offset;
    const gap = {
      channel: CHANNEL,
      reason: 'cursor',
      requested: { epoch, offset: 0 },
      resumed: { epoch, offset: top },
      cursor: expect.any(String),
    };
    for (const answer of [
      await poll(enc({ channel: CHANNEL, since: cursor })),
      await poll(enc({ channel: CHANNEL, since: cursor, wait: '1' })),
    ]) {
      expect(answer.status).toBe(200);
      expect(answer.json.messages).toEqual([]);
      expect(answer.json.gaps).toEqual([gap]);
      expect(entryOf(answer.json.cursor)).toMatchObject({ offset: top, mac: expect.any(String) });
    }
    for (const stream of [
      await sse(enc({ channel: CHANNEL, since: cursor })),
      await sse(enc({ channel: CHANNEL }), { 'Last-Event-ID': cursor }),
    ]) {
      expect(stream.response.statusCode).toBe(200);
      await stream.events.until((events) => events.some((e) => e.event === 'gap'), 'gap');
      expect(JSON.parse(stream.events.items.find((e) => e.event === 'gap')!.data)).toEqual({ type: 'gap', ...gap });
    }
    const client = await ws();
    const reply = await client.request({ type: 'subscribe', channel: CHANNEL, since: cursor });
    expect(reply).toMatchObject({ position: { epoch, offset: top } });
    const after = await publish(CHANNEL, 1);
    const [message] = await client.waitForMessages(1, CHANNEL);
    expect(message.offset).toBe(after);
    expect(client.frames.items.filter((f) => f.type === 'gap')).toEqual([{ type: 'gap', ...gap }]);
    for (const stream of opened)
      if (stream instanceof SseTestClient) expect((await stream.waitForMessages(1)).map((m) => m.offset)).toEqual([after]);
  });

  it('refuses only the channel with the made-up cursor on an SSE stream of several', async () => {
    const cursor = encodeCursor(new Map([[CHANNEL, { epoch, offset: 0 }]]));
    const stream = await sse(enc({ channel: CHANNEL, since: cursor }) + '&channel=open:1');
    expect(stream.response.statusCode).toBe(200);
    await stream.events.until((events) => events.some((e) => e.event === 'unsubscribed'), 'unsubscribed');
    const refusal = JSON.parse(stream.events.items.find((e) => e.event === 'unsubscribed')!.data);
    expect(refusal).toMatchObject({ channel: CHANNEL, error: { code: ErrorCode.Forbidden } });
    await publish(CHANNEL, 1);
    await publish('open:1', 1);
    await stream.waitForMessages(1);
    expect(stream.messages().map((m) => m.channel)).toEqual(['open:1']);
  });

  it('does not accept a signature moved to another offset or channel', async () => {
    const client = await ws();
    const reply = await client.request({ type: 'subscribe', channel: CHANNEL });
    const signed = entryOf(reply.cursor)!;
    await client.close();
    const moved: [string, string][] = [
      [CHANNEL, encodePosition(CHANNEL, { ...signed, offset: 0 })],
      ['room:78', encodePosition('room:78', signed)],
    ];
    for (const [channel, since] of moved) {
      const answer = await poll(enc({ channel, since }));
      expect(answer.json.messages).toEqual([]);
      expect(answer.json.gaps).toMatchObject([{ channel, reason: 'cursor' }]);
    }
    expect((await poll(enc({ channel: CHANNEL, since: reply.cursor }))).json.gaps).toBeUndefined();
  });

  it('a hub with other secrets does not trust the cursor (cursor gap); one with the same cursorSecrets accepts it', async () => {
    const secrets = [remember('shared-cursor-secret-0123456789-abcdef')];
    const options = { authenticator: new JwtAuthenticator({ secret: HS_SECRET }), permissions };
    const a = await startHub({ security: { ...options, apiKeys: [remember('api-key-of-hub-a-0123456789')], cursorSecrets: secrets } });
    const b = await startHub({ security: { ...options, apiKeys: [remember('api-key-of-hub-b-0123456789')], cursorSecrets: secrets } });
    const c = await startHub({ security: { ...options, apiKeys: [remember('api-key-of-hub-c-0123456789')] } });
    try {
      await a.server.hub.publish(CHANNEL, 'x');
      const issued = await httpRequest(`${a.url}/api/messages?channel=${CHANNEL}`, { headers: bearer(token) });
      const since = issued.json.cursor as string;
      await b.server.hub.publish(CHANNEL, 'backlog of b');
      await c.server.hub.publish(CHANNEL, 'backlog of c');
      // b trusts the signature; its log is another one (its own memory engine): an epoch gap, from its end.
      const onB = await httpRequest(`${b.url}/api/messages?${enc({ channel: CHANNEL, since })}`, { headers: bearer(token) });
      expect(onB.json).toMatchObject({ messages: [], gaps: [{ reason: 'epoch', resumed: { offset: 1 } }] });
      // c cannot verify it: a cursor gap, from its end.
      const onC = await httpRequest(`${c.url}/api/messages?${enc({ channel: CHANNEL, since })}`, { headers: bearer(token) });
      expect(onC.json).toMatchObject({ messages: [], gaps: [{ reason: 'cursor', resumed: { offset: 1 } }] });
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});

describe('resume from the positions the hub signed, without loss or duplicates', () => {
  it('WebSocket: every message carries its signed cursor; a new session resumes from the last one', async () => {
    const first = await ws();
    const reply = await first.request({ type: 'subscribe', channel: CHANNEL });
    expect(entryOf(reply.cursor)?.mac).toBeDefined();
    const start = reply.position.offset as number;
    await publish(CHANNEL, 2);
    const live = await first.waitForMessages(2, CHANNEL);
    expect(live.map((m) => m.offset)).toEqual([start + 1, start + 2]);
    for (const m of live) expect(entryOf(m.cursor)).toEqual({ epoch: m.epoch, offset: m.offset, mac: expect.any(String) });
    await first.close();
    const top = await publish(CHANNEL, 3);

    const second = await ws();
    const resumed = await second.request({ type: 'subscribe', channel: CHANNEL, since: live[1].cursor });
    expect(resumed.error).toBeUndefined();
    const missed = await second.waitForMessages(3, CHANNEL);
    expect(missed.map((m) => m.offset)).toEqual([top - 2, top - 1, top]);
    // A cursor from the WebSocket also resumes a poll.
    const polled = await poll(enc({ channel: CHANNEL, since: live[1].cursor }));
    expect(polled.json.messages.map((m: { offset: number }) => m.offset)).toEqual([top - 2, top - 1, top]);
  });

  it('SSE: the ready event and every event id are signed; Last-Event-ID resumes', async () => {
    for (const query of [enc({ channel: CHANNEL }), `${enc({ channel: CHANNEL })}&channel=open:2`]) {
      const first = await sse(query);
      await first.ready();
      expect(entryOf(first.readyEvent!.cursor)?.mac).toBeDefined();
      expect(first.lastEventId).toBe(first.readyEvent!.cursor);
      const top = await publish(CHANNEL, 1);
      const [message] = await first.waitForMessages(1);
      expect(message.offset).toBe(top);
      expect(entryOf(message.cursor)?.mac).toBeDefined();
      const lastId = first.lastEventId;
      expect(entryOf(lastId)).toMatchObject({ offset: top, mac: expect.any(String) });
      await first.close();
      const after = await publish(CHANNEL, 2);

      const second = await sse(query, { 'Last-Event-ID': lastId });
      expect(second.response.statusCode).toBe(200);
      const missed = await second.waitForMessages(2);
      expect(missed.map((m) => m.offset)).toEqual([after - 1, after]);
    }
  });

  it('polling: each answer carries signed cursors; a long poll hands out the next message signed', async () => {
    const first = await poll(enc({ channel: CHANNEL }));
    const top = await publish(CHANNEL, 2);
    const second = await poll(enc({ channel: CHANNEL, since: first.json.cursor }));
    expect(second.json.messages.map((m: { offset: number }) => m.offset)).toEqual([top - 1, top]);
    for (const m of second.json.messages) expect(entryOf(m.cursor)?.offset).toBe(m.offset);
    expect(entryOf(second.json.cursor)).toMatchObject({ offset: top, mac: expect.any(String) });

    const held = poll(enc({ channel: CHANNEL, since: second.json.cursor, wait: '5' }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await publish(CHANNEL, 1);
    const third = await held;
    expect(third.json.messages.map((m: { offset: number }) => m.offset)).toEqual([top + 1]);
    const fourth = await poll(enc({ channel: CHANNEL, since: third.json.cursor }));
    expect(fourth.status).toBe(200);
    expect(fourth.json.messages).toEqual([]);
  });

  it('a client with history still resumes from any position, and gets unsigned envelopes', async () => {
    const channel = 'open:3';
    const top = await publish(channel, 3);
    const { epoch: openEpoch } = await hub.server.hub.position(channel);
    const client = await ws();
    expect((await client.request({ type: 'subscribe', channel, since: { epoch: openEpoch, offset: 0 } })).error).toBeUndefined();
    const replay = await client.waitForMessages(3, channel);
    expect(replay.map((m) => m.offset)).toEqual([top - 2, top - 1, top]);
    expect(replay.every((m) => m.cursor === undefined)).toBe(true);
    const polled = await poll(enc({ channel }));
    expect(polled.json.messages).toHaveLength(3);
    expect(entryOf(polled.json.cursor, channel)?.mac).toBeUndefined();
  });
});

describe('join and leave need the presence permission (item 1)', () => {
  it('refuses joinLeave with 2001 on the WebSocket and SSE without presence, and leaks no member', async () => {
    const victim = await ws(await tokenFor('victim@corp.example'));
    const client = await ws();
    const reply = await client.request({ type: 'subscribe', channel: CHANNEL, joinLeave: true });
    expect(reply.error.code).toBe(ErrorCode.Forbidden);
    // Without joinLeave the same subscription is allowed.
    expect((await client.request({ type: 'subscribe', channel: CHANNEL })).error).toBeUndefined();
    expect((await victim.request({ type: 'subscribe', channel: CHANNEL })).error).toBeUndefined();
    await victim.close();
    await client.request({ type: 'ping' });
    expect(client.frames.items.filter((f) => f.type === 'join' || f.type === 'leave')).toEqual([]);

    const stream = await sse(enc({ channel: CHANNEL, joinLeave: '1' }));
    expect(stream.response.statusCode).toBe(403);
    const mixed = await sse(`${enc({ channel: CHANNEL, joinLeave: '1' })}&channel=open:4`);
    await mixed.events.until((events) => events.some((e) => e.event === 'unsubscribed'), 'unsubscribed');
    expect(JSON.parse(mixed.events.items.find((e) => e.event === 'unsubscribed')!.data)).toMatchObject({
      channel: CHANNEL,
      error: { code: ErrorCode.Forbidden },
    });
  });

  it('sends joins and leaves to a token granted presence, and ends them when a refresh takes the grant away', async () => {
    const granted = await tokenFor('watcher', { herald: { presence: ['lobby:*'] } });
    const client = await ws(granted);
    expect((await client.request({ type: 'subscribe', channel: 'lobby:1', joinLeave: true })).error).toBeUndefined();
    const other = await ws(await tokenFor('alice'));
    await other.request({ type: 'subscribe', channel: 'lobby:1' });
    await client.frames.until((frames) => frames.some((f) => f.type === 'join' && f.member.user === 'alice'), 'join of alice');

    expect((await client.request({ type: 'refresh', token: await tokenFor('watcher') })).error).toBeUndefined();
    await client.frames.until((frames) => frames.some((f) => f.type === 'unsubscribed'), 'unsubscribed');
    expect(client.frames.items.find((f) => f.type === 'unsubscribed')).toMatchObject({
      channel: 'lobby:1',
      error: { code: ErrorCode.Forbidden },
    });
    const joins = client.frames.items.filter((f) => f.type === 'join').length;
    await other.close();
    await (await ws(await tokenFor('bob'))).request({ type: 'subscribe', channel: 'lobby:1' });
    await client.request({ type: 'ping' });
    expect(client.frames.items.filter((f) => f.type === 'join' || f.type === 'leave')).toHaveLength(joins);
  });
});
