import type { Clock, PresenceStore } from '@herald/server';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from './eventually.js';
import { ManualClock } from './manual-clock.js';

let counter = 0;
const channel = (): string => `held-${Date.now().toString(36)}-${(counter++).toString(36)}`;

/** Options of the stores a {@link runPresenceHoldContract} factory makes. */
export interface PresenceHoldStoreOptions {
  /** Seconds a member (and a hold) outlives its node's last refresh. */
  readonly memberTtl: number;
  /** @default the wall clock */
  readonly clock?: Clock;
}

/**
 * The contract of a multi-node presence store's `hold` and `release` (a member several nodes hold
 * at once: a polling session whose polls reach several nodes). `pair` makes two stores, two nodes,
 * sharing a key space no other test uses.
 */
export function runPresenceHoldContract(
  name: string,
  pair: (options: PresenceHoldStoreOptions) => Promise<readonly [PresenceStore, PresenceStore]>,
): void {
  describe(`presence hold contract: ${name}`, () => {
    const open: PresenceStore[] = [];
    type Holding = Required<Pick<PresenceStore, 'hold' | 'release'>> & PresenceStore;
    const make = async (options: PresenceHoldStoreOptions): Promise<[Holding, Holding]> => {
      const stores = await pair(options);
      open.push(...stores);
      for (const store of stores) if (store.hold === undefined || store.release === undefined) throw new Error(`${name} cannot hold`);
      return stores as never;
    };
    afterEach(async () => {
      for (const store of open.splice(0)) await store.close();
    });

    it('the first hold and the last release are the only ones that say so', async () => {
      const [a, b] = await make({ memberTtl: 30 });
      const ch = channel();
      expect(await a.hold(ch, 'p1')).toBe(true);
      expect(await a.hold(ch, 'p1')).toBe(true);
      expect(await b.hold(ch, 'p1')).toBe(false);
      expect(await b.hold(ch, 'p2')).toBe(true);
      expect(await a.release(ch, 'p1')).toBe(false);
      expect(await b.release(ch, 'p1')).toBe(true);
      expect(await a.hold(ch, 'p1')).toBe(true);
      expect(await a.release(ch, 'p1')).toBe(true);
      expect(await b.release(ch, 'p2')).toBe(true);
    });

    it('a node that lets go while another holds the member stops refreshing it', async () => {
      const [a, b] = await make({ memberTtl: 1 });
      const ch = channel();
      const member = { client: 'p1', user: null };
      expect(await a.hold(ch, member.client)).toBe(true);
      await a.add(ch, member);
      expect(await b.hold(ch, member.client)).toBe(false);
      await b.add(ch, member);
      expect(await a.release(ch, member.client)).toBe(false);
      // Past the member's ttl, kept by b alone.
      const later = performance.now() + 1500;
      await eventually(() => performance.now() > later, 'past memberTtl', { intervalMs: 100 });
      expect((await a.list(ch)).map((m) => m.client)).toEqual(['p1']);
      expect(await b.release(ch, member.client)).toBe(true);
      await b.remove(ch, member.client);
      // a refreshes every third of memberTtl: it would have stored the member again by now.
      const after = performance.now() + 1000;
      await eventually(() => performance.now() > after, 'three refreshes of a', { intervalMs: 100 });
      expect(await b.list(ch)).toEqual([]);
    });

    it('the hold of a node that stopped refreshing (it died) ends after memberTtl', async () => {
      const clock = new ManualClock(1_700_000_000_000);
      const [dead, alive] = await make({ memberTtl: 30, clock });
      const ch = channel();
      expect(await dead.hold(ch, 'p1')).toBe(true);
      clock.advance(29_000);
      expect(await alive.hold(ch, 'p1')).toBe(false);
      expect(await alive.release(ch, 'p1')).toBe(false);
      clock.advance(2_000);
      expect(await alive.hold(ch, 'p1')).toBe(true);
      expect(await alive.release(ch, 'p1')).toBe(true);
    });
  });
}
