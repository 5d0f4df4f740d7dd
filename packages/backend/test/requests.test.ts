import { createServer, request, type Server } from 'node:http';
import { ErrorCode } from '@herald/protocol';
import { createHerald, MemoryBroker, type BrokerMessage, type DuplicatePublish, type PublishOptions } from '@herald/server';
import { eventually, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createBackendClient,
  HeraldAbortError,
  HeraldProtocolError,
  PublishManyError,
  type BackendClientOptions,
  type RetryInfo,
} from '../src/index.js';
import { FaultProxy } from './fault-proxy.js';

/** A real memory engine that refuses, once, the publish of each data given to {@link failOnce}. */
class FlakyBroker extends MemoryBroker {
  readonly #failing = new Set<string>();

  failOnce(data: unknown): void {
    this.#failing.add(JSON.stringify(data));
  }

  override publish(channel: string, dataJson: string): Promise<BrokerMessage>;
  override publish(channel: string, dataJson: string, options: PublishOptions): Promise<BrokerMessage | DuplicatePublish>;
  override async publish(channel: string, dataJson: string, options?: PublishOptions): Promise<BrokerMessage | DuplicatePublish> {
    if (this.#failing.delete(dataJson)) throw new Error('connection lost');
    return options === undefined ? super.publish(channel, dataJson) : super.publish(channel, dataJson, options);
  }
}

/** A real node:http server that forwards `/realtime/*` to the hub (prefix removed) and answers 404 to anything else. */
async function prefixProxy(hubPort: number): Promise<{ server: Server; url: string; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    if (!req.url?.startsWith('/realtime/')) {
      res.writeHead(404).end('not here');
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: hubPort, method: req.method, path: req.url.slice('/realtime'.length), headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/realtime`, paths };
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function hub(broker?: MemoryBroker): Promise<TestHub> {
  const h = await startTestHub(broker === undefined ? {} : { broker });
  closers.push(() => h.close());
  return h;
}

async function proxy(h: TestHub): Promise<FaultProxy> {
  const p = await FaultProxy.start(h.port);
  closers.push(() => p.close());
  return p;
}

const client = (url: string, options: Partial<BackendClientOptions> = {}) => createBackendClient({ url, retryDelay: 1, ...options });

async function stored(url: string, channel: string): Promise<unknown[]> {
  return (await client(url).history(channel)).messages.map((m) => m.data);
}

describe('publishMany', () => {
  it('sends again, with the same keys, the entries a batch answer refused with a temporary error', async () => {
    const broker = new FlakyBroker();
    const h = await hub(broker);
    broker.failOnce('a2');
    const retries: RetryInfo[] = [];
    const keys = ['k1', 'k2', 'k3'];
    const messages = ['a1', 'a2', 'a3', 'b1'].map((data, i) => ({ channel: data[0]!, data, ...(keys[i] && { idempotencyKey: keys[i] }) }));
    const results = await client(h.url, { onRetry: (info) => retries.push(info) }).publishMany(messages);
    expect(results.map((r) => 'offset' in r && [r.channel, r.offset, r.duplicate])).toEqual([
      ['a', 1, undefined],
      ['a', 2, undefined],
      ['a', 3, undefined],
      ['b', 1, undefined],
    ]);
    // The hub refused a2 (engine) and a3 (an earlier message of a failed): one retry sent both.
    expect(retries.map((r) => [r.attempt, r.error.name, r.error.code, 'status' in r.error && r.error.status])).toEqual([
      [1, 'HeraldApiError', ErrorCode.Unavailable, 200],
    ]);
    expect(await stored(h.url, 'a')).toEqual(['a1', 'a2', 'a3']);
  });

  it('stops with PublishManyError when entries stay refused with 3xxx after the retries; later batches are not sent', async () => {
    const broker = new FlakyBroker();
    const h = await hub(broker);
    broker.failOnce('a2');
    const p = await proxy(h);
    const messages = ['a1', 'a2', 'a3', 'a4'].map((data) => ({ channel: 'a', data }));
    const error = await client(p.url, { retries: 0, batchSize: 3 })
      .publishMany(messages)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishManyError);
    const failed = error as PublishManyError;
    expect(failed).toMatchObject({ code: ErrorCode.Unavailable, cause: { name: 'HeraldApiError', status: 200 } });
    expect(failed.results).toEqual([{ channel: 'a', epoch: expect.any(String), offset: 1 }, undefined, undefined, undefined]);
    expect(failed.pending.map((m) => [m.index, m.data])).toEqual([
      [1, 'a2'],
      [2, 'a3'],
      [3, 'a4'],
    ]);
    expect(p.requests).toEqual(['POST /api/publish HTTP/1.1']);
    await client(h.url).publishMany(failed.pending);
    expect(await stored(h.url, 'a')).toEqual(['a1', 'a2', 'a3', 'a4']);
  });
});

describe('bad data', () => {
  it.each([
    ['a BigInt', { n: 1n }],
    [
      'a cycle',
      ((): unknown => {
        const cycle: Record<string, unknown> = {};
        cycle['self'] = cycle;
        return cycle;
      })(),
    ],
  ])('%s throws a TypeError at once, before any request', async (_name, data) => {
    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const retries: RetryInfo[] = [];
    const backend = client('http://127.0.0.1:9', { fetch: counting, onRetry: (info) => retries.push(info) });
    await expect(backend.publish('x', data)).rejects.toBeInstanceOf(TypeError);
    await expect(
      backend.publishMany([
        { channel: 'x', data: 1 },
        { channel: 'x', data },
      ]),
    ).rejects.toBeInstanceOf(TypeError);
    expect([requests, retries]).toEqual([0, []]);
  });
});

it('a 2xx answer that is not JSON is a HeraldProtocolError with the status, not retried', async () => {
  const h = await hub();
  const p = await proxy(h);
  const page = '<html>an app</html>';
  p.answerNextRequest(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${page.length}\r\nConnection: close\r\n\r\n${page}`);
  const retries: RetryInfo[] = [];
  const error = await client(p.url, { onRetry: (info) => retries.push(info) })
    .publish('x', 1)
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HeraldProtocolError);
  expect(error).toMatchObject({
    code: 'protocol',
    status: 200,
    message: 'POST /api/publish: the 200 answer is not JSON (is url a hub?)',
    idempotencyKey: expect.any(String),
  });
  expect(retries).toEqual([]);
  expect(await stored(h.url, 'x')).toEqual([]);
});

describe('signal', () => {
  it('aborting stops the request under way: HeraldAbortError, no retry', async () => {
    const h = await hub();
    const p = await proxy(h);
    p.stallNextRequest();
    const retries: RetryInfo[] = [];
    const controller = new AbortController();
    const call = client(p.url, { onRetry: (info) => retries.push(info) })
      .history('x', { signal: controller.signal })
      .catch((e: unknown) => e);
    await eventually(() => p.faulted === 1, 'the proxy holds the request');
    controller.abort(new Error('user gave up'));
    const error = await call;
    expect(error).toBeInstanceOf(HeraldAbortError);
    expect(error).toMatchObject({ name: 'AbortError', code: 'aborted', cause: new Error('user gave up') });
    expect(retries).toEqual([]);
  });

  it('aborting during the wait before a retry rejects at once; an aborted signal sends nothing', async () => {
    const h = await hub();
    const p = await proxy(h);
    const body = JSON.stringify({ error: { code: ErrorCode.Unavailable, message: 'down' } });
    p.answerNextRequest(
      `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    const controller = new AbortController();
    // The first retry would wait up to 10 minutes: only the abort can end the call in time.
    const backend = client(p.url, { retryDelay: 600_000, maxRetryDelay: 600_000, onRetry: () => controller.abort() });
    const error = await backend.publish('x', 1, { idempotencyKey: 'k-abort', signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AbortError', code: 'aborted', idempotencyKey: 'k-abort' });
    const many = await backend.publishMany([{ channel: 'x', data: 1 }], { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(many).toBeInstanceOf(PublishManyError);
    expect(many).toMatchObject({ code: 'aborted', cause: { name: 'AbortError' } });
    expect((many as PublishManyError).pending).toHaveLength(1);
    await expect(backend.presence('x', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(HeraldAbortError);
    expect(p.requests).toEqual(['POST /api/publish HTTP/1.1']);
  });
});

describe('a base URL with a path prefix', () => {
  it.each(['', '/'])('joins every path below /realtime (trailing slash: %j)', async (slash) => {
    const h = await hub();
    const front = await prefixProxy(h.port);
    closers.push(() => new Promise((resolve) => front.server.close(resolve)));
    const backend = client(front.url + slash);
    const position = await backend.publish('news', 1);
    expect(position).toMatchObject({ channel: 'news', offset: 1 });
    expect((await backend.publishMany([{ channel: 'news', data: 2 }]))[0]).toMatchObject({ offset: 2 });
    expect((await backend.history('news')).messages.map((m) => m.data)).toEqual([1, 2]);
    expect(await backend.presence('news')).toEqual({ channel: 'news', members: [] });
    expect(front.paths).toEqual([
      '/realtime/api/publish',
      '/realtime/api/publish',
      '/realtime/api/history?channel=news',
      '/realtime/api/presence?channel=news',
    ]);
  });
});

describe('a hub attached under /realtime on an app server (createHerald)', () => {
  it.each(['', '/'])('every call reaches the hub under the prefix (trailing slash: %j)', async (slash) => {
    const appPaths: string[] = [];
    const app = createServer((req, res) => {
      appPaths.push(req.url ?? '');
      res.writeHead(404).end('the app');
    });
    const herald = createHerald({ path: '/realtime' });
    herald.attach(app);
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      await herald.close();
      await new Promise((resolve) => app.close(resolve));
    });
    const backend = client(`http://127.0.0.1:${(app.address() as { port: number }).port}/realtime${slash}`);
    expect(await backend.publish('news', 1)).toMatchObject({ channel: 'news', offset: 1 });
    expect((await backend.publishMany([{ channel: 'news', data: 2 }]))[0]).toMatchObject({ offset: 2 });
    expect((await backend.history('news')).messages.map((m) => m.data)).toEqual([1, 2]);
    expect(await backend.presence('news')).toEqual({ channel: 'news', members: [] });
    // The app saw none of them: every path was joined below /realtime.
    expect(appPaths).toEqual([]);
  });
});
