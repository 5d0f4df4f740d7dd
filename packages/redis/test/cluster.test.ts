import { eventually, runClusterSuite, startCluster, startRedisServer } from '@herald/testkit';
import { describe, expect, it } from 'vitest';

// The multi-node suite's delivery cases (packages/testkit/src/cluster-suite.ts) on one test-owned
// redis-server; its failover cases run in cluster-failover.test.ts, in parallel with these.
runClusterSuite({
  name: 'one Redis',
  cases: 'delivery',
  startEngine: async () => {
    const redis = await startRedisServer();
    return { engine: redis.url, close: () => redis.close() };
  },
});

describe('/healthz follows Redis', () => {
  it('answers 200 while Redis is up, 503 (3001) while it is down, and 200 again once it is back', async () => {
    const redis = await startRedisServer();
    try {
      const cluster = await startCluster({ engine: redis.url, nodes: 1 });
      try {
        const health = async (): Promise<{ status: number; body: unknown }> => {
          const res = await fetch(`${cluster.nodes[0]!.url}/healthz`);
          return { status: res.status, body: await res.json() };
        };
        expect(await health()).toEqual({ status: 200, body: { status: 'ok' } });
        await redis.stop();
        expect(await eventually(health, (h) => h.status !== 200, 'a non-200 /healthz with Redis down', { intervalMs: 25 })).toEqual({
          status: 503,
          body: { error: { code: 3001, message: 'the engine is unreachable' } },
        });
        await redis.start();
        expect(await eventually(health, (h) => h.status === 200, '/healthz 200 once Redis is back', { intervalMs: 25 })).toEqual({
          status: 200,
          body: { status: 'ok' },
        });
      } finally {
        await cluster.close();
      }
    } finally {
      await redis.close();
    }
  });
});
