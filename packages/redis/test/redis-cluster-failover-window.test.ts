import { ErrorCode } from '@herald/protocol';
import { RedisAckStore, RedisBroker, RedisPresenceStore } from '@herald/redis';
import {
  redisCli,
  startRedisCluster,
  startTestHub,
  uniqueChannel,
  WsTestClient,
  type TestHub,
  type TestRedisCluster,
} from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// One hub (in this process: its broker, presence and ack store each have their own cluster client)
// on a cluster of 3 primaries with a replica each.
let cluster: TestRedisCluster;
let hub: TestHub;
const clients: WsTestClient[] = [];
beforeAll(async () => {
  cluster = await startRedisCluster();
  hub = await startTestHub({
    broker: await RedisBroker.connect({ url: cluster.url }),
    presence: await RedisPresenceStore.connect({ url: cluster.url }),
    ackStore: await RedisAckStore.connect({ url: cluster.url }),
  });
}, 90_000);
afterAll(async () => {
  await Promise.allSettled(clients.map((client) => client.close()));
  await hub?.close();
  await cluster?.close();
});

/** One request of the stream: when it was sent (ms, performance.now()) and its error code, if any. */
interface Outcome {
  readonly at: number;
  readonly type: string;
  /** How long its reply took. */
  readonly ms: number;
  readonly code: number | undefined;
}

describe('redis cluster: the moments after a replica took over a killed primary', () => {
  it('subscribes and publishes on the failed shard are refused with 3001 only while it has no primary, not while the node’s connections find the new one', async () => {
    const channel = uniqueChannel('failover-window');
    const victimPort = await cluster.primaryOf(`{${channel}}`);
    const replicaPort = (await cluster.replicasOf(victimPort))[0]!;

    // A steady stream on one node: two clients subscribe (a presence member added) and unsubscribe,
    // two publish, one request at a time each.
    const outcomes: Outcome[] = [];
    let streaming = true;
    const worker = async (publishing: boolean): Promise<void> => {
      const ws = await WsTestClient.connect(hub.wsUrl);
      clients.push(ws);
      const send = async (command: Record<string, unknown>): Promise<boolean> => {
        const at = performance.now();
        const reply = await ws.request(command, 10_000);
        outcomes.push({ at, type: command.type as string, ms: performance.now() - at, code: reply.error?.code });
        return reply.error === undefined;
      };
      while (streaming) {
        if (!publishing) {
          if (await send({ type: 'subscribe', channel })) await send({ type: 'unsubscribe', channel });
        } else await send({ type: 'publish', channel, data: 'x' });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const workers = [worker(false), worker(false), worker(true), worker(true)];
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(outcomes.filter((o) => o.code !== undefined)).toEqual([]);

    await cluster.nodes.find((n) => n.port === victimPort)!.kill();
    const killedAt = performance.now();
    // The moment the replica says it is the primary (its ROLE, asked every 10 ms).
    let promotedAt = 0;
    while (promotedAt === 0 && performance.now() - killedAt < 30_000) {
      if ((await redisCli(replicaPort, 'ROLE').catch(() => '')).startsWith('master')) promotedAt = performance.now();
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(promotedAt).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    streaming = false;
    await Promise.all(workers);

    // Refusals answered `ms` or more after the election.
    const refusedAfter = (ms: number): number => outcomes.filter((o) => o.at + o.ms >= promotedAt + ms && o.code !== undefined).length;
    const during = outcomes.filter((o) => o.at >= killedAt && o.at < promotedAt);
    console.info(
      `failover window: promoted ${Math.round(promotedAt - killedAt)} ms after the kill; ${during.filter((o) => o.code !== undefined).length}/${during.length} refused before; ` +
        `refusals answered after the election: ${refusedAfter(0)} (${refusedAfter(100)} ≥ 100 ms after, ${refusedAfter(300)} ≥ 300 ms after, last ${Math.round(Math.max(0, ...outcomes.filter((o) => o.code !== undefined).map((o) => o.at + o.ms - promotedAt)))} ms after); ${outcomes.filter((o) => o.at >= promotedAt).length} requests sent after`,
    );
    // Whatever was refused was refused as the engine being unavailable.
    for (const o of outcomes) if (o.code !== undefined) expect(o.code).toBe(ErrorCode.Unavailable);
    // Every connection of the node follows the new primary within moments of its election: the
    // first one that sees it has the others refresh, a command that could not be sent is sent
    // again after a refresh (about 0.5–2 s per connection before, each on its own).
    expect(refusedAfter(300)).toBe(0);
    // And the shard serves again.
    expect(outcomes.filter((o) => o.at >= promotedAt + 300).length).toBeGreaterThan(30);
  }, 120_000);
});
