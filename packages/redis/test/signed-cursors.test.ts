import { randomBytes } from 'node:crypto';
import { ErrorCode, parseCursor } from '@herald/protocol';
import { RedisBroker, RedisPresenceStore } from '@herald/redis';
import { JwtAuthenticator, Permissions } from '@herald/server';
import { SseTestClient, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

/**
 * Issue 9, item 2, across nodes: a client that may subscribe but not read history resumes on any
 * node of a deployment from the signed positions another node handed it (the nodes share the API
 * key, from which the cursor key is derived), and cannot start from a position it made up.
 */

const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;
const SECRET = randomBytes(32).toString('base64url');
const API_KEY = 'signed-cursors-api-key-0123456789abc';
const CHANNEL = 'room:9';
const hubs: TestHub[] = [];
const opened: { close(): Promise<unknown> }[] = [];

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
  for (const hub of hubs.splice(0)) await hub.close();
});
afterAll(() => deleteKeys(REDIS_URL, [prefix]));

async function node(): Promise<TestHub> {
  const hub = await startTestHub({
    broker: await RedisBroker.connect({ url: REDIS_URL, prefix }),
    presence: await RedisPresenceStore.connect({ url: REDIS_URL, prefix }),
    security: {
      authenticator: new JwtAuthenticator({ secret: SECRET }),
      permissions: new Permissions({ room: { subscribe: 'authenticated', publish: 'none', history: 'none', presence: 'none' } }),
      apiKeys: [API_KEY],
    },
  });
  hubs.push(hub);
  return hub;
}

const auth = async (): Promise<Record<string, string>> => ({
  authorization: `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('dave').setExpirationTime('1h').sign(Buffer.from(SECRET))}`,
});

describe('signed cursors on Redis', () => {
  it('a cursor from node A resumes on node B over WebSocket, SSE and polling; a made-up one is refused there', async () => {
    const [a, b] = [await node(), await node()];
    const headers = await auth();
    for (let i = 0; i < 3; i++) await a.server.hub.publish(CHANNEL, { backlog: i });

    const onA = await WsTestClient.connect(a.wsUrl, { headers });
    opened.push(onA);
    const reply = await onA.request({ type: 'subscribe', channel: CHANNEL });
    expect(reply.error).toBeUndefined();
    await a.server.hub.publish(CHANNEL, { live: 1 });
    const [first] = await onA.waitForMessages(1, CHANNEL);
    await onA.close();
    const missed = [(await b.server.hub.publish(CHANNEL, { live: 2 })).offset, (await b.server.hub.publish(CHANNEL, { live: 3 })).offset];

    const onB = await WsTestClient.connect(b.wsUrl, { headers });
    opened.push(onB);
    expect((await onB.request({ type: 'subscribe', channel: CHANNEL, since: first.cursor })).error).toBeUndefined();
    expect((await onB.waitForMessages(2, CHANNEL)).map((m) => m.offset)).toEqual(missed);

    const polled = await fetch(`${b.url}/api/messages?channel=${CHANNEL}&since=${first.cursor}`, { headers });
    expect(((await polled.json()) as { messages: { offset: number }[] }).messages.map((m) => m.offset)).toEqual(missed);
    const stream = await SseTestClient.connect(`${b.url}/events?channel=${CHANNEL}`, { ...headers, 'Last-Event-ID': first.cursor });
    opened.push(stream);
    expect((await stream.waitForMessages(2)).map((m) => m.offset)).toEqual(missed);

    // The same position without its signature, or with another one, is refused on every node.
    const { epoch } = first;
    const signed = parseCursor(first.cursor);
    if (!signed.ok) throw new Error('the hub handed out a malformed cursor');
    const mac = signed.value.get(CHANNEL)!.mac!;
    const other = `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    const fresh = await WsTestClient.connect(b.wsUrl, { headers });
    opened.push(fresh);
    for (const since of [
      { epoch, offset: 0 },
      { epoch, offset: first.offset },
    ]) {
      expect((await fresh.request({ type: 'subscribe', channel: CHANNEL, since })).error.code).toBe(ErrorCode.Forbidden);
    }
    // Another signature: not trusted, the subscription starts at the end after a cursor gap.
    const top = (await b.server.hub.position(CHANNEL)).offset;
    const moved = await fresh.request({
      type: 'subscribe',
      channel: CHANNEL,
      since: `c1.${Buffer.from(`${CHANNEL}|${epoch}|${first.offset}|${other}`).toString('base64url')}`,
    });
    expect(moved).toMatchObject({ position: { offset: top } });
    await fresh.frames.until((frames) => frames.some((f) => f.type === 'gap'), 'gap');
    expect(fresh.frames.items.find((f) => f.type === 'gap')).toMatchObject({ reason: 'cursor', resumed: { offset: top } });
    await fresh.request({ type: 'ping' });
    expect(fresh.messages()).toEqual([]);
    const forged = await fetch(
      `${a.url}/api/messages?channel=${CHANNEL}&since=c1.${Buffer.from(`${CHANNEL}|${epoch}|0`).toString('base64url')}`,
      { headers },
    );
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: number } }).error.code).toBe(ErrorCode.Forbidden);
  });
});
