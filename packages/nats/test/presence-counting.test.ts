import { NatsPresenceStore } from '@herald/nats';
import type { PresenceExpiry } from '@herald/server';
import { ManualClock, runPresenceCountingContract } from '@herald/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
const prefixOf = new WeakMap<object, string>();
const newPrefix = (): string => {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return prefix;
};
afterAll(() => deleteStreams(NATS_URL, prefixes));

runPresenceCountingContract(
  'nats',
  async () => {
    const prefix = newPrefix();
    const store = await NatsPresenceStore.connect({ url: NATS_URL, prefix });
    prefixOf.set(store, prefix);
    return store;
  },
  async (store) => NatsPresenceStore.connect({ url: NATS_URL, prefix: prefixOf.get(store)! }),
);

describe('nats presence counting: members of a dead node', () => {
  const open: NatsPresenceStore[] = [];
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });

  it('drops them once expired, uncounted, and reports their users as left and the channel as vacated (on the next change, or by the sweep)', async () => {
    const prefix = newPrefix();
    const clock = new ManualClock(1_700_000_000_000);
    const dead = await NatsPresenceStore.connect({ url: NATS_URL, prefix, clock, memberTtl: 30 });
    const alive = await NatsPresenceStore.connect({ url: NATS_URL, prefix, clock, memberTtl: 3 });
    open.push(alive);
    await dead.addCounting('room', { client: 'a1', user: 'alice' }, 'u:alice');
    await dead.addCounting('room', { client: 'x', user: null }, 'c:x');
    await dead.addCounting('hall', { client: 'a2', user: 'alice' }, 'u:alice');
    // The node dies: it stops re-stamping (closing it leaves counted members to expire).
    await dead.close();
    clock.time += 30_001;
    const count = await alive.addCounting('room', { client: 'b1', user: 'bob' }, 'u:bob');
    expect(count).toMatchObject({ added: true, channelMembers: 1, userMembers: 1 });
    expect(count.expired?.vacated).toBe(true);
    expect(count.expired?.left.slice().sort((p, q) => p.userKey.localeCompare(q.userKey))).toEqual([
      { userKey: 'c:x', client: 'x' },
      { userKey: 'u:alice', client: 'a1' },
    ]);
    // 'hall' sees no change: the periodic sweep (every memberTtl / 3 = 1 s) reports it.
    const swept: [string, PresenceExpiry][] = [];
    alive.onExpired((channel, expiry) => swept.push([channel, expiry]));
    await expect.poll(() => swept.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(swept).toEqual([['hall', { left: [{ userKey: 'u:alice', client: 'a2' }], vacated: true }]]);
    await alive.removeCounting('room', 'b1', 'u:bob');
  });
});
