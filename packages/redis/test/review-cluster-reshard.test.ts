import { RedisBroker } from '@herald/redis';
import type { BrokerMessage } from '@herald/server';
import { startRedisCluster, uniqueChannel, type TestRedisCluster } from '@herald/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, moveSlot } from './slot-move-helpers.js';

// 3 primaries, no replicas: a resharding, no failover anywhere.
let cluster: TestRedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ replicasPerPrimary: 0 });
}, 60_000);
afterAll(async () => {
  await cluster.close();
});

it('a channel whose slot moved to another primary keeps its epoch, its history and its offsets (MIGRATE is no failover)', async () => {
  const broker = await RedisBroker.connect({ url: cluster.url, prefix: 'reshard:', historySize: 100, historyTtl: 0 });
  try {
    const channel = uniqueChannel('reshard');
    const published: BrokerMessage[] = [];
    for (let i = 1; i <= 3; i++) published.push(await broker.publish(channel, JSON.stringify(i)));
    const before = await broker.read(channel);
    expect(before.position).toEqual({ epoch: published[0]!.epoch, offset: 3 });

    const move = await moveSlot(cluster, `reshard:{${channel}}:meta`);
    expect(await cluster.primaryOf(`reshard:{${channel}}:meta`)).toBe(move.to);

    for (let i = 4; i <= 6; i++) published.push(await eventually(() => broker.publish(channel, JSON.stringify(i))));
    const after = await broker.read(channel);
    expect(published.map((m) => [m.epoch, m.offset])).toEqual([1, 2, 3, 4, 5, 6].map((offset) => [before.position.epoch, offset]));
    expect(after.position).toEqual({ epoch: before.position.epoch, offset: 6 });
    expect(after.messages.map((m) => [m.offset, (JSON.parse(m.json) as { data: unknown }).data])).toEqual(
      [1, 2, 3, 4, 5, 6].map((i) => [i, i]),
    );

    // And back again: the re-stamped meta moves as well as the first time.
    await moveSlot(cluster, `reshard:{${channel}}:meta`);
    await eventually(() => broker.publish(channel, '7'));
    const back = await broker.read(channel);
    expect(back.position).toEqual({ epoch: before.position.epoch, offset: 7 });
    expect(back.messages).toHaveLength(7);
  } finally {
    await broker.close();
  }
}, 60_000);
