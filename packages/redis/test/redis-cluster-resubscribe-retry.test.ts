import { RedisBroker } from '@herald/redis';
import type { BrokerMessage, Logger } from '@herald/server';
import { eventually, redisCli, startRedisCluster, uniqueChannel, type TestRedisCluster } from '@herald/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';

let cluster: TestRedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 90_000);
afterAll(async () => {
  await cluster.close();
});

interface Entry {
  readonly level: string;
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

function capturingLogger(entries: Entry[]): Logger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      entries.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

it('a sharded channel whose re-subscribe after a failover is refused is subscribed again with retries; past them the node is not ready until it is', async () => {
  const prefix = 'resubfail:';
  const channel = uniqueChannel('resub-refused');
  const victimPort = await cluster.primaryOf(`{${channel}}`);
  const replicaPort = (await cluster.replicasOf(victimPort))[0]!;
  // The subscriber's user may use every channel on every node but the victim's replica, where only
  // the control channel is allowed (ACLs are per node, not replicated): once the replica took
  // over, subscribing the channel there is refused (NOPERM) until the test allows it.
  for (const node of cluster.nodes) await redisCli(node.port, 'ACL', 'SETUSER', 'sub', 'on', '>subpw', '~*', 'allchannels', '+@all');
  await redisCli(replicaPort, 'ACL', 'SETUSER', 'sub', 'resetchannels', `&${prefix}control`);

  const entries: Entry[] = [];
  const subscriber = await RedisBroker.connect({
    url: cluster.url.replace('redis-cluster://', 'redis-cluster://sub:subpw@'),
    prefix,
    logger: capturingLogger(entries),
  });
  const publisher = await RedisBroker.connect({ url: cluster.url, prefix });
  try {
    const live: BrokerMessage[] = [];
    let resets = 0;
    subscriber.setHandler({ onMessage: (message) => live.push(message), onPresenceEvent: () => {}, onLiveReset: () => resets++ });
    publisher.setHandler({ onMessage: () => {}, onPresenceEvent: () => {} });
    await subscriber.subscribe(channel);
    await publisher.publish(channel, '1');
    await eventually(() => live.length === 1, 'the first live message', { timeoutMs: 5000, intervalMs: 50 });

    await cluster.nodes.find((n) => n.port === victimPort)!.kill();
    // Every attempt is refused: after them (about 30 s) an error, and the node is not ready.
    const failed = (): boolean =>
      entries.some((e) => e.obj.code === 'redis-resubscribe-failed' && e.obj.channel === `${prefix}live:{${channel}}`);
    await eventually(failed, 'the re-subscription to fail', { timeoutMs: 60_000, intervalMs: 50 });
    expect(subscriber.isAvailable()).toBe(false);
    expect(resets).toBe(0);

    // Allowed: the next attempt (within 2 s) subscribes it; the node is ready again and the hub is
    // told that live messages may have been missed.
    await redisCli(replicaPort, 'ACL', 'SETUSER', 'sub', 'allchannels');
    await eventually(() => subscriber.isAvailable() && resets >= 1, 'the broker available again, after a live reset', {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    expect(entries.find((e) => e.msg === 'redis channel subscribed again after its shard changed')?.obj.attempts).toBeGreaterThan(20);
    const message = await publisher.publish(channel, '2');
    await eventually(
      () => live.some((m) => m.epoch === message.epoch && m.offset === message.offset),
      'the message published after the re-subscription',
      { timeoutMs: 5000, intervalMs: 50 },
    );
  } finally {
    await Promise.allSettled([subscriber.close(), publisher.close()]);
  }
}, 120_000);
