import { randomUUID } from 'node:crypto';
import { RedisWebhookQueue } from '@herald/redis';
import { resolveWebhooks, silentLogger, WebhookDispatcher } from '@herald/server';
import { startWebhookApp } from '@herald/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

// Leases follow the Redis server's clock, not the nodes': a node whose clock runs ahead does not
// take over a lease another node still holds, and its events are due at once.

const SECRET = 'webhook-test-secret-0123456789';
const prefixes: string[] = [];
afterAll(() => deleteKeys(REDIS_URL, prefixes));

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

describe('webhooks on Redis: clocks', () => {
  it('a node whose clock runs past another node’s lease does not send the event that node is still sending', async () => {
    const app = await startWebhookApp(SECRET);
    closers.push(() => app.close());
    // Node A's request is answered after 1.5 s; any later one at once.
    app.answer(() => (app.deliveries.items.length === 0 ? { status: 200, afterMs: 1500 } : 200));
    const prefix = `herald-test-${randomUUID()}:`;
    prefixes.push(prefix);
    const options = resolveWebhooks({ url: app.url, secrets: [SECRET], timeout: 5000, lease: 10_000, pollInterval: 20 });
    const node = async (name: string, skew: number) => {
      const queue = await RedisWebhookQueue.connect({ url: REDIS_URL, prefix });
      const dispatcher = new WebhookDispatcher(options, {
        queue,
        node: name,
        clock: { now: () => Date.now() + skew },
        logger: silentLogger,
      });
      closers.push(async () => {
        await dispatcher.close();
        await queue.close();
      });
      dispatcher.start();
      return dispatcher;
    };
    const a = await node('a', 0);
    await a.emit({ type: 'channel_occupied', channel: 'skew' });
    await app.deliveries.count(1);
    // B's clock is 11 s ahead, past A's 10 s lease by its own reckoning.
    const b = await node('b', 11_000);
    await expect.poll(() => app.delivered().length, { timeout: 5000 }).toBe(1);
    expect(app.deliveries.items).toHaveLength(1);
    // An event B emits (its time 11 s ahead) is due at once all the same, and sent once.
    await b.emit({ type: 'channel_occupied', channel: 'from-b' });
    await expect.poll(() => app.delivered().length, { timeout: 3000 }).toBe(2);
    expect(app.deliveries.items).toHaveLength(2);
  });
});
