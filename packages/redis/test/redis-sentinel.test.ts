import { randomBytes } from 'node:crypto';
import { RedisBroker, RedisPresenceStore, RedisWebhookQueue } from '@herald/redis';
import {
  runEngineContract,
  runPresenceCountingContract,
  runWebhookQueueContract,
  startHeraldNode,
  startRedisSentinel,
  type HeraldNode,
  type TestRedisSentinel,
} from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbe, uniqueChannel, type SdkProbe } from './cluster-helpers.js';
import { failoverProblems, tryPublish, type Attempt } from './redis-failover-helpers.js';

// A primary, two replicas and three sentinels for the whole file; a fresh prefix per store.
let sentinel: TestRedisSentinel;
beforeAll(async () => {
  sentinel = await startRedisSentinel();
}, 60_000);
afterAll(async () => {
  await sentinel.close();
});

const newPrefix = (): string => `herald-test:${randomBytes(6).toString('hex')}:`;

runEngineContract('redis sentinel', async ({ historySize, historyTtl, clock }) => {
  const prefix = newPrefix();
  const broker = await RedisBroker.connect({ url: sentinel.url, prefix, historySize, historyTtl, clock });
  const presence = await RedisPresenceStore.connect({ url: sentinel.url, prefix, clock });
  return { broker, presence };
});

const prefixOf = new WeakMap<object, string>();
runPresenceCountingContract(
  'redis sentinel',
  async () => {
    const prefix = newPrefix();
    const store = await RedisPresenceStore.connect({ url: sentinel.url, prefix });
    prefixOf.set(store, prefix);
    return store;
  },
  async (store) => RedisPresenceStore.connect({ url: sentinel.url, prefix: prefixOf.get(store)! }),
);

const queuePrefix = newPrefix();
runWebhookQueueContract(
  'redis sentinel',
  (store) => RedisWebhookQueue.connect({ url: sentinel.url, prefix: `${queuePrefix}${store}:`, leaseClock: 'caller' }),
  true,
);

// Last in the file: it kills the primary.
describe('redis sentinel: the primary killed (SIGKILL) while two Herald nodes publish', () => {
  const nodes: HeraldNode[] = [];
  afterAll(async () => {
    await Promise.allSettled(nodes.map((node) => node.stop(3000)));
  });

  it('the nodes follow the new primary; every subscriber ends with every acknowledged message once, in order, or an explicit gap', async () => {
    for (let i = 0; i < 2; i++) nodes.push(await startHeraldNode({ engine: sentinel.url, args: ['--history-size', '20000'] }));
    const channel = uniqueChannel('sentinel-failover');
    const probes: SdkProbe[] = [];
    for (const node of nodes) probes.push(await startProbe(node.url, 'websocket', channel));
    const attempts: Attempt[] = [];
    const acked = (): number => attempts.filter((a) => 'ack' in a).length;
    let failover: Promise<{ old: number; now: number }> | undefined;
    const started = Date.now();
    for (let n = 0; n < 20_000 && Date.now() - started < 90_000; n += 4) {
      const batch = await Promise.all([0, 1, 2, 3].map((i) => tryPublish(nodes[(n + i) % 2]!.url, channel, n + i)));
      attempts.push(...batch);
      if (failover === undefined && acked() >= 300) failover = sentinel.killPrimary();
      else if (failover !== undefined && acked() >= 900) break;
      if (batch.some((a) => 'refused' in a)) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const { old, now } = await failover!;
    expect(now).not.toBe(old);
    const refused = attempts.filter((a) => 'refused' in a);
    expect(acked()).toBeGreaterThanOrEqual(900);
    for (const r of refused) if ('refused' in r) expect(r.refused).toMatch(/^503 |timeout|aborted/i);
    const check = (): string[][] => probes.map((p) => failoverProblems(p.messages.items, p.gaps, attempts));
    const deadline = Date.now() + 20_000;
    while (check().some((p) => p.length > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(check()).toEqual([[], []]);
    const epochs = new Set(attempts.flatMap((a) => ('ack' in a ? [a.ack.epoch] : [])));
    console.info(
      `sentinel failover: ${attempts.length} publishes, ${refused.length} refused, ${epochs.size} epochs, gaps ${JSON.stringify(probes.map((p) => p.gaps.map((g) => g.reason)))}, ${Date.now() - started} ms`,
    );
    for (const probe of probes) probe.client.close();
  }, 150_000);
});
