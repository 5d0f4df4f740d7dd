import { createClient, type Envelope, type Gap, type HeraldClient } from '@herald/client/node';
import { startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** Web Locks in one process (exclusive, queued per name, `signal` aborts a wait): enough for the share's election. */
function fakeLocks(): { request(name: string, options: { signal?: AbortSignal }, callback: () => unknown): Promise<unknown> } {
  const tails = new Map<string, Promise<void>>();
  return {
    request(name, options, callback) {
      const previous = tails.get(name) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((resolve) => (release = resolve));
      tails.set(
        name,
        previous.then(() => mine),
      );
      return new Promise((resolve, reject) => {
        let state: 'waiting' | 'granted' | 'aborted' = 'waiting';
        options.signal?.addEventListener('abort', () => {
          if (state !== 'waiting') return;
          state = 'aborted';
          release();
          reject(new Error('AbortError'));
        });
        void previous.then(async () => {
          if (state !== 'waiting') return;
          state = 'granted';
          try {
            resolve(await callback());
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          } finally {
            release();
          }
        });
      });
    },
  };
}

describe("review: a shared channel and another member's gap", () => {
  let hub: TestHub | undefined;
  const clients: HeraldClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    vi.unstubAllGlobals();
    await hub?.close();
  });

  it('a member that resumes from a recent position gets neither the gap of a member far behind nor messages before its position', async () => {
    vi.stubGlobal('navigator', { locks: fakeLocks() });
    hub = await startTestHub({ historySize: 5 });
    const channel = 'shared-gap';
    let last: { epoch: string; offset: number } | undefined;
    for (let i = 1; i <= 10; i++) last = await hub.server.hub.publish(channel, i);
    const make = (): HeraldClient => {
      const c = createClient({ url: hub!.url, share: { name: 'review' } });
      clients.push(c);
      return c;
    };
    const a = make();
    const b = make();
    // Both connected (through the one leader) before the two subscriptions.
    for (const c of [a, b]) {
      const warm = c.subscribe('warm');
      await new Promise<void>((resolve) => warm.on('state', (s) => s === 'subscribed' && resolve()));
    }
    // A resumes from far behind (out of the 5 kept: a gap); B from the channel's end.
    const gotA: unknown[] = [];
    const gotB: unknown[] = [];
    const gapsB: Gap[] = [];
    a.subscribe(channel, (m: Envelope) => gotA.push(m.data), { since: { epoch: last!.epoch, offset: 1 } });
    const subB = b.subscribe(channel, (m: Envelope) => gotB.push(m.data), { since: { epoch: last!.epoch, offset: 10 } });
    subB.on('gap', (g) => gapsB.push(g));
    await hub.server.hub.publish(channel, 11);
    await vi.waitFor(() => expect(gotA.at(-1)).toBe(11), { timeout: 5000 });
    await vi.waitFor(() => expect(gotB.at(-1)).toBe(11), { timeout: 5000 });
    // On main B also got A's gap (its position set back to 5) and then 6…10 again.
    expect(gapsB).toEqual([]);
    expect(gotB).toEqual([11]);
  });
});
