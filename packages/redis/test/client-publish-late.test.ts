import { randomUUID } from 'node:crypto';
import { RedisWebhookQueue } from '@herald/redis';
import { startRedisServer, startTestHub, startWebhookApp, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { adminClient, redisPid } from './fault-helpers.js';

const SECRET = 'client-publish-late-secret-0123456789';
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

async function lateCount(hub: TestHub): Promise<number> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('herald_webhook_events_total{outcome="late"} '));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('a client publish never hangs on its client_publish event store', () => {
  it('with the queue frozen, the publish is answered after about 2 s (counted late); the event is delivered once the queue is back', async () => {
    const redis = await startRedisServer();
    closers.push(() => redis.close());
    const admin = await adminClient(redis.url);
    closers.push(() => admin.quit());
    const pid = await redisPid(admin);
    const app = await startWebhookApp(SECRET);
    closers.push(() => app.close());
    const prefix = `herald-test-${randomUUID()}:`;
    // A long command timeout: the store hangs (no error) for as long as Redis is stopped.
    const queue = await RedisWebhookQueue.connect({ url: redis.url, prefix, commandTimeout: 30_000 });
    // The log is in memory: only the webhook queue is frozen.
    const hub = await startTestHub({ webhookQueue: queue, webhooks: { url: app.url, secrets: [SECRET], pollInterval: 10 } });
    closers.push(() => hub.close());
    const client = await WsTestClient.connect(hub.wsUrl);
    closers.push(() => client.close());

    process.kill(pid, 'SIGSTOP');
    closers.push(() => Promise.resolve(process.kill(pid, 'SIGCONT')));
    const started = performance.now();
    const reply = await client.request({ type: 'publish', channel: 'chat', data: 'late' }, 6000);
    const elapsed = performance.now() - started;
    expect(reply).toMatchObject({ type: 'reply', offset: 1 });
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(3500);
    // The message is stored: a reader sees it while the queue is still away.
    const history = await client.request({ type: 'history', channel: 'chat' });
    expect(history).toMatchObject({ messages: [{ data: 'late' }] });

    process.kill(pid, 'SIGCONT');
    await app.deliveries.until(
      (all) => all.some((d) => d.status === 200 && d.events.some((e) => e.type === 'client_publish')),
      'the late client_publish delivered',
      15_000,
    );
    const events = app.deliveries.items.filter((d) => d.status === 200).flatMap((d) => d.events);
    expect(events.filter((e) => e.type === 'client_publish')).toMatchObject([{ channel: 'chat', data: 'late', offset: 1 }]);
    // Read once the queue is back (the queue depth gauge asks it).
    expect(await lateCount(hub)).toBe(1);
  });
});
