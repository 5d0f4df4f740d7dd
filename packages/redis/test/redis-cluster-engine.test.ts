import { randomBytes } from 'node:crypto';
import { RedisBroker, RedisPresenceStore, RedisRateLimitStore, RedisTicketStore, RedisWebhookQueue } from '@herald/redis';
import {
  eventually,
  redisCli,
  runEngineContract,
  runPresenceCountingContract,
  runWebhookQueueContract,
  startRedisCluster,
  type TestRedisCluster,
} from '@herald/testkit';
import type { BrokerMessage } from '@herald/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// One 6-process Redis Cluster (3 primaries, 3 replicas) for the whole file; a fresh prefix per store.
let cluster: TestRedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster.close();
});

const alice = {
  user: 'alice',
  authenticated: true,
  expiresAt: undefined,
  grants: { subscribe: [], publish: [], history: [], presence: [] },
};

const newPrefix = (): string => `herald-test:${randomBytes(6).toString('hex')}:`;

runEngineContract('redis cluster', async ({ historySize, historyTtl, clock }) => {
  const prefix = newPrefix();
  const broker = await RedisBroker.connect({ url: cluster.url, prefix, historySize, historyTtl, clock });
  const presence = await RedisPresenceStore.connect({ url: cluster.url, prefix, clock });
  return { broker, presence };
});

const prefixOf = new WeakMap<object, string>();
runPresenceCountingContract(
  'redis cluster',
  async () => {
    const prefix = newPrefix();
    const store = await RedisPresenceStore.connect({ url: cluster.url, prefix });
    prefixOf.set(store, prefix);
    return store;
  },
  async (store) => RedisPresenceStore.connect({ url: cluster.url, prefix: prefixOf.get(store)! }),
);

const queuePrefix = newPrefix();
runWebhookQueueContract(
  'redis cluster',
  (store) => RedisWebhookQueue.connect({ url: cluster.url, prefix: `${queuePrefix}${store}:`, leaseClock: 'caller' }),
  true,
);

describe('redis cluster: where things live', () => {
  it('spreads channels over the shards; live messages go over sharded pub/sub on the shard owning the channel', async () => {
    const prefix = newPrefix();
    const publisher = await RedisBroker.connect({ url: cluster.url, prefix });
    const subscriber = await RedisBroker.connect({ url: cluster.url, prefix });
    try {
      const got: BrokerMessage[] = [];
      subscriber.setHandler({ onMessage: (m) => got.push(m), onPresenceEvent: () => undefined });
      const channels = Array.from({ length: 12 }, (_, i) => `room-${i}`);
      for (const channel of channels) await subscriber.subscribe(channel);
      const owners = new Set<number>();
      for (const channel of channels) {
        const owner = await cluster.primaryOf(`{${channel}}`);
        owners.add(owner);
        const live = `${prefix}live:{${channel}}`;
        // Subscribed with SSUBSCRIBE on the owning shard, not with SUBSCRIBE anywhere.
        expect(await redisCli(owner, 'PUBSUB', 'SHARDNUMSUB', live)).toBe(`${live}\n1`);
        expect(await redisCli(owner, 'PUBSUB', 'NUMSUB', live)).toBe(`${live}\n0`);
        // The log is on the same shard: the channel's keys answer there without a redirection.
        await publisher.publish(channel, JSON.stringify({ channel }));
        expect(await redisCli(owner, 'EXISTS', `${prefix}{${channel}}:log`)).toBe('1');
      }
      expect(owners.size).toBe(3);
      await eventually(() => got.length >= channels.length, 'every live message');
      expect(got.map((m) => m.channel).sort()).toEqual([...channels].sort());
      for (const m of got) expect(JSON.parse(m.json)).toMatchObject({ offset: 1, data: { channel: m.channel } });
    } finally {
      await Promise.all([publisher.close(), subscriber.close()]);
    }
  });

  it('control messages reach every node (plain pub/sub is broadcast over the cluster)', async () => {
    const prefix = newPrefix();
    const nodes = await Promise.all([0, 1, 2].map(() => RedisBroker.connect({ url: cluster.url, prefix })));
    try {
      const got: string[][] = nodes.map(() => []);
      nodes.forEach((node, i) =>
        node.setHandler({ onMessage: () => undefined, onPresenceEvent: () => undefined, onControl: (p) => got[i]!.push(p) }),
      );
      await nodes[0]!.publishControl('hello');
      await eventually(() => got.every((g) => g.length > 0), 'the control message on every node');
      expect(got).toEqual([['hello'], ['hello'], ['hello']]);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('tickets, rate limits and presence indexes work across slots', async () => {
    const prefix = newPrefix();
    const tickets = await RedisTicketStore.connect({ url: cluster.url, prefix, limits: { perHolder: 2 } });
    const rates = await RedisRateLimitStore.connect({ url: cluster.url, prefix });
    const presence = await RedisPresenceStore.connect({ url: cluster.url, prefix });
    try {
      const a = await tickets.issue(alice);
      await tickets.issue(alice);
      await expect(tickets.issue(alice)).rejects.toMatchObject({ code: expect.any(String) as string });
      expect(await tickets.redeem(a.ticket)).toMatchObject({ user: 'alice' });
      expect(await tickets.redeem(a.ticket)).toBeUndefined();
      expect(await rates.take('u:alice', { perSecond: 1, burst: 1 })).toBe(0);
      expect(await rates.take('u:alice', { perSecond: 1, burst: 1 })).toBeGreaterThan(0);
      for (let i = 0; i < 20; i++) await presence.add(`ns${i % 4}:room-${i}`, { client: `c${i}`, user: `u${i}` });
      // Namespaces' indexes are on different shards: the SCAN covers every primary.
      expect((await presence.channels('')).filter((c) => c.startsWith('ns')).sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `ns${i % 4}:room-${i}`).sort(),
      );
      expect((await presence.channels('ns1:')).length).toBe(5);
    } finally {
      await presence.close();
      await Promise.all([tickets.close(), rates.close()]);
    }
  });
});
