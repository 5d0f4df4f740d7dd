import { createClient, type HeraldClient, type PresenceChange } from '@herald/client/node';
import { ALLOW_ALL, Permissions } from '@herald/server';
import { Collector, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

describe('review: polling with joinLeave on some channels only', () => {
  let hub: TestHub | undefined;
  const clients: HeraldClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await hub?.close();
    hub = undefined;
  });

  it('a joinLeave subscription does not need presence permission on the client’s other channels', async () => {
    // `room`: everything; `feed`: subscribe, but its members are not for everyone to see.
    const permissions = new Permissions({ room: ALLOW_ALL, feed: { ...ALLOW_ALL, presence: 'none' } }, ALLOW_ALL);
    hub = await startTestHub({ pollPresenceGrace: 5, security: { permissions } });
    const c = createClient({ url: hub.url, transports: ['polling'], pollWait: 2 });
    clients.push(c);
    const room = c.subscribe('room:1', undefined, { joinLeave: true });
    const feed = c.subscribe('feed:1');
    const changes = new Collector<PresenceChange>();
    room.on('presence', (change) => changes.push(change));
    const messages = new Collector<unknown>();
    feed.on('message', (m) => messages.push(m.data));
    await changes.count(1);
    await hub.server.hub.publish('feed:1', 'news');
    await messages.count(1);
    expect(messages.items).toEqual(['news']);
    expect(changes.items[0]).toMatchObject({ type: 'join', channel: 'room:1' });
  });
});
