import { randomBytes } from 'node:crypto';
import { CloseCode, ErrorCode } from '@herald/protocol';
import { ALLOW_ALL, JwtAuthenticator, Permissions, type HeraldServerOptions } from '@herald/server';
import { WsTestClient, type TestHub } from '@herald/testkit';
import { exportSPKI, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createBackendClient,
  HeraldApiError,
  HeraldNetworkError,
  HeraldTimeoutError,
  isBatchEntryError,
  PublishManyError,
  type BackendClient,
  type BackendClientOptions,
  type RetryInfo,
} from '../src/index.js';
import { FaultProxy } from './fault-proxy.js';

/** Starts a hub with the given options on the engine under test. */
export type HubStarter = (options: HeraldServerOptions) => Promise<TestHub>;

export const API_KEY = 'backend-client-api-key-0123456789';
export const SECRET = 'a-shared-secret-of-at-least-32-characters';
const granted = { subscribe: 'granted', publish: 'granted', history: 'granted', presence: 'granted' } as const;
const permissions = new Permissions({ chat: granted, locked: { ...ALLOW_ALL, publish: 'none' } }, ALLOW_ALL);

/** A hub with JWT auth (HS256 with {@link SECRET}), the API key, `chat:` for granted users, `locked:` closed to publishers. */
export function secured(start: HubStarter, extra: HeraldServerOptions = {}): Promise<TestHub> {
  return start({ security: { authenticator: new JwtAuthenticator({ secret: SECRET }), permissions, apiKeys: [API_KEY] }, ...extra });
}

/**
 * What `@herald/backend` promises, against a real hub on the engine under test: every method, typed
 * errors, retries that never store a publish twice, connection reuse.
 */
export function runBackendContract(name: string, start: HubStarter): void {
  describe(`@herald/backend: ${name}`, () => {
    const closers: (() => Promise<unknown>)[] = [];
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close();
    });
    const hub = async (extra?: HeraldServerOptions): Promise<TestHub> => {
      const h = await secured(start, extra);
      closers.push(() => h.close());
      return h;
    };
    const proxy = async (h: TestHub): Promise<FaultProxy> => {
      const p = await FaultProxy.start(h.port);
      closers.push(() => p.close());
      return p;
    };
    const client = (url: string, options: Partial<BackendClientOptions> = {}): BackendClient =>
      createBackendClient({ url, apiKey: API_KEY, retryDelay: 1, token: { key: { secret: SECRET } }, ...options });
    const run = randomBytes(4).toString('hex');
    let counter = 0;
    const channel = (namespace = 'b'): string => `${namespace}:${run}-${(counter++).toString(36)}`;
    const stored = async (backend: BackendClient, ch: string): Promise<unknown[]> =>
      (await backend.history(ch)).messages.map((m) => m.data);

    it('publish resolves with the position; a given key makes a repeat a duplicate', async () => {
      const h = await hub();
      const backend = client(h.url);
      const ch = channel();
      const first = await backend.publish(ch, { n: 1 });
      expect(first).toEqual({ channel: ch, epoch: expect.any(String), offset: 1 });
      // Without a key every call is a new message (each gets its own random key).
      expect(await backend.publish(ch, { n: 1 })).toEqual({ ...first, offset: 2 });
      const keyed = await backend.publish(ch, 'k', { idempotencyKey: 'order-7' });
      expect(await backend.publish(ch, 'k', { idempotencyKey: 'order-7' })).toEqual({ ...keyed, duplicate: true });
      expect(await stored(backend, ch)).toEqual([{ n: 1 }, { n: 1 }, 'k']);
    });

    it('publishMany splits into batches of batchSize, keeps order and indexes errors into the whole array', async () => {
      const h = await hub();
      const backend = client(h.url, { batchSize: 4 });
      const [a, b] = [channel(), channel()];
      const messages = Array.from({ length: 10 }, (_, i) => ({ channel: i === 6 ? 'bad channel' : [a, b][i % 2]!, data: i }));
      const results = await backend.publishMany(messages);
      expect(results).toHaveLength(10);
      expect(results[6]).toEqual({ index: 6, error: { code: ErrorCode.InvalidChannel, message: expect.any(String) } });
      expect(results.filter((r) => !isBatchEntryError(r)).map((r) => 'offset' in r && [r.channel, r.offset])).toEqual([
        [a, 1],
        [b, 1],
        [a, 2],
        [b, 2],
        [a, 3],
        [b, 3],
        [b, 4],
        [a, 4],
        [b, 5],
      ]);
      expect(await stored(backend, a)).toEqual([0, 2, 4, 8]);
      expect(await backend.publishMany([])).toEqual([]);
      // batchSize above the hub's maxBatchMessages: the hub refuses the batch as a whole.
      const tooBig = client(h.url, { batchSize: 101 });
      const error = await tooBig.publishMany(Array.from({ length: 101 }, () => ({ channel: a, data: 0 }))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishManyError);
      expect(error).toMatchObject({ code: ErrorCode.LimitExceeded, results: Array.from({ length: 101 }) });
      expect((error as PublishManyError).pending).toHaveLength(101);
      expect((error as PublishManyError).cause).toBeInstanceOf(HeraldApiError);
      expect((error as PublishManyError).cause).toMatchObject({ status: 400, message: 'at most 100 messages in one batch' });
    });

    it('history returns one page; historyPages follows the cursor to the end', async () => {
      const h = await hub();
      const backend = client(h.url);
      const ch = channel();
      await backend.publishMany(Array.from({ length: 7 }, (_, i) => ({ channel: ch, data: i })));
      const page = await backend.history<number>(ch, { limit: 3 });
      expect(page).toEqual({ messages: expect.any(Array), cursor: expect.any(String), more: true });
      expect(page.messages.map((m) => [m.offset, m.data])).toEqual([
        [1, 0],
        [2, 1],
        [3, 2],
      ]);
      const pages = [];
      for await (const p of backend.historyPages<number>(ch, { limit: 3 })) pages.push(p.messages.map((m) => m.data));
      expect(pages).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
      const rest = [];
      for await (const p of backend.historyPages<number>(ch, { since: page.cursor })) rest.push(...p.messages.map((m) => m.data));
      expect(rest).toEqual([3, 4, 5, 6]);
      const last = await backend.history(ch, { since: page.cursor, limit: 1000 });
      expect(last.more).toBe(false);
      expect(await backend.history(ch, { since: last.cursor })).toEqual({ messages: [], cursor: last.cursor, more: false });
    });

    it('createToken signs a token the hub accepts; createTicket exchanges it; presence and disconnect see the session', async () => {
      const h = await hub();
      const backend = client(h.url);
      const ch = channel('chat');
      const ticket = await backend.createTicket({ sub: 'alice', grants: { channels: ['chat:*'] }, ttl: 60 });
      expect(ticket).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresIn: 30 });
      const ws = await WsTestClient.connect(`${h.wsUrl}?ticket=${ticket.ticket}`);
      closers.push(() => ws.close());
      expect((await ws.request({ type: 'subscribe', channel: ch })).error).toBeUndefined();
      // The token's grants are what the hub applies: not granted outside chat:.
      const token = await backend.createToken({ sub: 'bob', grants: { subscribe: ['chat:1'] }, ttl: 60 });
      const asBob = await fetch(`${h.url}/api/history?channel=${ch}`, { headers: { authorization: `Bearer ${token}` } });
      expect([asBob.status, ((await asBob.json()) as { error: { code: number } }).error.code]).toEqual([403, ErrorCode.Forbidden]);
      expect(await backend.createTicket({ token })).toEqual({ ticket: expect.any(String), expiresIn: 30 });
      const presence = await backend.presence(ch);
      expect(presence).toEqual({ channel: ch, members: [{ client: expect.any(String), user: 'alice' }] });
      expect(await backend.disconnect({ user: 'alice' })).toMatchObject({ disconnected: 1 });
      expect((await ws.closed).code).toBe(CloseCode.Disconnected);
      await expect(backend.disconnect({})).rejects.toThrow(new TypeError('disconnect needs a user or a client'));
    });

    it('acks: the positions users acknowledged, all or one user, refused without the API key', async () => {
      const h = await hub();
      const backend = client(h.url);
      const ch = channel('chat');
      const [first] = await backend.publishMany([1, 2, 3].map((data) => ({ channel: ch, data })));
      const epoch = (first as { epoch: string }).epoch;
      const ws = await WsTestClient.connect(h.wsUrl, {
        headers: { authorization: `Bearer ${await backend.createToken({ sub: 'dora', grants: { channels: ['chat:*'] } })}` },
      });
      closers.push(() => ws.close());
      expect(await ws.request({ type: 'ack', channel: ch, epoch, offset: 3 })).toMatchObject({ offset: 3 });
      expect(await backend.acks(ch)).toEqual({ channel: ch, acks: [{ user: 'dora', epoch, offset: 3, time: expect.any(Number) }] });
      expect(await backend.acks(ch, { user: 'nobody' })).toEqual({ channel: ch, acks: [] });
      await expect(createBackendClient({ url: h.url, retryDelay: 1 }).acks(ch)).rejects.toMatchObject({
        code: ErrorCode.Unauthorized,
        status: 401,
      });
      await expect(backend.acks(ch, { limit: 0 })).rejects.toMatchObject({ code: ErrorCode.InvalidField, status: 400 });
    });

    it('createToken signs with an ES256 private key for a hub holding the public key', async () => {
      const { publicKey, privateKey } = await generateKeyPair('ES256');
      const h = await start({
        security: { authenticator: new JwtAuthenticator({ publicKey: await exportSPKI(publicKey) }), permissions, apiKeys: [API_KEY] },
      });
      closers.push(() => h.close());
      const backend = client(h.url, { token: { key: { privateKey, alg: 'ES256' } } });
      const token = await backend.createToken({ sub: 'carol', grants: { history: ['chat:*'] } });
      const read = await fetch(`${h.url}/api/history?channel=${channel('chat')}`, { headers: { authorization: `Bearer ${token}` } });
      expect(read.status).toBe(200);
      const noKey = createBackendClient({ url: h.url });
      await expect(noKey.createToken({ sub: 'x' })).rejects.toThrow(
        new TypeError('createToken needs the token option (the key the hub verifies tokens with)'),
      );
    });

    it('throws HeraldApiError with the hub code and status, without retrying a 4xx', async () => {
      const h = await hub();
      const retries: RetryInfo[] = [];
      const anonymous = createBackendClient({ url: h.url, retryDelay: 1, onRetry: (info) => retries.push(info) });
      const forbidden = await anonymous.publish(channel('locked'), 1).catch((e: unknown) => e);
      expect(forbidden).toBeInstanceOf(HeraldApiError);
      expect(forbidden).toMatchObject({ name: 'HeraldApiError', code: ErrorCode.Forbidden, status: 403 });
      await expect(anonymous.publish('bad channel', 1)).rejects.toMatchObject({ code: ErrorCode.InvalidChannel, status: 400 });
      const wrongKey = createBackendClient({ url: h.url, apiKey: 'not-the-key-0123456789' });
      await expect(wrongKey.presence(channel())).rejects.toMatchObject({ code: ErrorCode.Unauthorized, status: 401 });
      await expect(anonymous.disconnect({ user: 'x' })).rejects.toMatchObject({ code: ErrorCode.Unauthorized, status: 401 });
      expect(retries).toEqual([]);
    });

    it('a publish whose answer is lost is retried with the same key and stored once', async () => {
      const h = await hub();
      const p = await proxy(h);
      const retries: RetryInfo[] = [];
      const backend = client(p.url, { onRetry: (info) => retries.push(info) });
      const ch = channel();
      p.dropNextResponse();
      const result = await backend.publish(ch, { id: 42 });
      expect(p.faulted).toBe(1);
      expect(retries.map((r) => [r.attempt, r.error.name])).toEqual([[1, 'HeraldNetworkError']]);
      // The first attempt was stored; the retry found its key.
      expect(result).toEqual({ channel: ch, epoch: expect.any(String), offset: 1, duplicate: true });
      expect(await stored(backend, ch)).toEqual([{ id: 42 }]);

      p.dropNextResponse();
      const batch = await backend.publishMany([
        { channel: ch, data: 'x' },
        { channel: ch, data: 'y' },
      ]);
      expect(batch.map((r) => 'offset' in r && [r.offset, r.duplicate])).toEqual([
        [2, true],
        [3, true],
      ]);
      expect(await stored(backend, ch)).toEqual([{ id: 42 }, 'x', 'y']);
    });

    it('retries a 503 after its Retry-After, and gives up at once when Retry-After passes maxRetryDelay', async () => {
      const h = await hub();
      const p = await proxy(h);
      const unavailable = (retryAfter: string): string => {
        const body = JSON.stringify({ error: { code: ErrorCode.Unavailable, message: 'the engine is unreachable' } });
        return `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: ${retryAfter}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
      };
      const retries: RetryInfo[] = [];
      const ch = channel();
      p.answerNextRequest(unavailable('1'));
      const result = await client(p.url, { onRetry: (info) => retries.push(info) }).publish(ch, 1);
      expect(result).toMatchObject({ channel: ch, offset: 1 });
      expect(retries).toHaveLength(1);
      expect(retries[0]!.delay).toBeGreaterThanOrEqual(1000);
      expect(retries[0]!.error).toMatchObject({ code: ErrorCode.Unavailable, status: 503, retryAfter: 1 });

      p.answerNextRequest(unavailable('30'));
      const error = await client(p.url, { maxRetryDelay: 5000 })
        .publish(ch, 2)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'HeraldApiError', code: ErrorCode.Unavailable, status: 503, retryAfter: 30 });
      expect(await stored(client(h.url), ch)).toEqual([1]);
    });

    it('stops after retries and throws HeraldNetworkError or HeraldTimeoutError', async () => {
      const h = await hub();
      const p = await proxy(h);
      const retries: RetryInfo[] = [];
      p.stallNextRequest();
      const timedOut = await client(p.url, { timeout: 200, retries: 0 })
        .history(channel())
        .catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(HeraldTimeoutError);
      expect(timedOut).toMatchObject({ code: 'timeout', message: 'no answer within 200 ms' });
      await p.close();
      const unreachable = await client(p.url, { retries: 3, onRetry: (info) => retries.push(info) })
        .publish(channel(), 1)
        .catch((e: unknown) => e);
      expect(unreachable).toBeInstanceOf(HeraldNetworkError);
      expect(unreachable).toMatchObject({ code: 'network' });
      expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3]);
    });

    it('publishMany whose second batch answer is lost every time: resending error.pending stores exactly 4 messages', async () => {
      const h = await hub();
      let calls = 0;
      // The real fetch runs (the hub stores the batch), then the answer is lost: attempts 2 to 4.
      const losing: typeof fetch = async (input, init) => {
        calls++;
        const answer = await fetch(input, init);
        if (calls >= 2 && calls <= 4) throw new TypeError('fetch failed (answer lost)');
        return answer;
      };
      const backend = client(h.url, { batchSize: 2, fetch: losing });
      const ch = channel();
      const messages = [1, 2, 3, 4].map((data) => ({ channel: ch, data }));
      const error = await backend.publishMany(messages).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishManyError);
      const failed = error as PublishManyError;
      expect(failed).toMatchObject({ code: 'network', message: expect.stringMatching(/^publishMany: 2 of 4 messages not published/) });
      expect(failed.results).toEqual([
        { channel: ch, epoch: expect.any(String), offset: 1 },
        { channel: ch, epoch: expect.any(String), offset: 2 },
        undefined,
        undefined,
      ]);
      expect(failed.pending).toEqual([
        { channel: ch, data: 3, idempotencyKey: expect.any(String), index: 2 },
        { channel: ch, data: 4, idempotencyKey: expect.any(String), index: 3 },
      ]);
      expect(calls).toBe(4);
      const resent = await backend.publishMany(failed.pending);
      expect(resent.map((r) => 'offset' in r && [r.offset, r.duplicate])).toEqual([
        [3, true],
        [4, true],
      ]);
      expect(await stored(backend, ch)).toEqual([1, 2, 3, 4]);
    });

    it('a failed publish carries its idempotency key: publishing again with it stores once', async () => {
      const h = await hub();
      const p = await proxy(h);
      const ch = channel();
      p.dropNextResponse();
      const lost = await client(p.url, { retries: 0 })
        .publish(ch, 'once')
        .catch((e: unknown) => e);
      expect(lost).toBeInstanceOf(HeraldNetworkError);
      const key = (lost as HeraldNetworkError).idempotencyKey;
      expect(key).toMatch(/^[0-9a-f-]{36}$/);
      expect(await client(h.url).publish(ch, 'once', { idempotencyKey: key })).toMatchObject({ offset: 1, duplicate: true });
      // Refused with 3001 (the hub never saw it): the key is there too, and the resend stores it.
      const body = JSON.stringify({ error: { code: ErrorCode.Unavailable, message: 'the engine is unreachable' } });
      p.answerNextRequest(
        `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      const refused = await client(p.url, { retries: 0 })
        .publish(ch, 'twice', { idempotencyKey: 'mine-1' })
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({ name: 'HeraldApiError', code: ErrorCode.Unavailable, status: 503, idempotencyKey: 'mine-1' });
      expect(await client(h.url).publish(ch, 'twice', { idempotencyKey: 'mine-1' })).toMatchObject({ offset: 2 });
      expect(await stored(client(h.url), ch)).toEqual(['once', 'twice']);
    });

    it('publishMany splits by bytes: 150 messages of 20 KB go through a hub with the default maxBodyBytes', async () => {
      const h = await hub();
      const p = await proxy(h);
      const backend = client(p.url);
      const ch = channel();
      const big = 'x'.repeat(20_000);
      const results = await backend.publishMany(Array.from({ length: 150 }, (_, i) => ({ channel: ch, data: `${i}${big}` })));
      expect(results.map((r) => 'offset' in r && r.offset)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
      let count = 0;
      for await (const page of backend.historyPages<string>(ch)) count += page.messages.length;
      expect(count).toBe(150);
      // 20,06x bytes per entry, at most 1,000,000 per body: 49 per batch, so 4 requests (and one history read or more).
      expect(p.requests.filter((line) => line.startsWith('POST ')).length).toBe(4);
    });

    it('reuses one connection for sequential requests (keep-alive)', async () => {
      const h = await hub();
      let connections = 0;
      h.server.server.on('connection', () => connections++);
      const backend = client(h.url);
      const ch = channel();
      for (let i = 0; i < 20; i++) await backend.publish(ch, i);
      await backend.history(ch);
      // Without keep-alive, 21. Node's fetch (undici) alternates between two sockets: the one that
      // just answered returns to its pool a moment after the body was read.
      expect(connections).toBeGreaterThanOrEqual(1);
      expect(connections).toBeLessThanOrEqual(2);
    });
  });
}
