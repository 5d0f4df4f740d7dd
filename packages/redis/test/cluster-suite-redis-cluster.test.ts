import { runClusterSuite, startRedisCluster } from '@herald/testkit';

// The multi-node suite (packages/testkit/src/cluster-suite.ts: fan-out to every transport on other
// nodes, a rotating poller, concurrent publishers, a node SIGKILLed and one SIGTERMed behind nginx
// with SDK ledgers) on a real Redis Cluster of 3 primaries and 3 replicas. The ledgers are 3,000
// messages long here (10,000 on one Redis, cluster-failover.test.ts): the same checks, less CI time.
runClusterSuite({
  name: 'Redis Cluster (3 primaries, 3 replicas)',
  failoverMessages: 3000,
  timeouts: { setup: 90_000 },
  startEngine: async () => {
    const cluster = await startRedisCluster();
    return { engine: cluster.url, close: () => cluster.close() };
  },
});
