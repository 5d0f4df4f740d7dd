import { eventually, poll, startTestHub, type TestHub } from '@herald/testkit';
import { ALLOW_ALL, Permissions } from '@herald/server';
import { afterEach, describe, expect, it } from 'vitest';

const membersOf = async (hub: TestHub, channel: string): Promise<string[]> => {
  const res = await fetch(`${hub.url}/api/presence?channel=${channel}`);
  const body = (await res.json()) as { members: { client: string }[] };
  return body.members.map((m) => m.client);
};

describe('review: presence on polling is bounded like a connection', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('a polling session is a member of at most maxChannels channels, however many polls add channels', async () => {
    hub = await startTestHub({ maxChannels: 2 });
    const first = await poll(hub.url, 'channel=r0&channel=r1&since=now&session=new');
    const token = first.body.session as string;
    const client = token.split('.')[0]!;
    for (let i = 2; i < 10; i += 2) {
      const next = await poll(hub.url, `channel=r${i}&channel=r${i + 1}&since=now&session=${token}`);
      expect(next.status).toBe(200);
    }
    let member = 0;
    for (let i = 0; i < 10; i++) if ((await membersOf(hub, `r${i}`)).includes(client)) member++;
    // As a WebSocket session (at most maxChannels subscriptions): the latest polled channels only.
    expect(member).toBe(2);
    expect(await membersOf(hub, 'r9')).toContain(client);
    expect(await membersOf(hub, 'r8')).toContain(client);
  });

  it('one IP address cannot take every polling session of the node (connectionsPerIp)', async () => {
    hub = await startTestHub({ connectionsPerIp: 3, maxConnections: 100, pollPresenceGrace: 1 });
    const tokens: (string | undefined)[] = [];
    for (let i = 0; i < 10; i++) tokens.push((await poll(hub.url, `channel=flood&since=now&session=new`)).body.session);
    expect(tokens.filter((t) => t !== undefined)).toHaveLength(3);
    expect(await membersOf(hub, 'flood')).toHaveLength(3);
    // Once they left (the grace period), the address may start sessions again.
    await eventually(async () => (await membersOf(hub!, 'flood')).length === 0, 'the sessions leave', { intervalMs: 100 });
    expect((await poll(hub.url, 'channel=flood&since=now&session=new')).body.session).toBeDefined();
  });

  it('joinLeave flags per channel need presence permission on the flagged channels only', async () => {
    const permissions = new Permissions({ room: ALLOW_ALL, feed: { ...ALLOW_ALL, presence: 'none' } }, ALLOW_ALL);
    hub = await startTestHub({ security: { permissions } });
    const all = await poll(hub.url, 'channel=room:1&channel=feed:1&since=now&session=new&joinLeave=1');
    expect(all.status).toBe(403);
    expect(all.body.error.code).toBe(2001);
    const some = await poll(hub.url, 'channel=room:1&channel=feed:1&since=now&session=new&joinLeave=1,0');
    expect(some.status).toBe(200);
    const client = (some.body.session as string).split('.')[0]!;
    // Its own join, of the flagged channel only.
    expect(some.body.presence).toEqual([{ type: 'join', channel: 'room:1', member: { client, user: null }, offset: 0 }]);
    expect((await hub.server.hub.presence('feed:1')).map((m) => m.client)).toContain(client);
    expect((await poll(hub.url, 'channel=room:1&channel=feed:1&since=now&session=new&joinLeave=0,1')).status).toBe(403);
  });
});
