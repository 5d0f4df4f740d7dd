import { NatsBroker, NatsPresenceStore, NatsTicketStore } from '@herald/nats';
import { startNatsCluster, type TestNatsCluster } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPrefix } from './nats-helpers.js';

describe('NATS engine on a 3-server cluster, stream and buckets R3: start-up and compare-and-set races', () => {
  let cluster: TestNatsCluster;
  beforeAll(async () => {
    cluster = await startNatsCluster({ servers: 3 });
  }, 60_000);
  afterAll(() => cluster.close());

  it('three nodes starting at once on a fresh prefix (R3) all connect: the stream and buckets are created once, the others wait for their leaders', async () => {
    const prefix = testPrefix();
    const common = { url: cluster.url, prefix, replicas: 3 };
    const nodes = await Promise.all(
      [0, 1, 2].map(async () => [
        await NatsBroker.connect(common),
        await NatsPresenceStore.connect(common),
        await NatsTicketStore.connect(common),
      ]),
    );
    try {
      const [a, b] = [nodes[0]![0] as NatsBroker, nodes[1]![0] as NatsBroker];
      const first = await a.publish('start', '1');
      expect(await b.publish('start', '2')).toMatchObject({ epoch: first.epoch, offset: 2 });
    } finally {
      for (const node of nodes) for (const store of node) await store.close();
    }
  }, 60_000);

  it('races between nodes are serialised (nats-server 2.9 does not serialise expected-sequence writes in flight on a cluster): 200 ticket issues for one user get exactly 16; 20 retries of one keyed publish store it once; 20 first members are counted once', async () => {
    const prefix = testPrefix();
    const common = { url: cluster.url, prefix, replicas: 3 };
    const tickets = [await NatsTicketStore.connect(common), await NatsTicketStore.connect(common)];
    const brokers = [await NatsBroker.connect(common), await NatsBroker.connect(common)];
    const presence = [await NatsPresenceStore.connect(common), await NatsPresenceStore.connect(common)];
    try {
      const mallory = {
        user: 'mallory',
        authenticated: true,
        expiresAt: undefined,
        grants: { subscribe: [], publish: [], history: [], presence: [] },
      };
      const issued = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => tickets[i % 2]!.issue(mallory)));
      expect(issued.filter((r) => r.status === 'fulfilled')).toHaveLength(16);

      const key = { idempotencyKey: 'k', idempotencyTtl: 60, fingerprint: 'f' };
      const published = await Promise.all(Array.from({ length: 20 }, (_, i) => brokers[i % 2]!.publish('keyed', '"once"', key)));
      expect(published.filter((r) => !('duplicate' in r))).toHaveLength(1);
      expect((await brokers[0]!.read('keyed')).messages).toHaveLength(1);

      const adds = await Promise.all(
        Array.from({ length: 20 }, (_, i) => presence[i % 2]!.addCounting('room', { client: `c${i}`, user: 'alice' }, 'u:alice')),
      );
      expect(adds.filter((count) => count.channelMembers === 1)).toHaveLength(1);
      expect(Math.max(...adds.map((count) => count.channelMembers))).toBe(20);
      for (let i = 0; i < 20; i++) await presence[i % 2]!.removeCounting('room', `c${i}`, 'u:alice');
    } finally {
      for (const store of [...tickets, ...brokers, ...presence]) await store.close();
    }
  }, 60_000);
});
