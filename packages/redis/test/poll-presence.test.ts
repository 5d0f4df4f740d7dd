import { randomBytes } from 'node:crypto';
import { RedisBroker, RedisPresenceStore } from '@herald/redis';
import { poll, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;
const hubs: TestHub[] = [];

afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});
afterAll(async () => {
  await deleteKeys(REDIS_URL, [prefix]);
});

const node = async (): Promise<TestHub> => {
  const hub = await startTestHub({
    broker: await RedisBroker.connect({ url: REDIS_URL, prefix }),
    presence: await RedisPresenceStore.connect({ url: REDIS_URL, prefix }),
    pollPresenceGrace: 1,
  });
  hubs.push(hub);
  return hub;
};

describe('presence on polling, Redis engine', () => {
  it('a poller on one node is a member every node lists, with its join and leave seen on the other node', async () => {
    const a = await node();
    const b = await node();
    const watcher = await WsTestClient.connect(b.wsUrl);
    await watcher.request({ type: 'subscribe', channel: 'room', joinLeave: true });
    const first = await poll(a.url, 'channel=room&since=now&session=new');
    const token = first.body.session as string;
    const client = token.split('.')[0]!;
    const listed = async (): Promise<string[]> =>
      ((await (await fetch(`${b.url}/api/presence?channel=room`)).json()) as { members: { client: string }[] }).members.map(
        (m) => m.client,
      );
    expect(await listed()).toContain(client);
    await watcher.frames.until((fs) => fs.some((f) => f.type === 'join' && f.member.client === client), 'the join on the other node');

    // Polling on for twice the grace period: no leave.
    let cursor = first.body.cursor as string;
    for (let i = 0; i < 5; i++) {
      cursor = (await poll(a.url, `channel=room&since=${cursor}&session=${token}&wait=0.4`)).body.cursor;
    }
    expect(watcher.frames.items.filter((f) => f.type === 'leave')).toEqual([]);
    expect(await listed()).toContain(client);

    // Stops: the leave reaches the other node, and the shared store forgets it.
    await watcher.frames.until((fs) => fs.some((f) => f.type === 'leave' && f.member.client === client), 'the leave on the other node');
    expect(await listed()).not.toContain(client);
    await watcher.close();
  });
});
