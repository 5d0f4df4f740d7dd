import { RedisBroker } from '@herald/redis';
import type { BrokerMessage } from '@herald/server';
import { startRedisCluster, uniqueChannel, type TestRedisCluster } from '@herald/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';

// 3 primaries + 3 replicas.
let cluster: TestRedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 90_000);
afterAll(async () => {
  await cluster.close();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

it('subscribing and unsubscribing (the last subscription of a shard going away) reports no live reset', async () => {
  const broker = await RedisBroker.connect({ url: cluster.url, prefix: 'churn:' });
  try {
    let resets = 0;
    broker.setHandler({ onMessage: () => {}, onPresenceEvent: () => {}, onLiveReset: () => resets++ });
    const channels = [0, 1, 2, 3, 4, 5].map(() => uniqueChannel('churn'));
    for (let round = 0; round < 4; round++) {
      for (const channel of channels) await broker.subscribe(channel);
      for (const channel of channels) await broker.unsubscribe(channel);
      await sleep(250);
    }
    await sleep(500);
    expect(resets).toBe(0);
    expect(broker.isAvailable()).toBe(true);
  } finally {
    await broker.close();
  }
}, 60_000);

it('a shard failover still reports a live reset, and live messages come again', async () => {
  const broker = await RedisBroker.connect({ url: cluster.url, prefix: 'churn:', historySize: 100, historyTtl: 0 });
  try {
    let resets = 0;
    const live: BrokerMessage[] = [];
    broker.setHandler({ onMessage: (message) => live.push(message), onPresenceEvent: () => {}, onLiveReset: () => resets++ });
    const channel = uniqueChannel('churn-failover');
    await broker.subscribe(channel);
    await broker.publish(channel, '1');
    const primary = await cluster.primaryOf(`churn:live:{${channel}}`);
    await cluster.nodes.find((node) => node.port === primary)!.kill();
    const deadline = Date.now() + 30_000;
    while (resets === 0 && Date.now() < deadline) await sleep(100);
    expect(resets).toBeGreaterThanOrEqual(1);
    let published = false;
    while (!published && Date.now() < deadline)
      published = await broker.publish(channel, '2').then(
        () => true,
        () => sleep(200).then(() => false),
      );
    while (!live.some((m) => m.offset >= 1 && m.json.includes('"data":2')) && Date.now() < deadline) await sleep(50);
    expect(live.some((m) => m.json.includes('"data":2'))).toBe(true);
  } finally {
    await broker.close();
  }
}, 90_000);
