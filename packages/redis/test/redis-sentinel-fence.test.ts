import { startHeraldNode, startRedisSentinel, uniqueChannel, type HeraldNode, type TestRedisSentinel } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lostTail, settledLostTailProblems } from './redis-failover-helpers.js';

// A primary, two replicas, three sentinels (down after 1 s).
let sentinel: TestRedisSentinel;
const nodes: HeraldNode[] = [];
beforeAll(async () => {
  sentinel = await startRedisSentinel();
  for (let i = 0; i < 3; i++) nodes.push(await startHeraldNode({ engine: sentinel.url }));
}, 90_000);
afterAll(async () => {
  await Promise.allSettled(nodes.map((node) => node.stop(3000)));
  await sentinel.close();
});

describe('redis sentinel: the fence after a failover to a replica that lacks acknowledged messages', () => {
  it('every subscriber (live, or resuming from its cursor) gets an explicit gap, then the new messages; no offset is reused', async () => {
    const channel = uniqueChannel('sentinel-fence');
    const primary = await sentinel.primaryPort();
    const outcome = await lostTail(nodes.slice(0, 2), nodes[2]!, channel, {
      primary,
      // Both replicas miss the tail, so whichever the sentinels promote lacks it.
      replicas: sentinel.nodes.filter((n) => n.port !== primary),
      killPrimary: () => sentinel.nodes.find((n) => n.port === primary)!.kill(),
    });
    expect(await settledLostTailProblems(outcome)).toEqual([[], [], []]);
    for (const probe of outcome.probes) probe.client.close();
  }, 120_000);
});
