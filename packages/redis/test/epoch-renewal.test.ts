import { randomBytes } from 'node:crypto';
import { RedisBroker, RedisPresenceStore } from '@herald/redis';
import { startRedisServer, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { createClient } from '@redis/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;
let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});
afterAll(() => deleteKeys(REDIS_URL, [prefix]));

const adminClient = (url: string) => createClient({ url });
type Admin = ReturnType<typeof adminClient>;

/** Makes the channel's keys what a Redis that lost everything after offset `keep` would hold. */
async function loseTail(admin: Admin, base: string, keep: number): Promise<void> {
  const kept = (await admin.xRange(`${base}:log`, '-', `${keep}-0`)) ?? [];
  await admin.del(`${base}:log`);
  for (const entry of kept) if (entry !== null) await admin.xAdd(`${base}:log`, entry.id, entry.message);
  await admin.hSet(`${base}:meta`, 'top', String(keep));
}

describe('Redis lost acknowledged messages but kept the epoch (AOF every second, failover)', () => {
  it('starts a new epoch, so subscribers get an explicit epoch gap instead of offsets reused in silence', async () => {
    hub = await startTestHub({
      broker: await RedisBroker.connect({ url: REDIS_URL, prefix }),
      presence: await RedisPresenceStore.connect({ url: REDIS_URL, prefix }),
      positionCheckInterval: 50,
    });
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'tail' });
    for (let i = 1; i <= 5; i++) await hub.server.hub.publish('tail', i);
    await ws.waitForMessages(5);
    const epoch = ws.messages()[0].epoch as string;
    // What a Redis restarted from a one-second-old AOF holds: messages 4 and 5 are gone.
    const admin = adminClient(REDIS_URL);
    await admin.connect();
    try {
      await loseTail(admin, `${prefix}{tail}`, 3);
      await expect
        .poll(async () => (await admin.hGet(`${prefix}{tail}:meta`, 'epoch')) !== epoch, { timeout: 5000, interval: 50 })
        .toBe(true);
    } finally {
      admin.destroy();
    }
    const next = await hub.server.hub.publish('tail', 'after the loss');
    expect(next.epoch).not.toBe(epoch);
    expect(next.offset).toBe(1);
    await ws.waitForMessages(6);
    const frames = ws.frames.items.filter((f) => f.type === 'gap' || f.type === 'message').slice(5);
    expect(frames).toEqual([
      { type: 'gap', channel: 'tail', reason: 'epoch', requested: { epoch, offset: 5 }, resumed: { epoch: next.epoch, offset: 0 } },
      expect.objectContaining({ type: 'message', epoch: next.epoch, offset: 1, data: 'after the loss' }),
    ]);
    await ws.close();
  });

  it('after a reconnect, also when the lost offsets were already used again by other messages', async () => {
    const redis = await startRedisServer();
    try {
      hub = await startTestHub({
        broker: await RedisBroker.connect({ url: redis.url }),
        presence: await RedisPresenceStore.connect({ url: redis.url }),
        positionCheckInterval: 0,
      });
      const ws = await WsTestClient.connect(hub.wsUrl);
      await ws.request({ type: 'subscribe', channel: 'reused' });
      for (let i = 1; i <= 5; i++) await hub.server.hub.publish('reused', i);
      await ws.waitForMessages(5);
      const epoch = ws.messages()[0].epoch as string;
      const admin = adminClient(redis.url);
      await admin.connect();
      try {
        await loseTail(admin, 'herald:{reused}', 3);
        // Another node publishes meanwhile: offsets 4 and 5 again, other messages.
        const other = await RedisBroker.connect({ url: redis.url });
        await other.publish('reused', '"four again"');
        await other.publish('reused', '"five again"');
        await other.close();
        // The node's pub/sub connection drops and comes back (as after a Redis restart).
        await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
        await expect
          .poll(async () => (await admin.hGet('herald:{reused}:meta', 'epoch')) !== epoch, { timeout: 5000, interval: 50 })
          .toBe(true);
      } finally {
        admin.destroy();
      }
      const next = await hub.server.hub.publish('reused', 'six');
      await ws.frames.until((fs) => fs.some((f) => f.type === 'gap'), 'the epoch gap');
      await ws.waitForMessages(6);
      expect(ws.frames.items.filter((f) => f.type === 'gap')).toEqual([
        { type: 'gap', channel: 'reused', reason: 'epoch', requested: { epoch, offset: 5 }, resumed: { epoch: next.epoch, offset: 0 } },
      ]);
      expect(ws.messages().map((m) => m.data)).toEqual([1, 2, 3, 4, 5, 'six']);
      await ws.close();
    } finally {
      await hub?.close();
      hub = undefined;
      await redis.close();
    }
  });
});
