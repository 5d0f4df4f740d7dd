import { randomUUID } from 'node:crypto';
import { RedisWebhookQueue } from '@herald/redis';
import {
  MAX_BUFFERED_WEBHOOK_BYTES,
  resolveWebhooks,
  silentLogger,
  systemClock,
  WebhookDispatcher,
  type WebhookOutcome,
} from '@herald/server';
import { Collector, startRedisServer, startWebhookApp } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

// A failed store is retried: events wait in the node's buffer (bounded by count and bytes) while
// Redis is away, and are stored once it is back.

const SECRET = 'webhook-test-secret-0123456789';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

async function dispatcherOn(url: string, appUrl: string) {
  const queue = await RedisWebhookQueue.connect({ url, prefix: `herald-test-${randomUUID()}:`, commandTimeout: 500 });
  const counted: Partial<Record<WebhookOutcome, number>> = {};
  const warnings = new Collector<string>();
  const options = resolveWebhooks({ url: appUrl, secrets: [SECRET], pollInterval: 10, retryBase: 600_000, retryMax: 600_000 });
  const dispatcher = new WebhookDispatcher(options, {
    queue,
    node: 'n1',
    clock: systemClock,
    logger: { ...silentLogger, warn: (_obj, msg) => warnings.push(msg ?? '') },
    observer: { counted: (o, n) => (counted[o] = (counted[o] ?? 0) + n), requested: () => undefined },
  });
  closers.push(async () => {
    await dispatcher.close();
    await queue.close();
  });
  return { queue, dispatcher, counted, warnings };
}

describe('webhooks on Redis: a failed store is retried', () => {
  it('events emitted while Redis restarts are stored once it is back and delivered; none dropped', async () => {
    const redis = await startRedisServer();
    closers.push(() => redis.close());
    const app = await startWebhookApp(SECRET);
    closers.push(() => app.close());
    const { dispatcher, counted, warnings } = await dispatcherOn(redis.url, app.url);
    dispatcher.start();
    await dispatcher.emit({ type: 'channel_occupied', channel: 'before' });
    // Delivered before Redis stops: this Redis keeps nothing across a restart, so an event still
    // queued then would be gone with it (a stop racing the first delivery failed this test).
    await app.deliveries.until(() => app.delivered().length >= 1, "'before' delivered", 5000);
    await redis.stop();
    const during = Array.from({ length: 10 }, (_, i) => dispatcher.emit({ type: 'channel_occupied', channel: `during:${i}` }));
    // The store failed (Redis did not answer within commandTimeout) before Redis comes back.
    await warnings.until((all) => all.includes('webhook events could not be stored; retrying'), 'a failed store', 5000);
    await redis.start();
    // Each emit resolves once its event is stored (after the retry).
    await Promise.all(during);
    await dispatcher.emit({ type: 'channel_occupied', channel: 'after' });
    await app.deliveries.until(() => new Set(app.delivered()).size >= 12, '12 delivered', 15_000);
    const channels = app.deliveries.items.flatMap((d) => d.events.map((e) => (e as { channel: string }).channel));
    expect(new Set(channels)).toEqual(new Set(['before', 'after', ...Array.from({ length: 10 }, (_, i) => `during:${i}`)]));
    expect(counted).toMatchObject({ queued: 12 });
    expect(counted.dropped).toBeUndefined();
  });

  it('the buffer of events waiting to be stored is bounded in bytes: past it new events are dropped, the rest stored', async () => {
    const redis = await startRedisServer();
    closers.push(() => redis.close());
    // Nothing is delivered: the app's port is closed and retries are far apart.
    const { queue, dispatcher, counted } = await dispatcherOn(redis.url, 'http://127.0.0.1:9/');
    await redis.stop();
    const data = 'x'.repeat(1024 * 1024);
    const count = Math.ceil(MAX_BUFFERED_WEBHOOK_BYTES / data.length) + 5;
    const emitted = Array.from({ length: count }, (_, i) =>
      dispatcher.emit({ type: 'client_publish', channel: 'big', user: null, client: 'c', data, epoch: 'e', offset: i + 1 }),
    );
    // The events past the bound are refused at once.
    expect(counted.dropped).toBeGreaterThanOrEqual(5);
    expect(counted.dropped).toBeLessThan(10);
    await redis.start();
    await Promise.all(emitted);
    expect(counted.queued).toBe(count - counted.dropped!);
    expect(await queue.counts()).toMatchObject({ queued: count - counted.dropped! });
  });
});
