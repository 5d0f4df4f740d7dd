import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createClient } from '@redis/client';
import { ErrorCode } from '@herald/protocol';
import { RedisRateLimitStore } from '@herald/redis';
import { JwtAuthenticator, type RequestLimits } from '@herald/server';
import { ManualClock, startTestHub, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

/**
 * Request rate limits on Redis: the per-user buckets live in a `RedisRateLimitStore`, so two nodes
 * on one Redis share them; the per-address buckets stay on each node.
 */

const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;
const SECRET = randomBytes(32).toString('base64url');
const hubs: TestHub[] = [];

afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});
afterAll(() => deleteKeys(REDIS_URL, [prefix]));

let n = 0;
/** Two nodes sharing one Redis store of rate buckets (on keys of their own), and their clock. */
async function twoNodes(requestLimits: RequestLimits): Promise<{ nodes: [TestHub, TestHub]; clock: ManualClock; own: string }> {
  const clock = new ManualClock();
  const own = `${prefix}n${n++}:`;
  const node = async (): Promise<TestHub> => {
    const hub = await startTestHub({
      clock,
      requestLimits,
      rateLimitStore: await RedisRateLimitStore.connect({ url: REDIS_URL, prefix: own, clock }),
      security: { authenticator: new JwtAuthenticator({ secret: SECRET, now: clock.now }) },
    });
    hubs.push(hub);
    return hub;
  };
  return { nodes: [await node(), await node()], clock, own };
}

const token = (sub: string, now: number): Promise<string> =>
  new SignJWT({ sub, exp: Math.floor(now / 1000) + 3600 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));

/** `POST /api/publish` to `hub` from `localAddress`; resolves with the status, the error and `Retry-After`. */
function publish(
  hub: TestHub,
  bearer: string,
  localAddress = '127.0.0.1',
): Promise<{ status: number; error?: unknown; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${hub.url}/api/publish`,
      { method: 'POST', agent: false, localAddress, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bearer}` } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const retryAfter = res.headers['retry-after'];
          resolve({
            status,
            ...(status !== 200 && { error: (JSON.parse(text) as { error: unknown }).error }),
            ...(retryAfter !== undefined && { retryAfter }),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ channel: 'room', data: 1 }));
  });
}

describe('request rate limits on Redis', () => {
  it('two nodes share a user’s limit: what one node let through counts on the other; another user is not affected', async () => {
    const { nodes, clock } = await twoNodes({ publish: { perUser: { perSecond: 1, burst: 3 } } });
    const [a, b] = nodes;
    const [alice, bob] = [await token('alice', clock.now()), await token('bob', clock.now())];
    const passed = [await publish(a, alice), await publish(b, alice, '127.0.0.2'), await publish(a, alice, '127.0.0.3')];
    expect(passed.map((p) => p.status)).toEqual([200, 200, 200]);
    const refused = await publish(b, alice);
    expect(refused).toEqual({
      status: 429,
      error: { code: ErrorCode.RateLimited, message: 'at most 1 publish requests per second per user' },
      retryAfter: '1',
    });
    expect((await publish(b, bob)).status).toBe(200);
    clock.advance(1000);
    expect((await publish(a, alice)).status).toBe(200);
    expect((await publish(b, alice)).status).toBe(429);
  });

  it('a batch costs one per message in the shared bucket', async () => {
    const { nodes, clock } = await twoNodes({ publish: { perUser: { perSecond: 1, burst: 5 } } });
    const [a, b] = nodes;
    const alice = await token('alice', clock.now());
    const store = await RedisRateLimitStore.connect({ url: REDIS_URL, prefix: `${prefix}cost:`, clock });
    try {
      expect(await store.take('k', { perSecond: 1, burst: 5 }, 4)).toBe(0);
      expect(await store.take('k', { perSecond: 1, burst: 5 }, 2)).toBe(1000);
      expect(await store.take('k', { perSecond: 1, burst: 5 }, 1)).toBe(0);
    } finally {
      await store.close();
    }
    const batchOf = (hub: TestHub, n: number): Promise<number> =>
      fetch(`${hub.url}/api/publish`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${alice}` },
        body: JSON.stringify({ messages: Array.from({ length: n }, (_, i) => ({ channel: 'room', data: i })) }),
      }).then((res) => res.status);
    expect(await batchOf(a, 4)).toBe(200);
    expect(await batchOf(b, 2)).toBe(429);
    // The refused batch's request counted: none left.
    expect((await publish(b, alice)).status).toBe(429);
  });

  it('per-address limits stay per node: an address refused by one node is served by the other', async () => {
    const { nodes, clock } = await twoNodes({ publish: { perIp: { perSecond: 1, burst: 2 } } });
    const [a, b] = nodes;
    const alice = await token('alice', clock.now());
    expect([(await publish(a, alice)).status, (await publish(a, alice)).status, (await publish(a, alice)).status]).toEqual([200, 200, 429]);
    expect((await publish(b, alice)).status).toBe(200);
  });

  it('a bucket is one key that expires once the bucket is full again', async () => {
    const { nodes, clock, own } = await twoNodes({ publish: { perUser: { perSecond: 2, burst: 4 } } });
    const alice = await token('alice', clock.now());
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    let lastSent = 0;
    for (let i = 0; i < 3; i++) {
      lastSent = Date.now();
      expect((await publish(nodes[0], alice)).status).toBe(200);
    }
    try {
      expect(await client.keys(`${own}*`)).toEqual([`${own}rate:publish:alice`]);
      // Three requests at 500 ms each: full again 1500 ms after the last one (less the real time
      // since it was sent: Redis counts the key's life in real time, however loaded the machine).
      const ttl = await client.pTTL(`${own}rate:publish:alice`);
      expect(ttl).toBeGreaterThan(1500 - (Date.now() - lastSent) - 20);
      expect(await client.pTTL(`${own}rate:publish:alice`)).toBeLessThanOrEqual(1500);
    } finally {
      client.destroy();
    }
  });
});
