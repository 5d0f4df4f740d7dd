import { randomBytes } from 'node:crypto';
import { RedisPresenceStore } from '@herald/redis';
import { ManualClock, runPresenceCountingContract } from '@herald/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefixes: string[] = [];
const prefixOf = new WeakMap<object, string>();
const newPrefix = (): string => {
  const prefix = `herald-test-${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  return prefix;
};

runPresenceCountingContract(
  'redis',
  async () => {
    const prefix = newPrefix();
    const store = await RedisPresenceStore.connect({ url: REDIS_URL, prefix });
    prefixOf.set(store, prefix);
    return store;
  },
  async (store) => RedisPresenceStore.connect({ url: REDIS_URL, prefix: prefixOf.get(store)! }),
);

describe('redis presence counting: members of a dead node', () => {
  const open: RedisPresenceStore[] = [];
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });

  it('drops them once expired, uncounted, and reports their users as left and the channel as vacated', async () => {
    const prefix = newPrefix();
    const clock = new ManualClock(1_700_000_000_000);
    const dead = await RedisPresenceStore.connect({ url: REDIS_URL, prefix, clock, memberTtl: 30 });
    const alive = await RedisPresenceStore.connect({ url: REDIS_URL, prefix, clock, memberTtl: 30 });
    open.push(alive);
    await dead.addCounting('room', { client: 'a1', user: 'alice' }, 'u:alice');
    await dead.addCounting('room', { client: 'x', user: null }, 'c:x');
    // The node dies without cleaning up: its disconnect leaves counted members in Redis.
    await dead.close();
    expect((await alive.list('room')).map((m) => m.client).sort()).toEqual(['a1', 'x']);
    clock.advance(31_000);
    // A presence read hides them but leaves them to the counting sweep.
    expect(await alive.list('room')).toEqual([]);
    const count = await alive.addCounting('room', { client: 'b1', user: 'bob' }, 'u:bob');
    expect(count).toMatchObject({ added: true, channelMembers: 1, userMembers: 1, channelReturned: false });
    expect(count.expired?.vacated).toBe(true);
    expect([...(count.expired?.left ?? [])].sort((p, q) => p.client.localeCompare(q.client))).toEqual([
      { userKey: 'u:alice', client: 'a1' },
      { userKey: 'c:x', client: 'x' },
    ]);
    // Swept once: a second sweep finds nothing.
    const again = await alive.removeCounting('room', 'b1', 'u:bob');
    expect(again).toMatchObject({ removed: true, channelMembers: 0 });
    expect(again.expired).toBeUndefined();
  });
});

afterAll(async () => {
  await deleteKeys(REDIS_URL, prefixes);
});
