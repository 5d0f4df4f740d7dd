import type { PresenceStore } from '@herald/server';
import { afterEach, describe, expect, it } from 'vitest';

let counter = 0;
const channel = (): string => `counting-${Date.now().toString(36)}-${(counter++).toString(36)}`;

/**
 * The contract of a presence store's counting methods (`addCounting`, `removeCounting`,
 * `claimMarker`, behind the webhook presence events): every store that has them passes it.
 * `factory` makes a store (with a key space no other test uses); `peer(store)` another node's store
 * sharing `store`'s key space (a single-node store: `store` itself).
 */
export function runPresenceCountingContract(
  name: string,
  factory: () => Promise<PresenceStore>,
  peer: (store: PresenceStore) => Promise<PresenceStore>,
): void {
  describe(`presence counting contract: ${name}`, () => {
    const open: PresenceStore[] = [];
    type Counting = Required<Pick<PresenceStore, 'addCounting' | 'removeCounting' | 'claimMarker'>> & PresenceStore;
    const make = async (of?: PresenceStore): Promise<Counting> => {
      const store = of === undefined ? await factory() : await peer(of);
      if (!open.includes(store)) open.push(store);
      if (store.addCounting === undefined || store.removeCounting === undefined || store.claimMarker === undefined)
        throw new Error(`${name} has no counting methods`);
      return store as never;
    };
    afterEach(async () => {
      for (const store of open.splice(0)) await store.close();
    });

    it('counts members per channel and per user key; a repeated add counts nothing', async () => {
      const store = await make();
      const ch = channel();
      expect(await store.addCounting(ch, { client: 'a1', user: 'alice' }, 'u:alice')).toMatchObject({
        added: true,
        channelMembers: 1,
        userMembers: 1,
        userReturned: false,
        channelReturned: false,
      });
      expect(await store.addCounting(ch, { client: 'a2', user: 'alice' }, 'u:alice')).toMatchObject({
        added: true,
        channelMembers: 2,
        userMembers: 2,
      });
      expect(await store.addCounting(ch, { client: 'a1', user: 'alice' }, 'u:alice')).toMatchObject({ added: false, channelMembers: 2 });
      expect(await store.addCounting(ch, { client: 'x', user: null }, 'c:x')).toMatchObject({
        added: true,
        channelMembers: 3,
        userMembers: 1,
      });
      expect((await store.list(ch)).map((m) => m.client).sort()).toEqual(['a1', 'a2', 'x']);
      expect(await store.removeCounting(ch, 'a1', 'u:alice')).toMatchObject({ removed: true, channelMembers: 2, userMembers: 1 });
      expect(await store.removeCounting(ch, 'a1', 'u:alice')).toMatchObject({ removed: false });
      expect(await store.removeCounting(ch, 'absent', 'c:absent')).toMatchObject({ removed: false });
      expect(await store.removeCounting(ch, 'a2', 'u:alice')).toMatchObject({ removed: true, channelMembers: 1, userMembers: 0 });
      expect(await store.removeCounting(ch, 'x', 'c:x')).toMatchObject({ removed: true, channelMembers: 0, userMembers: 0 });
      expect(await store.list(ch)).toEqual([]);
    });

    it('a return removes the pending markers, so the holder cannot claim them; else the holder claims each once', async () => {
      const store = await make();
      const ch = channel();
      await store.addCounting(ch, { client: 'a1', user: 'alice' }, 'u:alice');
      await store.removeCounting(ch, 'a1', 'u:alice', { token: 't1', ttl: 60_000 });
      // alice comes back (on any node) before the debounce is over: no join, and no leave.
      expect(await store.addCounting(ch, { client: 'a2', user: 'alice' }, 'u:alice')).toMatchObject({
        added: true,
        userMembers: 1,
        userReturned: true,
        channelReturned: true,
      });
      expect(await store.claimMarker(ch, 'u:alice', 't1')).toBe(false);
      expect(await store.claimMarker(ch, undefined, 't1')).toBe(false);
      await store.removeCounting(ch, 'a2', 'u:alice', { token: 't2', ttl: 60_000 });
      expect(await store.claimMarker(ch, 'u:alice', 'wrong')).toBe(false);
      expect(await store.claimMarker(ch, 'u:alice', 't2')).toBe(true);
      expect(await store.claimMarker(ch, 'u:alice', 't2')).toBe(false);
      expect(await store.claimMarker(ch, undefined, 't2')).toBe(true);
      // After the claims, a new member is a join and an occupied again.
      expect(await store.addCounting(ch, { client: 'a3', user: 'alice' }, 'u:alice')).toMatchObject({
        added: true,
        userReturned: false,
        channelReturned: false,
      });
      await store.removeCounting(ch, 'a3', 'u:alice');
    });

    it('a store with shared markers answers a repeated claim of the same token within holdMs (a takeover), and only that token', async () => {
      const store = await make();
      if (store.sharedMarkers !== true) return;
      const other = await make(store);
      const ch = channel();
      await store.addCounting(ch, { client: 'a1', user: 'alice' }, 'u:alice');
      await store.removeCounting(ch, 'a1', 'u:alice', { token: 't1', ttl: 60_000 });
      expect(await store.claimMarker(ch, 'u:alice', 't1', 60_000)).toBe(true);
      // Another node, whose lease on the event began after the first holder died, claims it again.
      expect(await other.claimMarker(ch, 'u:alice', 't1', 60_000)).toBe(true);
      expect(await other.claimMarker(ch, 'u:alice', 'other', 60_000)).toBe(false);
      expect(await other.claimMarker(ch, undefined, 't1', 60_000)).toBe(true);
      // Without a hold, a claim is not repeatable.
      await store.addCounting(ch, { client: 'a2', user: 'alice' }, 'u:alice');
      await store.removeCounting(ch, 'a2', 'u:alice', { token: 't2', ttl: 60_000 });
      expect(await store.claimMarker(ch, 'u:alice', 't2')).toBe(true);
      expect(await store.claimMarker(ch, 'u:alice', 't2')).toBe(false);
    });

    it('a marker is set only when a count reaches 0, and per user', async () => {
      const store = await make();
      const ch = channel();
      await store.addCounting(ch, { client: 'a1', user: 'alice' }, 'u:alice');
      await store.addCounting(ch, { client: 'b1', user: 'bob' }, 'u:bob');
      await store.removeCounting(ch, 'a1', 'u:alice', { token: 't', ttl: 60_000 });
      // The channel still has bob: no vacate marker.
      expect(await store.claimMarker(ch, undefined, 't')).toBe(false);
      // bob's return is no concern of alice's marker.
      expect(await store.addCounting(ch, { client: 'b2', user: 'bob' }, 'u:bob')).toMatchObject({ userMembers: 2, userReturned: false });
      expect(await store.claimMarker(ch, 'u:alice', 't')).toBe(true);
      await store.removeCounting(ch, 'b1', 'u:bob');
      await store.removeCounting(ch, 'b2', 'u:bob');
    });

    it('counts across stores sharing the key space: exactly one add sees the first member', async () => {
      const a = await make();
      const b = await make(a);
      const ch = channel();
      const adds = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).addCounting(ch, { client: `c${i}`, user: 'alice' }, 'u:alice')),
      );
      expect(adds.filter((count) => count.userMembers === 1)).toHaveLength(1);
      expect(adds.filter((count) => count.channelMembers === 1)).toHaveLength(1);
      const removes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).removeCounting(ch, `c${i}`, 'u:alice', { token: `t${i}`, ttl: 60_000 })),
      );
      expect(removes.filter((count) => count.userMembers === 0)).toHaveLength(1);
    });
  });
}
