import { runClusterSuite, startRedisSentinel } from '@herald/testkit';

// The multi-node suite (packages/testkit/src/cluster-suite.ts) on Redis Sentinel: a primary, its
// replicas and three sentinels, the nodes connected through the sentinels. The ledgers are 3,000
// messages long here (10,000 on one Redis, cluster-failover.test.ts): the same checks, less CI time.
runClusterSuite({
  name: 'Redis Sentinel (a primary, replicas, 3 sentinels)',
  failoverMessages: 3000,
  timeouts: { setup: 90_000 },
  startEngine: async () => {
    const sentinel = await startRedisSentinel();
    return { engine: sentinel.url, close: () => sentinel.close() };
  },
});
