import { runClusterSuite, startNatsCluster } from '@herald/testkit';

// The multi-node suite (packages/testkit/src/cluster-suite.ts: fan-out to every transport on other
// nodes, a rotating poller, concurrent publishers, a node SIGKILLed and one SIGTERMed behind nginx
// with SDK ledgers) on a real NATS cluster of 3 servers, the stream and buckets with 3 replicas,
// every hub started with `--engine nats://a,b,c?replicas=3`. The ledgers are 3,000 messages long
// here (10,000 on one Redis, cluster-failover.test.ts): the same checks, less CI time.
runClusterSuite({
  name: 'NATS JetStream (3 servers, R3)',
  failoverMessages: 3000,
  timeouts: { setup: 90_000 },
  startEngine: async () => {
    const cluster = await startNatsCluster({ servers: 3 });
    return { engine: `${cluster.url}?replicas=3`, close: () => cluster.close() };
  },
});
