import { ErrorCode } from '@herald/protocol';
import { RedisBroker, RedisPresenceStore } from '@herald/redis';
import { startRedisServer, startTestHub, type TestHub, type TestRedisServer } from '@herald/testkit';
import { createClient } from '@redis/client';
import { afterEach, describe, expect, it } from 'vitest';

describe('a full Redis (maxmemory, noeviction)', () => {
  let redis: TestRedisServer | undefined;
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    await redis?.close();
  });

  it('refuses publishes with 503 (3001) instead of growing past maxmemory; reads still work', async () => {
    redis = await startRedisServer({ args: ['--maxmemory', '3mb', '--maxmemory-policy', 'noeviction'] });
    hub = await startTestHub({
      broker: await RedisBroker.connect({ url: redis.url, historySize: 100_000 }),
      presence: await RedisPresenceStore.connect({ url: redis.url }),
    });
    const data = 'x'.repeat(10_000);
    let stored = 0;
    let refused: { status: number; body: any } | undefined;
    for (let i = 0; i < 2000 && refused === undefined; i++) {
      const res = await fetch(`${hub.url}/api/publish`, {
        method: 'POST',
        body: JSON.stringify({ channel: i % 2 === 0 ? 'big' : `new-${i}`, data }),
      });
      if (res.status === 200) stored++;
      else refused = { status: res.status, body: await res.json() };
    }
    expect(refused).toEqual({ status: 503, body: { error: { code: ErrorCode.Unavailable, message: 'the engine is unavailable' } } });
    expect(stored).toBeGreaterThan(10);
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      const info = await admin.info('memory');
      const used = Number(/used_memory:(\d+)/.exec(info)![1]);
      expect(used).toBeLessThan(3 * 1024 * 1024 + 64 * 1024);
    } finally {
      admin.destroy();
    }
    const read = await fetch(`${hub.url}/api/messages?channel=big&limit=1`);
    expect(read.status).toBe(200);
  });
});
