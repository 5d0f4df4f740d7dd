import { startHeraldNode, startRedisCluster, uniqueChannel, type HeraldNode, type TestRedisCluster } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lostTail, settledLostTailProblems } from './redis-failover-helpers.js';

// 3 primaries + 3 replicas (cluster-replica-validity-factor 0: a stale replica may still be elected).
let cluster: TestRedisCluster;
const nodes: HeraldNode[] = [];
beforeAll(async () => {
  cluster = await startRedisCluster();
  for (let i = 0; i < 3; i++) nodes.push(await startHeraldNode({ engine: cluster.url }));
}, 90_000);
afterAll(async () => {
  await Promise.allSettled(nodes.map((node) => node.stop(3000)));
  await cluster.close();
});

describe('redis cluster: the fence after a failover to a replica that lacks acknowledged messages', () => {
  // Not retried: the subscriber resuming from its cursor subscribes right after the failover, when
  // one of its node's Redis connections (presence, say) may not have found the new primary yet and
  // the hub refuses the subscribe with 3001; the SDK subscribes it again after a backoff (once, it
  // ended the subscription there: about one run in four failed). subscribe-unavailable.test.ts in
  // packages/client pins that down deterministically.
  it(
    'every subscriber (live, or resuming from its cursor) gets an explicit gap, then the new messages; no offset is reused',
    { timeout: 120_000 },
    async () => {
      // A channel on a shard that has exactly one live replica (the one the failover promotes).
      let channel = '';
      let primary = 0;
      let replicas: typeof cluster.nodes = [];
      for (let tries = 0; tries < 50 && replicas.length !== 1; tries++) {
        channel = uniqueChannel('cluster-fence');
        primary = await cluster.primaryOf(`{${channel}}`);
        const replicaPorts = await cluster.replicasOf(primary);
        replicas = cluster.nodes.filter((n) => replicaPorts.includes(n.port));
      }
      expect(replicas).toHaveLength(1);
      const outcome = await lostTail(nodes.slice(0, 2), nodes[2]!, channel, {
        primary,
        replicas,
        killPrimary: () => cluster.nodes.find((n) => n.port === primary)!.kill(),
      });
      expect(await settledLostTailProblems(outcome)).toEqual([[], [], []]);
      for (const probe of outcome.probes) probe.client.close();
    },
  );
});
