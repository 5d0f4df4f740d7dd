import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { RedisWebhookQueue } from '@herald/redis';
import { runWebhookQueueContract, webhookEvent } from '@herald/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { lazyWebhookQueue } from '../src/engine.js';

const REDIS_URL = process.env['HERALD_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefixes = new Set<string>();

afterAll(async () => {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  for (const prefix of prefixes)
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*` })) if (keys.length > 0) await client.del(keys);
  client.destroy();
});

/** The queue a Redis engine gives a door (`Engine.namedWebhookQueue`): connected on first use. */
function doorQueue(prefix: string): ReturnType<typeof lazyWebhookQueue> {
  prefixes.add(prefix);
  return lazyWebhookQueue(() => RedisWebhookQueue.connect({ url: REDIS_URL, prefix, leaseClock: 'caller' }));
}

runWebhookQueueContract('redis, opened lazily for a front door', (store) => Promise.resolve(doorQueue(`herald-test-door-${store}:`)), true);

describe('lazyWebhookQueue', () => {
  it('keeps a door’s events under its own prefix, apart from Herald’s queue', async () => {
    const base = `herald-test-door-${randomUUID()}:`;
    const herald = doorQueue(base);
    const pusher = doorQueue(`${base}pusher:app1:0:`);
    try {
      await pusher.add([webhookEvent(1000)]);
      expect(await pusher.counts()).toEqual({ queued: 1, dead: 0 });
      expect(await herald.counts()).toEqual({ queued: 0, dead: 0 });
    } finally {
      await Promise.all([herald.close(), pusher.close()]);
    }
  });

  it('refuses calls once closed, and tries a failed open again on the next call', async () => {
    let opens = 0;
    const queue = lazyWebhookQueue(() => {
      opens++;
      return opens === 1
        ? Promise.reject(new Error('down'))
        : RedisWebhookQueue.connect({ url: REDIS_URL, prefix: `herald-test-door-${randomUUID()}:`, leaseClock: 'caller' });
    });
    await expect(queue.counts()).rejects.toThrow('down');
    expect(await queue.counts()).toEqual({ queued: 0, dead: 0 });
    await queue.close();
    await expect(queue.counts()).rejects.toThrow('closed');
  });
});
