import type { AckStore } from '@herald/server';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';

let counter = 0;
const channel = (): string => `acks-${Date.now().toString(36)}-${(counter++).toString(36)}`;

/** The limits an ack store factory receives. */
export interface AckStoreFactoryOptions {
  /** Seconds. */
  readonly ttl: number;
  readonly maxPerChannel: number;
}

/**
 * The contract of an {@link AckStore} (client acknowledgements): every engine's store passes it.
 * `factory` makes a store (with a key space no other test uses, or shared: channels are unique per
 * test); `peer(store)` another node's store sharing `store`'s key space (a single-node store:
 * `store` itself).
 */
export function runAckStoreContract(
  name: string,
  factory: (options: AckStoreFactoryOptions) => Promise<AckStore>,
  peer: (store: AckStore, options: AckStoreFactoryOptions) => Promise<AckStore> = (store) => Promise.resolve(store),
): void {
  describe(`ack store contract: ${name}`, () => {
    const open: AckStore[] = [];
    const t0 = 1_700_000_000_000;
    const make = async (ttl = 3600, maxPerChannel = 100): Promise<AckStore> => {
      const store = await factory({ ttl, maxPerChannel });
      open.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of open.splice(0).reverse()) await store.close?.();
    });

    it('stores a position per user and channel and lists it', async () => {
      const store = await make();
      const ch = channel();
      expect(await store.ack('alice', ch, { epoch: 'e1', offset: 3 }, t0)).toEqual({ position: { epoch: 'e1', offset: 3 }, moved: true });
      expect(await store.list(ch, { limit: 10 }, t0 + 1)).toEqual([{ user: 'alice', channel: ch, epoch: 'e1', offset: 3, time: t0 }]);
      expect(await store.list(channel(), { limit: 10 }, t0 + 1)).toEqual([]);
    });

    it('never moves backwards within an epoch; another epoch replaces only the stored epoch it names', async () => {
      const store = await make();
      const ch = channel();
      await store.ack('alice', ch, { epoch: 'e1', offset: 5 }, t0);
      expect(await store.ack('alice', ch, { epoch: 'e1', offset: 3 }, t0 + 1)).toEqual({
        position: { epoch: 'e1', offset: 5 },
        moved: false,
      });
      expect(await store.ack('alice', ch, { epoch: 'e1', offset: 5 }, t0 + 2)).toEqual({
        position: { epoch: 'e1', offset: 5 },
        moved: false,
      });
      expect(await store.ack('alice', ch, { epoch: 'e1', offset: 6 }, t0 + 3)).toEqual({
        position: { epoch: 'e1', offset: 6 },
        moved: true,
      });
      // Another epoch without naming the stored one: nothing written (not even the time).
      expect(await store.ack('alice', ch, { epoch: 'e2', offset: 1 }, t0 + 4)).toEqual({
        position: { epoch: 'e1', offset: 6 },
        moved: false,
        otherEpoch: true,
      });
      expect(await store.ack('alice', ch, { epoch: 'e2', offset: 1 }, t0 + 5, 'e3')).toEqual({
        position: { epoch: 'e1', offset: 6 },
        moved: false,
        otherEpoch: true,
      });
      expect(await store.list(ch, { user: 'alice', limit: 10 }, t0 + 6)).toEqual([
        { user: 'alice', channel: ch, epoch: 'e1', offset: 6, time: t0 + 3 },
      ]);
      expect(await store.ack('alice', ch, { epoch: 'e2', offset: 1 }, t0 + 7, 'e1')).toEqual({
        position: { epoch: 'e2', offset: 1 },
        moved: true,
      });
      expect(await store.list(ch, { user: 'alice', limit: 10 }, t0 + 8)).toEqual([
        { user: 'alice', channel: ch, epoch: 'e2', offset: 1, time: t0 + 7 },
      ]);
      // Naming an epoch when the stored one is the ack's own changes nothing: the offset rule.
      expect(await store.ack('alice', ch, { epoch: 'e2', offset: 4 }, t0 + 9, 'e1')).toEqual({
        position: { epoch: 'e2', offset: 4 },
        moved: true,
      });
    });

    it('a delayed ack of a replaced epoch never replaces the newer one (ack A, ack B, ack A again)', async () => {
      const store = await make();
      const other = await peer(store, { ttl: 3600, maxPerChannel: 100 });
      if (other !== store) open.push(other);
      const ch = channel();
      await store.ack('alice', ch, { epoch: 'A', offset: 5 }, t0);
      // The hub names A once it checked that B is the channel's current epoch.
      expect(await store.ack('alice', ch, { epoch: 'B', offset: 1 }, t0 + 1, 'A')).toEqual({
        position: { epoch: 'B', offset: 1 },
        moved: true,
      });
      // An ack of A checked before the epoch changed, stored after, on this node or another.
      for (const [i, node] of [store, other].entries()) {
        expect(await node.ack('alice', ch, { epoch: 'A', offset: 9 + i }, t0 + 2 + i)).toEqual({
          position: { epoch: 'B', offset: 1 },
          moved: false,
          otherEpoch: true,
        });
      }
      // Naming A again does not help it: B is stored.
      expect(await store.ack('alice', ch, { epoch: 'A', offset: 9 }, t0 + 4, 'A')).toMatchObject({ otherEpoch: true });
      expect(await other.list(ch, { limit: 10 }, t0 + 5)).toEqual([{ user: 'alice', channel: ch, epoch: 'B', offset: 1, time: t0 + 1 }]);
    });

    it('of concurrent acks replacing the same epoch, one replaces it and the others find its epoch', async () => {
      const store = await make();
      const other = await peer(store, { ttl: 3600, maxPerChannel: 100 });
      if (other !== store) open.push(other);
      const ch = channel();
      await store.ack('racer', ch, { epoch: 'old', offset: 3 }, t0);
      const epochs = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
      const outcomes = await Promise.all(
        epochs.map((epoch, i) => (i % 2 === 0 ? store : other).ack('racer', ch, { epoch, offset: 1 }, t0 + 1, 'old')),
      );
      const winners = outcomes.filter((o) => o.moved);
      expect(winners).toHaveLength(1);
      const won = winners[0]!.position;
      for (const o of outcomes.filter((x) => !x.moved)) expect(o).toEqual({ position: won, moved: false, otherEpoch: true });
      expect((await store.list(ch, { user: 'racer', limit: 1 }, t0 + 2)).map((r) => ({ epoch: r.epoch, offset: r.offset }))).toEqual([won]);
    });

    it('lists the most recently acknowledged first, up to limit, or one user', async () => {
      const store = await make();
      const ch = channel();
      await store.ack('a', ch, { epoch: 'e', offset: 1 }, t0);
      await store.ack('b', ch, { epoch: 'e', offset: 2 }, t0 + 10);
      await store.ack('c', ch, { epoch: 'e', offset: 3 }, t0 + 20);
      await store.ack('a', ch, { epoch: 'e', offset: 4 }, t0 + 30);
      expect((await store.list(ch, { limit: 10 }, t0 + 40)).map((r) => [r.user, r.offset])).toEqual([
        ['a', 4],
        ['c', 3],
        ['b', 2],
      ]);
      expect((await store.list(ch, { limit: 2 }, t0 + 40)).map((r) => r.user)).toEqual(['a', 'c']);
      expect((await store.list(ch, { user: 'b', limit: 10 }, t0 + 40)).map((r) => r.offset)).toEqual([2]);
      expect(await store.list(ch, { user: 'nobody', limit: 10 }, t0 + 40)).toEqual([]);
    });

    it('forgets a position not acknowledged again within ttl', async () => {
      const store = await make(60);
      const ch = channel();
      await store.ack('old', ch, { epoch: 'e', offset: 9 }, t0);
      await store.ack('new', ch, { epoch: 'e', offset: 9 }, t0 + 30_000);
      expect((await store.list(ch, { limit: 10 }, t0 + 59_999)).map((r) => r.user)).toEqual(['new', 'old']);
      expect((await store.list(ch, { limit: 10 }, t0 + 60_000)).map((r) => r.user)).toEqual(['new']);
      // Forgotten: a lower offset is no longer behind anything.
      expect(await store.ack('old', ch, { epoch: 'e', offset: 2 }, t0 + 61_000)).toEqual({
        position: { epoch: 'e', offset: 2 },
        moved: true,
      });
    });

    it('keeps at most maxPerChannel users per channel, forgetting the least recently acknowledged', async () => {
      const store = await make(3600, 3);
      const ch = channel();
      const other = channel();
      for (const [i, user] of ['u1', 'u2', 'u3'].entries()) await store.ack(user, ch, { epoch: 'e', offset: 1 }, t0 + i);
      await store.ack('u1', ch, { epoch: 'e', offset: 2 }, t0 + 10);
      await store.ack('u4', ch, { epoch: 'e', offset: 1 }, t0 + 11);
      await store.ack('x', other, { epoch: 'e', offset: 1 }, t0 + 12);
      expect((await store.list(ch, { limit: 10 }, t0 + 20)).map((r) => r.user)).toEqual(['u4', 'u1', 'u3']);
      expect((await store.list(other, { limit: 10 }, t0 + 20)).map((r) => r.user)).toEqual(['x']);
    });

    it('keeps users and channels with any characters apart', async () => {
      const store = await make();
      const ch = channel();
      const users = ['a.b', 'a', 'b', 'a b*>', 'ü/ø:é', 'x'.repeat(200)];
      for (const [i, user] of users.entries()) await store.ack(user, `${ch}:x.y`, { epoch: 'e', offset: i + 1 }, t0 + i);
      await store.ack('a', `${ch}:x`, { epoch: 'e', offset: 99 }, t0);
      const rows = await store.list(`${ch}:x.y`, { limit: 100 }, t0 + 100);
      expect(new Map(rows.map((r) => [r.user, r.offset]))).toEqual(new Map(users.map((u, i) => [u, i + 1])));
      expect((await store.list(`${ch}:x`, { limit: 100 }, t0 + 100)).map((r) => [r.user, r.offset])).toEqual([['a', 99]]);
    });

    it('property: the stored position is the last ack of another epoch naming it, or the highest offset within it', async () => {
      const store = await make();
      const ack = fc.record({
        epoch: fc.constantFrom('e1', 'e2', 'e3'),
        offset: fc.integer({ min: 1, max: 20 }),
        replacing: fc.constantFrom(undefined, 'e1', 'e2', 'e3'),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(ack, { minLength: 1, maxLength: 12 }), async (acks) => {
          const ch = channel();
          let model: { epoch: string; offset: number } | undefined;
          for (const [i, { epoch, offset, replacing }] of acks.entries()) {
            const next = { epoch, offset };
            const otherEpoch = model !== undefined && model.epoch !== epoch && model.epoch !== replacing;
            const moved = !otherEpoch && (model === undefined || model.epoch !== epoch || offset > model.offset);
            if (moved) model = next;
            expect(await store.ack('p', ch, next, t0 + i, replacing)).toEqual(
              otherEpoch ? { position: model, moved, otherEpoch } : { position: model, moved },
            );
          }
          expect((await store.list(ch, { limit: 10 }, t0 + acks.length)).map((r) => ({ epoch: r.epoch, offset: r.offset }))).toEqual([
            model,
          ]);
        }),
        { numRuns: 25 },
      );
    });

    it('keeps the highest of concurrent acks of one user', async () => {
      const store = await make();
      const ch = channel();
      const offsets = [7, 3, 20, 1, 15, 9, 12, 4, 18, 2];
      await Promise.all(offsets.map((offset) => store.ack('racer', ch, { epoch: 'e', offset }, t0)));
      expect((await store.list(ch, { user: 'racer', limit: 1 }, t0 + 1)).map((r) => r.offset)).toEqual([20]);
    });

    it("shows one node's acks to another", async () => {
      const store = await make();
      const other = await peer(store, { ttl: 3600, maxPerChannel: 100 });
      if (other !== store) open.push(other);
      const ch = channel();
      await store.ack('alice', ch, { epoch: 'e', offset: 4 }, t0);
      expect((await other.list(ch, { limit: 10 }, t0 + 1)).map((r) => [r.user, r.offset])).toEqual([['alice', 4]]);
      expect(await other.ack('alice', ch, { epoch: 'e', offset: 2 }, t0 + 2)).toEqual({
        position: { epoch: 'e', offset: 4 },
        moved: false,
      });
    });
  });
}
