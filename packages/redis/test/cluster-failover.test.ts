import { runClusterSuite, startRedisServer } from '@herald/testkit';

// The multi-node suite's failover cases (packages/testkit/src/cluster-suite.ts: a node SIGKILLed,
// then one SIGTERMed, behind nginx while 10,000 messages are published) on one test-owned
// redis-server; its delivery cases run in cluster.test.ts.
runClusterSuite({
  name: 'one Redis',
  cases: 'failover',
  startEngine: async () => {
    const redis = await startRedisServer();
    return { engine: redis.url, close: () => redis.close() };
  },
});
