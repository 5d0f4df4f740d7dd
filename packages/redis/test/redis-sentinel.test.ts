import { randomBytes } from 'node:crypto';
import { createClient } from '@redis/client';
import { RedisBroker, RedisPresenceStore, RedisWebhookQueue } from '@herald/redis';
import {
  runEngineContract,
  runPresenceCountingContract,
  runWebhookQueueContract,
  startHeraldNode,
  startProbe,
  startRedisSentinel,
  uniqueChannel,
  type HeraldNode,
  type SdkProbe,
  type TestRedisSentinel,
} from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('the nodes follow the new primary; refusals come at once; every subscriber ends with every acknowledged message once, in order, or an explicit gap; the log holds each message once', async () => {
    for (let i = 0; i < 2; i++) nodes.push(await startHeraldNode({ engine: sentinel.url, args: ['--history-size', '20000'] }));
    const channel = uniqueChannel('sentinel-failover');
    const probes: SdkProbe[] = [];
    for (const node of nodes) probes.push(await startProbe(node.url, 'websocket', channel));
    const attempts: Attempt[] = [];
    /** How long each publish took to be answered, in ms, by `n`. */
    const took = new Map<number, number>();
    const acked = (): number => attempts.filter((a) => 'ack' in a).length;
    let failover: Promise<{ old: number; now: number }> | undefined;
    const started = Date.now();
    const timedPublish = async (url: string, n: number): Promise<Attempt> => {
      const sent = performance.now();
      const attempt = await tryPublish(url, channel, n);
      took.set(n, performance.now() - sent);
      return attempt;
    };
    for (let n = 0; n < 20_000 && Date.now() - started < 90_000; n += 4) {
      const batch = await Promise.all([0, 1, 2, 3].map((i) => timedPublish(nodes[(n + i) % 2]!.url, n + i)));
      attempts.push(...batch);
      if (failover === undefined && acked() >= 300) failover = sentinel.killPrimary();
      else if (failover !== undefined && acked() >= 900) break;
      if (batch.some((a) => 'refused' in a)) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const { old, now } = await failover!;
    expect(now).not.toBe(old);
    const refused = attempts.filter((a) => 'refused' in a);
    expect(acked()).toBeGreaterThanOrEqual(900);
    for (const r of refused) if ('refused' in r) expect(r.refused).toMatch(/^503 /);
    // No primary means a refusal at once (not a publish held until one is found): at least one
    // quick 503, and no publish waits as long as the command timeout (5 s).
    const slowest = Math.max(...took.values());
    const quick503 = refused.filter((r) => took.get(r.n)! < 1000).length;
    expect(quick503).toBeGreaterThan(0);
    expect(slowest).toBeLessThan(5000);
    const check = (): string[][] => probes.map((p) => failoverProblems(p.messages.items, p.gaps, attempts));
    const deadline = Date.now() + 20_000;
    while (check().some((p) => p.length > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(check()).toEqual([[], []]);
    // The channel's log on the new primary (the epoch started there: what the promoted replica had
    // of the old one was dropped): each message once (nothing sent twice), every publish
    // acknowledged in this epoch at its offset.
    const stored = await readLog(now, `herald:{${channel}}:log`);
    const storedNs = stored.map((m) => m.n);
    expect(new Set(storedNs).size).toBe(storedNs.length);
    // A 503 means "not known to be stored": one whose command reached Redis and lost its answer may
    // be stored, once (the uniqueness above); counted for the log.
    const refusedStored = refused.filter((r) => storedNs.includes(r.n));
    const logEpoch = stored[0]?.epoch;
    const ackedHere = attempts.flatMap((a) => ('ack' in a && a.ack.epoch === logEpoch ? [`${a.ack.offset}:${a.n}`] : []));
    expect(ackedHere.length).toBeGreaterThan(0);
    expect(stored.map((m) => `${m.offset}:${m.n}`)).toEqual(expect.arrayContaining(ackedHere));
    const epochs = new Set(attempts.flatMap((a) => ('ack' in a ? [a.ack.epoch] : [])));
    console.info(
      `sentinel failover: ${attempts.length} publishes, ${refused.length} refused (${refusedStored.length} of them stored, ${quick503} within 1 s, slowest publish ${Math.round(slowest)} ms), ${stored.length} in the new log, ${epochs.size} epochs, gaps ${JSON.stringify(probes.map((p) => p.gaps.map((g) => g.reason)))}, ${Date.now() - started} ms`,
    );
    for (const probe of probes) probe.client.close();
  }, 150_000);
});

/** Every entry of a channel's log stream on the Redis at `port`: its offset, epoch and `data.n`. */
async function readLog(port: number, key: string): Promise<{ offset: number; epoch: string; n: number }[]> {
  const client = createClient({ socket: { host: '127.0.0.1', port } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const entries = await client.xRange(key, '-', '+');
    return (entries ?? []).map(({ message }) => {
      const envelope = JSON.parse(message['j']!) as { offset: number; epoch: string; data: { n: number } };
      return { offset: envelope.offset, epoch: envelope.epoch, n: envelope.data.n };
    });
  } finally {
    client.destroy();
  }
}
