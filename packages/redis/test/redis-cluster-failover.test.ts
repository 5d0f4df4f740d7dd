import { startHeraldNode, startRedisCluster, type HeraldNode, type TestRedisCluster } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbe, uniqueChannel, type SdkProbe } from './cluster-helpers.js';
import { failoverProblems, tryPublish, type Attempt } from './redis-failover-helpers.js';

let cluster: TestRedisCluster;
const nodes: HeraldNode[] = [];
beforeAll(async () => {
  cluster = await startRedisCluster();
  for (let i = 0; i < 2; i++) nodes.push(await startHeraldNode({ engine: cluster.url, args: ['--history-size', '20000'] }));
}, 90_000);
afterAll(async () => {
  await Promise.allSettled(nodes.map((node) => node.stop(3000)));
  await cluster.close();
});

describe('redis cluster: a primary killed (SIGKILL) while two Herald nodes publish', () => {
  it('every subscriber ends with every acknowledged message once, in order, or an explicit gap; publishes are acknowledged or refused', async () => {
    const channel = uniqueChannel('shard-failover');
    const victimPort = await cluster.primaryOf(`{${channel}}`);
    const victim = cluster.nodes.find((n) => n.port === victimPort)!;
    const probes: SdkProbe[] = [];
    for (const node of nodes) probes.push(await startProbe(node.url, 'websocket', channel));
    const attempts: Attempt[] = [];
    const acked = (): number => attempts.filter((a) => 'ack' in a).length;
    let killedAt = -1;
    const started = Date.now();
    // 4 publishes in flight, alternating between the nodes; the primary dies after 300 acks, then
    // publishing goes on until 600 more are acknowledged (bounded by attempts and time).
    for (let n = 0; n < 20_000 && Date.now() - started < 60_000; n += 4) {
      const batch = await Promise.all([0, 1, 2, 3].map((i) => tryPublish(nodes[(n + i) % 2]!.url, channel, n + i)));
      attempts.push(...batch);
      if (killedAt < 0 && acked() >= 300) {
        killedAt = attempts.length;
        await victim.kill();
      } else if (killedAt >= 0 && acked() >= 900) break;
      // While the shard has no primary, publishes are refused at once: do not spin.
      if (batch.some((a) => 'refused' in a)) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const refused = attempts.filter((a) => 'refused' in a);
    expect(acked()).toBeGreaterThanOrEqual(900);
    // Every refusal is the hub's 503 (Redis did not store, or did not answer in time), or a
    // timeout: never an acknowledgement of something not stored.
    for (const r of refused) if ('refused' in r) expect(r.refused).toMatch(/^503 |timeout|aborted/i);
    const check = (): string[][] => probes.map((p) => failoverProblems(p.messages.items, p.gaps, attempts));
    const deadline = Date.now() + 20_000;
    while (check().some((p) => p.length > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(check()).toEqual([[], []]);
    const epochs = new Set(attempts.flatMap((a) => ('ack' in a ? [a.ack.epoch] : [])));
    console.info(
      `shard failover: ${attempts.length} publishes, ${refused.length} refused, ${epochs.size} epochs, gaps ${JSON.stringify(probes.map((p) => p.gaps.map((g) => g.reason)))}, ${Date.now() - started} ms`,
    );
    for (const probe of probes) probe.client.close();
  }, 120_000);
});
