import { RedisBroker } from '@herald/redis';
import type { BrokerMessage } from '@herald/server';
import { startRedisCluster, uniqueChannel, type TestRedisCluster } from '@herald/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, moveSlot } from './slot-move-helpers.js';

let cluster: TestRedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ replicasPerPrimary: 0 });
}, 60_000);
afterAll(async () => {
  await cluster.close();
});

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return check();
}

it('live messages keep coming after a slot move whose first re-subscribe got MOVED (the destination was still importing)', async () => {
  const broker = await RedisBroker.connect({ url: cluster.url, prefix: 'resub:', historySize: 100, historyTtl: 0 });
  try {
    const channel = uniqueChannel('resub');
    const live: BrokerMessage[] = [];
    let resets = 0;
    broker.setHandler({ onMessage: (message) => live.push(message), onPresenceEvent: () => {}, onLiveReset: () => resets++ });
    await broker.subscribe(channel);
    await broker.publish(channel, '1');
    expect(await until(() => live.length === 1, 5000)).toBe(true);

    // The source gives the slot away first: it drops its sharded subscribers, whose one re-subscribe
    // by node-redis goes to the destination while that one still answers MOVED (importing), for 1 s.
    await moveSlot(cluster, `resub:live:{${channel}}`, { sourceFirst: 1000 });
    await eventually(() => broker.publish(channel, '2'));
    // Subscribed again (with retries), then a live reset so the hub checks what it may have missed.
    expect(await until(() => resets >= 1, 15_000)).toBe(true);
    await broker.publish(channel, '3');
    expect(await until(() => live.some((m) => m.offset === 3), 5000)).toBe(true);
  } finally {
    await broker.close();
  }
}, 60_000);
