import { JwtAuthenticator } from '@herald/server';
import { eventually, SseTestClient, startRedisServer, type TestHub, type TestRedisServer } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisHub } from './fault-helpers.js';

// `/livez` is the liveness check (restart the process when it fails), `/readyz` the readiness check
// (route traffic here only while it passes), `/healthz` the older name of `/readyz`. Each test owns
// its redis-server (a free port, stopped and started by its pid): the shared one on 6379 is never stopped.

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: unknown;
}

async function probe(url: string, path: string): Promise<Answer> {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
}

const ok: Answer = { status: 200, retryAfter: null, body: { status: 'ok' } };
const unavailable = (message: string): Answer => ({ status: 503, retryAfter: '1', body: { error: { code: 3001, message } } });

let redis: TestRedisServer | undefined;
let node: TestHub | undefined;

afterEach(async () => {
  await node?.close().catch(() => undefined);
  await redis?.close();
  node = undefined;
  redis = undefined;
});

describe('/livez, /readyz and /healthz on the Redis engine', () => {
  it('while Redis is down: /livez stays 200, /readyz and /healthz answer 503 with the reason, and 200 again once Redis is back', async () => {
    redis = await startRedisServer();
    node = await startRedisHub({ url: redis.url, commandTimeout: 500 });
    const { url } = node;
    for (const path of ['/livez', '/readyz', '/healthz']) expect(await probe(url, path), path).toEqual(ok);

    await redis.stop();
    // Every probe until /readyz reports the outage: liveness never fails meanwhile.
    const livezSeen: Answer[] = [];
    const down = await eventually(
      async () => {
        livezSeen.push(await probe(url, '/livez'));
        return probe(url, '/readyz');
      },
      (answer) => answer.status !== 200,
      '/readyz to report that Redis is down',
      { timeoutMs: 10_000, intervalMs: 25 },
    );
    expect(down).toEqual(unavailable('the engine is unreachable'));
    expect(await probe(url, '/healthz')).toEqual(unavailable('the engine is unreachable'));
    expect(await probe(url, '/livez')).toEqual(ok);
    expect(livezSeen.every((answer) => answer.status === 200)).toBe(true);

    await redis.start();
    expect(
      await eventually(
        () => probe(url, '/readyz'),
        (answer) => answer.status === 200,
        '/readyz 200 once Redis is back',
        {
          timeoutMs: 10_000,
          intervalMs: 25,
        },
      ),
    ).toEqual(ok);
    expect(await probe(url, '/healthz')).toEqual(ok);
    expect(await probe(url, '/livez')).toEqual(ok);
  });

  it('while draining: /readyz and /healthz answer 503 "shutting down", /livez 200', async () => {
    redis = await startRedisServer();
    node = await startRedisHub({ url: redis.url });
    node.server.drain();
    expect(await probe(node.url, '/readyz')).toEqual(unavailable('shutting down'));
    expect(await probe(node.url, '/healthz')).toEqual(unavailable('shutting down'));
    expect(await probe(node.url, '/livez')).toEqual(ok);
  });

  it('at the connection cap: a second SSE stream is refused, the health checks are answered', async () => {
    redis = await startRedisServer();
    node = await startRedisHub({ url: redis.url, serverOptions: { maxConnections: 1 } });
    const held = await SseTestClient.connect(`${node.url}/events?channel=capped`);
    try {
      const refused = await fetch(`${node.url}/events?channel=capped`);
      expect(refused.status).toBe(503);
      await refused.body?.cancel();
      for (const path of ['/livez', '/readyz', '/healthz']) expect(await probe(node.url, path), path).toEqual(ok);
    } finally {
      await held.close();
    }
  });

  it('reads no credentials: 200 in a hub that requires authentication, HEAD too, and 405 for other methods', async () => {
    redis = await startRedisServer();
    node = await startRedisHub({
      url: redis.url,
      security: { requireAuth: true, authenticator: new JwtAuthenticator({ secret: 's'.repeat(32) }), apiKeys: ['k'.repeat(32)] },
    });
    for (const path of ['/livez', '/readyz', '/healthz']) {
      expect(await probe(node.url, path), path).toEqual(ok);
      expect((await fetch(`${node.url}${path}`, { method: 'HEAD' })).status, `HEAD ${path}`).toBe(200);
      const post = await fetch(`${node.url}${path}`, { method: 'POST' });
      expect({ status: post.status, allow: post.headers.get('allow') }, `POST ${path}`).toEqual({ status: 405, allow: 'GET,HEAD' });
      await post.body?.cancel();
    }
  });
});
