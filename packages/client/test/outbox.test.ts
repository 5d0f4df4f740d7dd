import {
  createClient,
  HeraldClientError,
  type HeraldClient,
  type OutboxEvent,
  type PublishResult,
  type TransportName,
} from '@herald/client/node';
import { memoryOutboxStore, outbox, type OutboxItem, type OutboxOptions, type OutboxStore } from '@herald/client/outbox';
import { ErrorCode } from '@herald/protocol';
import { JwtAuthenticator, Permissions } from '@herald/server';
import { eventually, startTcpProxy, startTestHub, type TcpProxy, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

/**
 * The offline outbox (issue 17, part 7) on real sockets: a TCP proxy between the client and a real
 * hub cuts the network, or lets a publish reach the hub and drops its answer; every publish is then
 * stored exactly once, in order, and its promise resolves with the position the hub gave it.
 */

const OPEN = { subscribe: 'anonymous', publish: 'anonymous', history: 'anonymous', presence: 'anonymous' } as const;
let hub: TestHub;
let proxy: TcpProxy;
const clients: HeraldClient[] = [];
let n = 0;

/** Publish frames (WebSocket) each client sent, by idempotency key. */
const sentKeys: string[] = [];
class RecordingWebSocket extends WebSocket {
  override send(data: string): void {
    const frame = JSON.parse(data) as { type: string; idempotencyKey?: string };
    if (frame.type === 'publish') sentKeys.push(frame.idempotencyKey ?? '');
    super.send(data);
  }
}

beforeAll(async () => {
  hub = await startTestHub({
    security: {
      permissions: new Permissions({ locked: { ...OPEN, publish: 'none' } }, OPEN),
    },
  });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await proxy?.close();
});
afterAll(async () => {
  await hub.close();
});

function client(transport: TransportName, options: OutboxOptions | false = {}): HeraldClient {
  const c = createClient({
    url: proxy.url,
    transports: [transport],
    WebSocket: RecordingWebSocket,
    ...(options !== false && { outbox: outbox(options) }),
    pollWait: 1,
    timeout: 2000,
    reconnect: { minDelay: 20, maxDelay: 100 },
  });
  clients.push(c);
  return c;
}

/** What the hub stored on `channel`, read from the hub itself (not through the proxy). */
async function stored(channel: string): Promise<unknown[]> {
  const res = await fetch(`${hub.url}/api/history?channel=${channel}&limit=1000`);
  const body = (await res.json()) as { messages: { data: unknown }[] };
  return body.messages.map((m) => m.data);
}

describe.each<TransportName>(['websocket', 'sse', 'polling'])('the outbox over %s', (transport) => {
  it('keeps publishes made while the hub is unreachable and sends each once, in order, when it is back', async () => {
    proxy = await startTcpProxy(hub.port);
    const channel = `outbox:${transport}-${n++}`;
    proxy.cut();
    const c = client(transport);
    const settled: PublishResult[] = [];
    const publishes = [0, 1, 2, 3, 4].map((i) => c.publish(channel, { i }).then((r) => settled.push(r)));
    // Tried and cut (an SSE client without channels counts as connected: its publishes fail and retry).
    await eventually(() => proxy.accepted > 0, 'the client to try to reach the hub');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toEqual([]);
    expect(await stored(channel)).toEqual([]);
    proxy.restore();
    await Promise.all(publishes);
    expect(settled.map((r) => r.offset)).toEqual([1, 2, 3, 4, 5]);
    expect(await stored(channel)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
  });

  it('stores a publish once when the connection drops after it reached the hub, before the answer', async () => {
    proxy = await startTcpProxy(hub.port);
    const channel = `outbox:drop-${transport}-${n++}`;
    const c = client(transport);
    const events: OutboxEvent[] = [];
    c.on('outbox', (e) => events.push(e));
    expect((await c.publish(channel, 'before')).offset).toBe(1);
    proxy.holdReplies();
    const first = c.publish(channel, 'sent, unanswered');
    // The hub stored it; the client never hears so.
    await eventually(async () => (await stored(channel)).length === 2, 'the hub to store the publish');
    const second = c.publish(channel, 'queued behind it');
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 100));
    proxy.restore();
    const result = await first;
    expect(result).toMatchObject({ channel, offset: 2 });
    expect(result.duplicate).toBe(true);
    expect((await second).offset).toBe(3);
    expect(await stored(channel)).toEqual(['before', 'sent, unanswered', 'queued behind it']);
    expect(events.map((e) => e.type)).toEqual(['sent', 'sent', 'sent']);
    expect(events[1]).toMatchObject({ type: 'sent', channel, data: 'sent, unanswered', result: { offset: 2 } });
  });
});

describe('the outbox', () => {
  it('sends the same idempotency key on every attempt of a publish, and the hub answers the repeat as a duplicate', async () => {
    proxy = await startTcpProxy(hub.port);
    const channel = `outbox:key-${n++}`;
    const c = client('websocket');
    await c.publish(channel, 'warm-up');
    sentKeys.length = 0;
    proxy.holdReplies();
    const pending = c.publish(channel, 'x');
    await eventually(async () => (await stored(channel)).length === 2, 'the hub to store the publish');
    proxy.cut();
    proxy.restore();
    expect(await pending).toMatchObject({ offset: 2, duplicate: true });
    expect(sentKeys).toHaveLength(2);
    expect(sentKeys[0]).toBe(sentKeys[1]);
    expect(sentKeys[0]).toMatch(/^[0-9a-f-]{32,36}$/);
  });

  it('keeps the key the application gave', async () => {
    proxy = await startTcpProxy(hub.port);
    const channel = `outbox:own-key-${n++}`;
    const c = client('websocket');
    expect(await c.publish(channel, 1, { idempotencyKey: 'order-7' })).toMatchObject({ offset: 1 });
    expect(await c.publish(channel, 1, { idempotencyKey: 'order-7' })).toMatchObject({ offset: 1, duplicate: true });
    expect(await stored(channel)).toEqual([1]);
  });

  it('is bounded: past maxItems or maxBytes a new publish rejects with outbox-full; the queued ones are sent', async () => {
    proxy = await startTcpProxy(hub.port);
    const channel = `outbox:full-${n++}`;
    proxy.cut();
    const c = client('websocket', { maxItems: 2, maxBytes: 20 });
    const a = c.publish(channel, 'a');
    const b = c.publish(channel, 'b');
    await expect(c.publish(channel, 'c')).rejects.toMatchObject({ name: 'HeraldClientError', code: 'outbox-full' });
    proxy.restore();
    expect((await a).offset).toBe(1);
    expect((await b).offset).toBe(2);
    proxy.cut();
    await eventually(() => c.state === 'reconnecting', 'the client to be offline');
    const d = c.publish(channel, 'd'.repeat(10));
    // 12 bytes queued; 12 more would pass maxBytes (20).
    await expect(c.publish(channel, 'e'.repeat(10))).rejects.toMatchObject({ code: 'outbox-full' });
    proxy.restore();
    expect((await d).offset).toBe(3);
    expect(await stored(channel)).toEqual(['a', 'b', 'd'.repeat(10)]);
  });

  it('rejects a refused publish at once, never sends it again, and goes on with the next', async () => {
    proxy = await startTcpProxy(hub.port);
    const c = client('websocket');
    const events: OutboxEvent[] = [];
    c.on('outbox', (e) => events.push(e));
    proxy.cut();
    sentKeys.length = 0;
    const refused = c.publish('locked:1', 'no');
    const next = c.publish(`outbox:after-refusal-${n}`, 'yes');
    proxy.restore();
    const error = (await refused.catch((e: unknown) => e)) as HeraldClientError;
    expect(error).toBeInstanceOf(HeraldClientError);
    expect(error.code).toBe(ErrorCode.Forbidden);
    expect((await next).offset).toBe(1);
    // Another connection later does not send it again.
    proxy.cut();
    proxy.restore();
    await eventually(() => c.state === 'connected', 'the client to reconnect');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sentKeys).toHaveLength(2);
    expect(events.map((e) => e.type)).toEqual(['failed', 'sent']);
  });

  it('gives up an item never sent after maxAge (outbox-expired), and rejects publishes after close()', async () => {
    proxy = await startTcpProxy(hub.port);
    const channel = `outbox:expired-${n++}`;
    proxy.cut();
    const c = client('websocket', { maxAge: 150 });
    await expect(c.publish(channel, 'late')).rejects.toMatchObject({ code: 'outbox-expired' });
    const pending = c.publish(channel, 'closed');
    c.close();
    await expect(pending).rejects.toMatchObject({ code: 'closed' });
    await expect(c.publish(channel, 'after')).rejects.toMatchObject({ code: 'closed' });
    proxy.restore();
    expect(await stored(channel)).toEqual([]);
  });

  it('gives up a publish sent but unanswered past the idempotency window (outbox-unconfirmed) rather than risk a second copy', async () => {
    proxy = await startTcpProxy(hub.port);
    const channel = `outbox:unconfirmed-${n++}`;
    const c = client('websocket', { idempotencyTtl: 300 });
    await c.publish(channel, 'warm-up');
    proxy.holdReplies();
    // Settled by the expiry timer, maybe before the connection is back: caught at once.
    const pending = c.publish(channel, 'maybe');
    pending.catch(() => undefined);
    await eventually(async () => (await stored(channel)).length === 2, 'the hub to store the publish');
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 400));
    proxy.restore();
    await expect(pending).rejects.toMatchObject({ code: 'outbox-unconfirmed' });
    expect(await stored(channel)).toEqual(['warm-up', 'maybe']);
  });

  it("never sends a queued publish with another user's credentials: a user change drops it (outbox-user-changed)", async () => {
    const secret = 'outbox-test-secret-0123456789abcdef0123';
    const authHub = await startTestHub({
      security: {
        authenticator: new JwtAuthenticator({ secret }),
        permissions: new Permissions({}, { ...OPEN, publish: 'authenticated' }),
      },
    });
    try {
      const sign = (sub: string): Promise<string> =>
        new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
      proxy = await startTcpProxy(authHub.port);
      let token = await sign('alice');
      const c = createClient({
        url: proxy.url,
        transports: ['websocket'],
        getToken: () => Promise.resolve(token),
        outbox: outbox(),
        reconnect: { minDelay: 20, maxDelay: 100 },
      });
      clients.push(c);
      const channel = `outbox:users-${n++}`;
      expect((await c.publish(channel, 'alice-1')).offset).toBe(1);
      proxy.cut();
      await eventually(() => c.state === 'reconnecting', 'the client to be offline');
      const queued = c.publish(channel, 'alice-2');
      token = await sign('bob');
      proxy.restore();
      await expect(queued).rejects.toMatchObject({ code: 'outbox-user-changed' });
      expect((await c.publish(channel, 'bob-1')).offset).toBe(2);
      const res = await fetch(`${authHub.url}/api/history?channel=${channel}&limit=10`, { headers: { authorization: `Bearer ${token}` } });
      expect(((await res.json()) as { messages: { data: unknown }[] }).messages.map((m) => m.data)).toEqual(['alice-1', 'bob-1']);
    } finally {
      await authHub.close();
    }
  });

  it('sends what an earlier client left in a persistent store (connecting by itself), and drops damaged entries', async () => {
    proxy = await startTcpProxy(hub.port);
    const channel = `outbox:adopted-${n++}`;
    const kept = new Map<string, unknown>();
    const store: OutboxStore = {
      persistent: true,
      load: () => Promise.resolve([...kept.values()] as OutboxItem[]),
      put: (item) => Promise.resolve(void kept.set(item.id, { ...item })),
      delete: (id) => Promise.resolve(void kept.delete(id)),
    };
    const item = (id: string, at: number, data: unknown): OutboxItem => ({
      id,
      hub: proxy.url,
      user: 'anonymous',
      key: `key-${id}`,
      channel,
      json: JSON.stringify(data),
      at,
      seq: 0,
    });
    // An earlier page: two items (the first sent once, unanswered), and junk.
    kept.set('a', { ...item('a', Date.now() - 2000, 'earlier-1'), sentAt: Date.now() - 1000 });
    kept.set('b', item('b', Date.now() - 1000, 'earlier-2'));
    kept.set('junk', { id: 'junk', hub: proxy.url, user: 'anonymous', channel, json: '{not json', at: 0, seq: 0, key: 'k' });
    kept.set('other-user', { ...item('other-user', 0, 'not mine'), user: 'sub:someone' });
    const c = createClient({
      url: proxy.url,
      transports: ['websocket'],
      outbox: outbox({ store }),
      reconnect: { minDelay: 20, maxDelay: 100 },
    });
    clients.push(c);
    const events: OutboxEvent[] = [];
    c.on('outbox', (e) => events.push(e));
    await eventually(() => events.length === 2, 'the earlier items to be sent');
    expect(events.map((e) => [e.type, e.key, e.type === 'sent' && e.result.offset])).toEqual([
      ['sent', 'key-a', 1],
      ['sent', 'key-b', 2],
    ]);
    expect(await stored(channel)).toEqual(['earlier-1', 'earlier-2']);
    expect([...kept.keys()]).toEqual(['other-user']);
    await expect(c.publish(channel, 10n)).rejects.toMatchObject({ code: ErrorCode.InvalidField });
  });

  it('a client already running sends, at its next connection, what another client of the same store left', async () => {
    proxy = await startTcpProxy(hub.port);
    const channel = `outbox:shared-${n++}`;
    const store = memoryOutboxStore();
    const persistent: OutboxStore = { ...store, persistent: true };
    const make = (): HeraldClient => {
      const c = createClient({
        url: proxy.url,
        transports: ['websocket'],
        outbox: outbox({ store: persistent }),
        reconnect: { minDelay: 20, maxDelay: 100 },
      });
      clients.push(c);
      return c;
    };
    const running = make();
    const events: OutboxEvent[] = [];
    running.on('outbox', (e) => events.push(e));
    expect((await running.publish(channel, 'running')).offset).toBe(1);
    proxy.cut();
    const leaving = make();
    const left = leaving.publish(channel, 'left behind');
    await eventually(async () => (await store.load(proxy.url)).length === 1, 'the item to be kept');
    leaving.close();
    await expect(left).rejects.toMatchObject({ code: 'closed' });
    proxy.restore();
    await eventually(() => events.length === 2, 'the running client to send it');
    expect(events[1]).toMatchObject({ type: 'sent', data: 'left behind', result: { offset: 2 } });
    expect(await stored(channel)).toEqual(['running', 'left behind']);
  });

  it("paces a backlog larger than the hub's rate limit: 3002 pauses the outbox, nothing is lost or stored twice", async () => {
    const slow = await startTestHub({ commandsPerSecond: 20, commandBurst: 10 });
    try {
      proxy = await startTcpProxy(slow.port);
      const channel = `outbox:paced-${n++}`;
      proxy.cut();
      const c = createClient({ url: proxy.url, transports: ['websocket'], outbox: outbox(), reconnect: { minDelay: 20, maxDelay: 100 } });
      clients.push(c);
      const publishes = Array.from({ length: 40 }, (_, i) => c.publish(channel, i));
      await eventually(() => proxy.accepted > 0, 'the client to try to reach the hub');
      proxy.restore();
      expect((await Promise.all(publishes)).map((r) => r.offset)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      const res = await fetch(`${slow.url}/api/history?channel=${channel}&limit=100`);
      expect(((await res.json()) as { messages: { data: unknown }[] }).messages.map((m) => m.data)).toEqual(
        Array.from({ length: 40 }, (_, i) => i),
      );
      expect(c.state).toBe('connected');
    } finally {
      await slow.close();
    }
  }, 30_000);

  it('refuses a bad channel or key before queueing', async () => {
    proxy = await startTcpProxy(hub.port);
    const c = client('websocket');
    await expect(c.publish('bad name', 1)).rejects.toMatchObject({ code: ErrorCode.InvalidChannel });
    await expect(c.publish('ok', 1, { idempotencyKey: 'has space' })).rejects.toMatchObject({ code: ErrorCode.InvalidField });
    expect(() => outbox({ maxItems: 0 })).toThrow(RangeError);
    expect(() => outbox({ maxAge: Number.NaN })).toThrow(RangeError);
  });

  it('without the option, a publish still fails when the connection drops before the answer (as before)', async () => {
    proxy = await startTcpProxy(hub.port);
    const c = client('websocket', false);
    await c.publish(`outbox:off-${n}`, 1);
    proxy.holdReplies();
    const pending = c.publish(`outbox:off-${n++}`, 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    proxy.cut();
    await expect(pending).rejects.toMatchObject({ code: 'closed' });
  });
});
