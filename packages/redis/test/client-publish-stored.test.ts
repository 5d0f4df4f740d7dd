import { randomUUID } from 'node:crypto';
import { RedisWebhookQueue } from '@herald/redis';
import { startRedisServer, startTestHub, startWebhookApp, WsTestClient } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { adminClient, redisPid } from './fault-helpers.js';

const SECRET = 'client-publish-stored-secret-0123456789';
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

describe('a client publish is acknowledged only once its client_publish event is stored', () => {
  it('with the queue frozen (its Redis stopped), the ack waits; once it is back, the event is in the queue at the ack', async () => {
    const redis = await startRedisServer();
    closers.push(() => redis.close());
    const admin = await adminClient(redis.url);
    closers.push(() => admin.quit());
    const pid = await redisPid(admin);
    const app = await startWebhookApp(SECRET);
    closers.push(() => app.close());
    // The app holds every request: a delivered-but-unanswered event stays in the queue (leased).
    app.answer(() => 'hold');
    closers.push(() => Promise.resolve(app.releaseHeld()));
    const prefix = `herald-test-${randomUUID()}:`;
    const queue = await RedisWebhookQueue.connect({ url: redis.url, prefix, commandTimeout: 10_000 });
    const observer = await RedisWebhookQueue.connect({ url: redis.url, prefix });
    closers.push(() => observer.close());
    // The log is in memory: only the webhook queue is frozen.
    const hub = await startTestHub({ webhookQueue: queue, webhooks: { url: app.url, secrets: [SECRET], pollInterval: 10 } });
    closers.push(() => hub.close());
    const client = await WsTestClient.connect(hub.wsUrl);
    closers.push(() => client.close());

    process.kill(pid, 'SIGSTOP');
    closers.push(() => Promise.resolve(process.kill(pid, 'SIGCONT')));
    let acked = false;
    const ack = client.request({ type: 'publish', channel: 'chat', data: 'hi' }).then((reply) => {
      acked = true;
      return reply;
    });
    // A negative observation needs a wait: the message is stored at once, its event cannot be.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(acked).toBe(false);
    process.kill(pid, 'SIGCONT');
    expect(await ack).toMatchObject({ type: 'reply', offset: 1 });
    expect((await observer.counts()).queued).toBe(1);
  });
});
