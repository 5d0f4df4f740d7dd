import { startHeraldNode, startRedisCluster, uniqueChannel, type HeraldNode, type TestRedisCluster } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tryPublish, type Attempt } from './redis-failover-helpers.js';

let cluster: TestRedisCluster;
const nodes: HeraldNode[] = [];
beforeAll(async () => {
  cluster = await startRedisCluster();
  for (let i = 0; i < 2; i++) nodes.push(await startHeraldNode({ engine: cluster.url }));
}, 90_000);
afterAll(async () => {
  await Promise.allSettled(nodes.map((node) => node.stop(3000)));
  await cluster.close();
});

const readyz = async (url: string): Promise<number> => {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) })).status;
  } catch {
    return 0;
  }
};

describe('redis cluster: readiness while one shard fails over', () => {
  it('/readyz stays 200; other shards take publishes; the failed shard refuses (503) until its replica took over', async () => {
    const failing = uniqueChannel('readiness-failing');
    const victimPort = await cluster.primaryOf(`{${failing}}`);
    let other = uniqueChannel('readiness-other');
    for (let i = 0; i < 100 && (await cluster.primaryOf(`{${other}}`)) === victimPort; i++) other = uniqueChannel('readiness-other');
    expect(await cluster.primaryOf(`{${other}}`)).not.toBe(victimPort);
    for (const node of nodes) expect(await readyz(node.url)).toBe(200);
    await cluster.nodes.find((n) => n.port === victimPort)!.kill();
    const statuses: number[] = [];
    const onFailing: Attempt[] = [];
    const onOther: Attempt[] = [];
    const started = Date.now();
    // Until the failed shard takes publishes again (30 s at most).
    for (let n = 0; Date.now() - started < 30_000; n++) {
      const node = nodes[n % 2]!;
      const [status, a, b] = await Promise.all([readyz(node.url), tryPublish(node.url, failing, n), tryPublish(node.url, other, n)]);
      statuses.push(status);
      onFailing.push(a);
      onOther.push(b);
      if ('ack' in a) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const refused = onFailing.filter((a) => 'refused' in a);
    console.info(
      `shard failover: ${onFailing.length} rounds in ${Date.now() - started} ms, ${refused.length} refused on the failed shard, readyz ${JSON.stringify([...new Set(statuses)])}`,
    );
    expect('ack' in onFailing.at(-1)!).toBe(true);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) if ('refused' in r) expect(r.refused).toMatch(/^503 /);
    expect(onOther.filter((a) => 'refused' in a)).toEqual([]);
    expect(statuses.every((s) => s === 200)).toBe(true);
  }, 90_000);
});
