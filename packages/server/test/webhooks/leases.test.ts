import { ManualClock, type TestHub } from '@herald/testkit';
import { MemoryWebhookQueue, resolveWebhooks, silentLogger, WebhookDispatcher, type WebhookOutcome } from '@herald/server';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookTestbed } from './webhook-testbed.js';

// A lease covers exactly one request, and an outcome counts only under the lease it was claimed with.

const SECRET = 'webhook-test-secret-0123456789';

const { own, app, hub, closeAll } = webhookTestbed(SECRET, { admin: true });
afterEach(closeAll);

async function queued(h: TestHub): Promise<{ queued: number; dead: number }> {
  return (await (await fetch(`${h.url}/api/admin/webhooks`)).json()) as { queued: number; dead: number };
}

const emitMany = (h: TestHub, n: number, tag: string) =>
  Promise.all(
    Array.from({ length: n }, (_, i) => h.server.herald.hub.webhooks!.emit({ type: 'channel_occupied', channel: `${tag}:${i}` })),
  );

// Every event is its own request (maxBatchBytes 1), ten of them due at once, two workers, each
// request answered after 200 ms: a whole claimed batch would outlive its 500 ms lease.
const ONE_PER_REQUEST = { batchSize: 10, maxBatchBytes: 1, timeout: 400, lease: 500, concurrency: 2 } as const;

describe('webhooks: leases', () => {
  it('claims only what one request sends: a healthy slow app gets each event once', async () => {
    const a = await app();
    a.answer(() => ({ status: 200, afterMs: 200 }));
    const h = await hub({ url: a.url, ...ONE_PER_REQUEST });
    await emitMany(h, 10, 'once');
    // The answers come late, so the delivered count is polled (bounded), not waited on per request.
    await expect.poll(() => a.delivered().length, { timeout: 10_000 }).toBe(10);
    await expect.poll(() => queued(h), { timeout: 5000 }).toMatchObject({ queued: 0 });
    const ids = a.deliveries.items.flatMap((d) => d.events.map((e) => e.id));
    expect(ids).toHaveLength(10);
    expect(new Set(ids).size).toBe(10);
  });

  it('an event failing its only attempt is dead, never also delivered', async () => {
    const a = await app();
    const seen = new Set<string>();
    a.answer((d) => {
      const fresh = d.events.some((e) => !seen.has(e.id));
      for (const e of d.events) seen.add(e.id);
      return { status: fresh ? 500 : 200, afterMs: 200 };
    });
    const h = await hub({ url: a.url, ...ONE_PER_REQUEST, maxAttempts: 1 });
    await emitMany(h, 10, 'dead');
    await expect.poll(() => queued(h), { timeout: 15_000 }).toMatchObject({ queued: 0, dead: 10 });
    expect(a.delivered()).toEqual([]);
    expect(a.deliveries.items).toHaveLength(10);
  });

  it('keeps the whole request body within maxBatchBytes (an event larger than it goes alone)', async () => {
    const a = await app();
    const h = await hub({ url: a.url, maxBatchBytes: 1000, batchSize: 100 });
    const sink = h.server.herald.hub.webhooks!;
    await Promise.all(Array.from({ length: 60 }, (_, i) => sink.emit({ type: 'channel_occupied', channel: `bytes:${i}` })));
    await sink.emit({ type: 'channel_occupied', channel: `big:${'x'.repeat(1200)}` });
    await a.deliveries.until(() => a.delivered().length >= 61, '61 delivered');
    const bodies = a.deliveries.items.map((d) => Buffer.byteLength(JSON.stringify({ events: d.events })));
    const big = a.deliveries.items.findIndex((d) => d.events.some((e) => (e as { channel: string }).channel.startsWith('big:')));
    expect(a.deliveries.items[big]!.events).toHaveLength(1);
    expect(bodies.filter((_, i) => i !== big).every((b) => b <= 1000)).toBe(true);
    // Filled close to the bound, not one event per request.
    expect(a.deliveries.items.length).toBeLessThan(12);
  });

  it('ignores and counts the outcome of a lease taken over: a late failure does not bury what the new holder delivers', async () => {
    const a = await app();
    // The first request fails after 100 ms; the second (the takeover) succeeds after 400 ms.
    a.answer(() => (a.deliveries.items.length === 0 ? { status: 500, afterMs: 100 } : { status: 200, afterMs: 400 }));
    const clock = new ManualClock(Date.now());
    const queue = new MemoryWebhookQueue();
    const counted: Partial<Record<WebhookOutcome, number>> = {};
    const options = resolveWebhooks({
      url: a.url,
      secrets: [SECRET],
      timeout: 900,
      lease: 1000,
      pollInterval: 5,
      concurrency: 2,
      maxAttempts: 1,
    });
    const dispatcher = new WebhookDispatcher(options, {
      queue,
      node: 'n1',
      clock,
      logger: silentLogger,
      observer: { counted: (o, n) => (counted[o] = (counted[o] ?? 0) + n), requested: () => undefined },
    });
    dispatcher.start();
    own(dispatcher);
    await dispatcher.emit({ type: 'channel_occupied', channel: 'fenced' });
    await a.deliveries.count(1);
    // The first worker's lease runs out (its node stalled, say): the second worker takes the event over.
    clock.advance(1001);
    await a.deliveries.count(2);
    await expect.poll(() => queue.counts(clock.now()), { timeout: 5000 }).toMatchObject({ queued: 0, dead: 0 });
    expect(a.delivered()).toHaveLength(1);
    expect(counted).toMatchObject({ queued: 1, delivered: 1, stale: 1 });
    expect(counted.dead).toBeUndefined();
  });
});
