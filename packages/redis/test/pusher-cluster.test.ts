import { randomBytes } from 'node:crypto';
import { RedisBroker, RedisPresenceStore } from '@herald/redis';
import { Collector, eventually, publishHttp, startTestHub, type TestHub } from '@herald/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { APP, clientOptions, PusherClients, startAuthApp, subscribed, type AuthApp } from '../../server/test/pusher/pusher-fixtures.js';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

// The Pusher door on two nodes sharing Redis: presence is per user across the nodes, and messages
// and client events published on one node reach pusher-js clients of the other.

const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;

afterAll(async () => {
  await deleteKeys(REDIS_URL, [prefix]);
});

describe('Pusher door on a Redis cluster', () => {
  const hubs: TestHub[] = [];
  const clients = new PusherClients();
  let auth: AuthApp | undefined;
  afterEach(async () => {
    clients.closeAll();
    await Promise.all(hubs.splice(0).map((h) => h.close()));
    await auth?.close();
  });

  const node = async (): Promise<TestHub> => {
    const hub = await startTestHub({
      broker: await RedisBroker.connect({ url: REDIS_URL, prefix }),
      presence: await RedisPresenceStore.connect({ url: REDIS_URL, prefix }),
      pusher: { apps: [APP] },
    });
    hubs.push(hub);
    return hub;
  };

  it('counts a user once across nodes, and relays publishes and client events between them', async () => {
    auth = await startAuthApp();
    const [a, b] = [await node(), await node()];
    const alice = await clients.connect(clientOptions(a, auth, 'alice'));
    await subscribed(alice, 'presence-hall');
    const added = new Collector<{ id: string }>();
    const removed = new Collector<{ id: string }>();
    const hall = alice.channel('presence-hall');
    hall.bind('pusher:member_added', (m: { id: string }) => added.push(m));
    hall.bind('pusher:member_removed', (m: { id: string }) => removed.push(m));
    const events = new Collector<[string, unknown]>();
    hall.bind_global((event: string, data: unknown) => !event.startsWith('pusher') && events.push([event, data]));

    // Bob on both nodes: one member_added.
    const bobA = await clients.connect(clientOptions(a, auth, 'bob'));
    const bobB = await clients.connect(clientOptions(b, auth, 'bob'));
    await subscribed(bobB, 'presence-hall');
    await added.count(1);
    const view = (await subscribed(bobA, 'presence-hall')) as { count: number };
    expect(view.count).toBe(2);

    // A publish on node B and a client event from node B reach alice on node A.
    await publishHttp(b.url, 'app1:presence-hall', { event: 'news', data: { n: 1 } });
    bobB.channel('presence-hall').trigger('client-hi', { from: 'b' });
    expect(await events.count(2)).toEqual([
      ['news', { n: 1 }],
      ['client-hi', { from: 'b' }],
    ]);

    // Bob leaves node B: still a member on node A; then leaves there too: member_removed.
    const bobBId = bobB.connection.socket_id;
    bobB.disconnect();
    await eventually(async () => !(await a.server.hub.presence('app1:presence-hall')).some((m) => m.client === bobBId), 'bob left node B');
    // Carol's join comes after Bob's leave on node B (it needs an auth round trip): had that leave
    // removed Bob, member_removed would be first.
    const carol = await clients.connect(clientOptions(b, auth, 'carol'));
    await subscribed(carol, 'presence-hall');
    await added.count(2);
    expect(removed.items).toEqual([]);
    bobA.unsubscribe('presence-hall');
    await removed.count(1);
    expect(removed.items[0]!.id).toBe('bob');
    expect(added.items.map((m) => m.id)).toEqual(['bob', 'carol']);
  });
});
